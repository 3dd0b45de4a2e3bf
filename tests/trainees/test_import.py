"""A course's trainees imported from a spreadsheet by its coordinator (or by staff), from the
course's import page: all or nothing, every bad line named in French."""

import csv
import io
from datetime import date, timedelta

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import CourseFactory, TraineeFactory
from trainees.models import Trainee
from trainees.resources import TraineeResource

pytestmark = pytest.mark.django_db


def column(name):
    """The header of a column, in French as the page shows it ("Date de naissance")."""
    return str(TraineeResource.fields[name].column_name)


ADULT = [
    "first_name",
    "last_name",
    "birth_date",
    "email",
    "phone",
    "street",
    "postal_code",
    "town",
    "digital_level",
]
GUARDIAN = [
    "guardian_name",
    "guardian_relationship",
    "guardian_phone",
    "guardian_email",
    "guardian_street",
    "guardian_postal_code",
    "guardian_town",
]
HEADER = [column(name) for name in ADULT + GUARDIAN]
NO_GUARDIAN = [""] * len(GUARDIAN)


def csv_file(rows, *, delimiter=";", encoding="utf-8", name="stagiaires.csv"):
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode(encoding), content_type="text/csv")


def xlsx_file(rows, *, name="stagiaires.xlsx"):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    content = io.BytesIO()
    workbook.save(content)
    return SimpleUploadedFile(name, content.getvalue())


def years_before(day: date, years: int) -> date:
    return (
        day.replace(year=day.year - years)
        if (day.month, day.day) != (2, 29)
        else (day.replace(year=day.year - years, day=28))
    )


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes Lanester")


@pytest.fixture
def askoria_course(askoria):
    return CourseFactory(training_body=askoria, title="Titre pro ASKORIA")


def url(course, **query):
    base = reverse("trainees:trainee_import", args=[course.pk])
    return f"{base}?template=1" if query.get("template") else base


def upload(client, course, file):
    return client.post(url(course), {"file": file})


def problems(response):
    assert response.status_code == 200
    return list(response.context["problems"])


def form_errors(response):
    assert response.status_code == 200
    return response.context["form"].errors["file"]


def minor_birth_date(course, age=16):
    return years_before(course.start_date, age) - timedelta(days=10)


def guardian(name="Anne Le Goff"):
    return [
        name,
        "Mère",
        "06 11 22 33 44",
        "anne@example.org",
        "3 rue des Lilas",
        "56600",
        "Lanester",
    ]


# --- The page ---------------------------------------------------------------------------


def test_the_page_explains_the_file_and_links_to_the_template(client, bob, course):
    client.force_login(bob)
    response = client.get(url(course))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Importer des stagiaires" in page
    assert "PRÉPA Avenir Jeunes Lanester" in page
    assert "Tout ou rien" in page
    assert "représentant légal" in page
    assert "25/03/2008" in page
    assert f"{url(course)}?template=1" in page
    for header in TraineeResource.required_headers():
        assert header in page


def test_the_template_is_a_csv_with_the_header_line(client, bob, course):
    client.force_login(bob)
    response = client.get(url(course, template=True))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.content.startswith("\ufeff".encode())  # Excel reads the accents right
    (header,) = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert header == TraineeResource.import_headers()
    assert header[:3] == ["Prénom", "Nom", "Date de naissance"]
    assert "Formation" not in header  # the course is the page's


def test_the_template_filled_in_imports(client, bob, course):
    client.force_login(bob)
    template = client.get(url(course, template=True)).content.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(template), delimiter=";"))
    row = dict.fromkeys(header, "")
    row.update(
        {
            column("first_name"): "Léa",
            column("last_name"): "Le Gall",
            column("birth_date"): "25/03/2001",
            column("street"): "3 rue des Lilas",
            column("postal_code"): "56600",
            column("town"): "Lanester",
        }
    )
    response = upload(client, course, csv_file([header, list(row.values())]))
    assert response.status_code == 302
    assert course.trainees.get().full_name == "Léa Le Gall"


# --- Good files -------------------------------------------------------------------------


def test_a_good_csv_creates_the_trainees_in_the_course(client, bob, course):
    minor_born = minor_birth_date(course)
    rows = [
        HEADER,
        ["Léa", "Le Gall", "25/03/2001", "lea@example.org", "06 12 34 56 78", "3 rue des Lilas",
         "56600", "Lanester", "Débutant", *NO_GUARDIAN],
        ["Yann", "Morvan", "2000-01-15", "", "+33 6 98 76 54 32", "12 rue de Lorient", "56100",
         "Lorient", "autonome", *NO_GUARDIAN],
        [],  # a blank line, skipped
        ["Maël", "Le Goff", minor_born.strftime("%d/%m/%Y"), "", "", "8 allée des Pins", "56600",
         "Lanester", "", *guardian()],
    ]  # fmt: skip
    client.force_login(bob)
    response = upload(client, course, csv_file(rows))

    assert response.status_code == 302
    assert response["Location"] == course.get_absolute_url()
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["3 stagiaires importés."]
    lea, mael, yann = course.trainees.order_by("first_name")
    assert (lea.birth_date, lea.email, lea.digital_level) == (
        date(2001, 3, 25),
        "lea@example.org",
        "beginner",
    )
    assert lea.phone.as_e164 == "+33612345678"
    assert (yann.birth_date, yann.phone.as_e164, yann.digital_level) == (
        date(2000, 1, 15),
        "+33698765432",
        "independent",
    )
    assert mael.is_minor
    assert (mael.guardian_name, mael.guardian_relationship, mael.guardian_postal_code) == (
        "Anne Le Goff",
        "Mère",
        "56600",
    )
    assert Trainee.objects.count() == 3


def test_a_good_xlsx_creates_the_trainees_with_date_and_number_cells(client, bob, course):
    rows = [
        [column(name) for name in ("last_name", "first_name", "birth_date", "phone", "street",
                                   "postal_code", "town", "digital_level")],
        ["Le Gall", "Léa", date(2001, 3, 25), 612345678, "3 rue des Lilas", 56600, "Lanester",
         "Bases : courriel, navigation sur le web"],
        ["Morvan", "Yann", "15/01/2000", "06 98 76 54 32", "12 rue de Lorient", 1000, "Bourg",
         "confident"],
    ]  # fmt: skip
    client.force_login(bob)
    response = upload(client, course, xlsx_file(rows))

    assert response.status_code == 302, response.context and response.context["problems"]
    lea, yann = course.trainees.order_by("first_name")
    assert (lea.birth_date, lea.phone.as_e164, lea.postal_code, lea.digital_level) == (
        date(2001, 3, 25),
        "+33612345678",
        "56600",
        "basic",
    )
    assert (yann.birth_date, yann.postal_code, yann.digital_level) == (
        date(2000, 1, 15),
        "01000",  # the zero Excel dropped
        "confident",
    )


def test_headers_may_be_in_english_or_field_names_and_commas_separate_cells(client, bob, course):
    rows = [
        ["First name", "LAST NAME", "birth_date", "Street address", "postal code", "Town"],
        ["Léa", "Le Gall", "25/03/2001", "3 rue des Lilas", "56600", "Lanester"],
    ]
    client.force_login(bob)
    response = upload(client, course, csv_file(rows, delimiter=","))
    assert response.status_code == 302
    assert course.trainees.count() == 1


def test_staff_import_into_any_course(client, alice, askoria_course):
    rows = [HEADER, ["Léa", "Le Gall", "25/03/2001", "", "", "3 rue des Lilas", "56600",
                     "Lanester", "", *NO_GUARDIAN]]  # fmt: skip
    client.force_login(alice)
    response = upload(client, askoria_course, csv_file(rows))
    assert response.status_code == 302
    assert askoria_course.trainees.count() == 1


# --- Bad lines: nothing imported, every line named ----------------------------------------


def test_a_file_with_bad_lines_imports_nothing_and_names_every_line_and_reason(client, bob, course):
    TraineeFactory(course=course, first_name="Erwan", last_name="Tanguy",
                   birth_date=date(1999, 6, 1))  # fmt: skip
    minor_born = minor_birth_date(course)

    def row(first, last, born, *, phone="", postal_code="56600", rest=NO_GUARDIAN):
        return [first, last, born, "", phone, "3 rue des Lilas", postal_code, "Lanester", "",
                *rest]  # fmt: skip

    rows = [
        HEADER,  # line 1
        row("Léa", "Le Gall", "25/03/2001"),  # line 2: good
        row("Maël", "Le Goff", minor_born.strftime("%d/%m/%Y")),  # 3: a minor, no guardian
        row("Yann", "Morvan", "15/01/2000", postal_code="5610"),  # 4: postal code
        row("Nina", "Jégo", "02/02/2002", phone="12 34"),  # 5: phone
        row("Tom", "Riou", "31/02/2001"),  # 6: no such date
        row("léa", "LE GALL ", "2001-03-25"),  # 7: line 2 again
        row("Erwan", "Tanguy", "01/06/1999"),  # 8: already enrolled
        row("Anna", "Ropars", "1er mai 2001"),  # 9: unreadable date
    ]
    client.force_login(bob)
    response = upload(client, course, csv_file(rows))

    assert Trainee.objects.count() == 1  # the one enrolled before
    age = course.trainees.model(course=course, birth_date=minor_born).age_at_course_start
    guardian_columns = ", ".join(column(name) for name in GUARDIAN)
    assert problems(response) == [
        f"Ligne 3 : Maël Le Goff a {age} ans au premier jour de la formation : pour un mineur, "
        f"les colonnes du représentant légal sont obligatoires ; il manque : {guardian_columns}.",
        "Ligne 4 : Code postal : Un code postal français a cinq chiffres, par exemple 56600.",
        "Ligne 5 : Téléphone : « 12 34 » n’est pas un numéro de téléphone valide : "
        "écrivez-le comme 06 12 34 56 78.",
        "Ligne 6 : Date de naissance : « 31/02/2001 » n’est pas une date : écrivez-la "
        "jj/mm/aaaa, par exemple 25/03/2008.",
        "Ligne 7 : léa LE GALL, né(e) le 25/03/2001, est déjà inscrit(e) à la ligne 2 de ce "
        "fichier.",
        "Ligne 8 : Erwan Tanguy, né(e) le 01/06/1999, est déjà inscrit(e) à cette formation.",
        "Ligne 9 : Date de naissance : « 1er mai 2001 » n’est pas une date : écrivez-la "
        "jj/mm/aaaa, par exemple 25/03/2008.",
    ]
    page = response.content.decode()
    assert "Rien n’a été importé" in page
    assert "Corrigez ces 7 problèmes" in page
    assert "Ligne 2 : " not in page


def test_the_course_age_limits_apply(client, bob, agora):
    course = CourseFactory(training_body=agora, min_age=16, max_age=25)
    too_old = years_before(course.start_date, 30).strftime("%d/%m/%Y")
    rows = [HEADER, ["Léa", "Le Gall", too_old, "", "", "3 rue des Lilas", "56600", "Lanester",
                     "", *NO_GUARDIAN]]  # fmt: skip
    client.force_login(bob)
    (problem,) = problems(upload(client, course, csv_file(rows)))
    assert problem.startswith("Ligne 2 : Date de naissance : Léa Le Gall ")
    assert "25" in problem
    assert not course.trainees.exists()


def test_a_missing_required_column_is_said_once(client, bob, course):
    rows = [
        [column("first_name"), column("last_name"), column("town")],
        ["Léa", "Le Gall", "Lanester"],
    ]
    client.force_login(bob)
    (problem,) = problems(upload(client, course, csv_file(rows)))
    assert problem == (
        "Le fichier n’a pas les colonnes « Date de naissance », « Adresse », « Code postal » : "
        "ajoutez-les, avec une valeur sur chaque ligne."
    )


def test_a_file_without_a_header_line_is_refused_in_one_sentence(client, bob, course):
    rows = [["Léa", "Le Gall", "25/03/2001", "3 rue des Lilas", "56600", "Lanester"]]
    client.force_login(bob)
    response = upload(client, course, csv_file(rows + rows))
    (problem,) = problems(response)
    assert problem.startswith("Aucune colonne de ce fichier n’est reconnue.")
    assert not Trainee.objects.exists()


# --- Files that cannot be read: a clear message, nothing imported --------------------------


def test_a_mac_roman_csv_is_refused_with_a_clear_message(client, bob, course):
    rows = [HEADER, ["Léa", "Le Gall", "25/03/2001", "", "", "3 rue de l’Été", "56600",
                     "Lanester", "", *NO_GUARDIAN]]  # fmt: skip
    client.force_login(bob)
    response = upload(client, course, csv_file(rows, encoding="mac_roman"))
    assert form_errors(response) == [
        "Ce fichier n’est pas en UTF-8 : enregistrez-le depuis votre tableur au format "
        "« CSV UTF-8 », ou en classeur Excel (.xlsx)."
    ]
    assert not Trainee.objects.exists()


@pytest.mark.parametrize("name", ["photo.csv", "photo.xlsx"])
def test_a_binary_file_is_refused_with_a_clear_message(client, bob, course, name):
    client.force_login(bob)
    response = upload(client, course, SimpleUploadedFile(name, bytes(range(256)) * 8))
    (error,) = form_errors(response)
    assert error.startswith("Ce fichier n")
    assert "Error" not in error
    assert not Trainee.objects.exists()


def test_another_kind_of_file_is_refused(client, bob, course):
    client.force_login(bob)
    response = upload(client, course, SimpleUploadedFile("liste.xls", b"\xd0\xcf\x11\xe0"))
    assert form_errors(response) == [
        "Choisissez un fichier CSV ou XLSX : enregistrez votre tableur au format « CSV UTF-8 » "
        "ou en classeur Excel (.xlsx)."
    ]


def test_a_file_over_2_mb_is_refused(client, bob, course):
    client.force_login(bob)
    big = csv_file([HEADER] + [["x" * 100] * 10] * 3000)
    assert big.size > 2 * 1024 * 1024
    (error,) = form_errors(upload(client, course, big))
    assert error.startswith("Ce fichier est trop gros (")
    assert error.endswith(" : 2,0\xa0Mio au plus.")
    assert not Trainee.objects.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "Le fichier soumis est vide."),
        (b"\r\n\r\n", "Ce fichier est vide : sa première ligne doit nommer les colonnes."),
        (b";;\r\n", "La première ligne de ce fichier est vide : elle doit nommer les colonnes."),
        (
            ";".join(HEADER).encode(),
            "Ce fichier n’a aucune ligne sous sa première ligne : rien à importer.",
        ),
    ],
)
def test_an_empty_file_is_refused(client, bob, course, content, expected):
    client.force_login(bob)
    response = upload(client, course, SimpleUploadedFile("vide.csv", content))
    assert form_errors(response) == [expected]


def test_an_empty_workbook_is_refused(client, bob, course):
    client.force_login(bob)
    response = upload(client, course, xlsx_file([]))
    (error,) = form_errors(response)
    assert error.startswith("Ce fichier est vide")


def test_no_file_is_asked_for(client, bob, course):
    client.force_login(bob)
    response = client.post(url(course), {})
    assert form_errors(response) == ["Ce champ est obligatoire."]


# --- Who may import where -----------------------------------------------------------------


def test_bob_cannot_import_into_an_askoria_course(client, bob, askoria_course):
    rows = [HEADER, ["Léa", "Le Gall", "25/03/2001", "", "", "3 rue des Lilas", "56600",
                     "Lanester", "", *NO_GUARDIAN]]  # fmt: skip
    client.force_login(bob)
    assert client.get(url(askoria_course)).status_code == 404
    assert client.get(url(askoria_course, template=True)).status_code == 404
    assert upload(client, askoria_course, csv_file(rows)).status_code == 404
    assert not Trainee.objects.exists()


def test_charlie_cannot_see_bobs_course(client, charlie, course):
    client.force_login(charlie)
    assert client.get(url(course)).status_code == 404


def test_an_account_without_a_role_is_refused(client, course, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody"))
    assert client.get(url(course)).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, course):
    response = client.get(url(course))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_an_xlsx_with_a_blank_row_keeps_its_line_numbers(client, bob, course):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    header = [
        column(n)
        for n in ("first_name", "last_name", "birth_date", "street", "postal_code", "town")
    ]
    sheet.append([*header, None, None])  # formatted but empty columns at the right
    sheet.append(["Léa", "Le Gall", date(2001, 3, 25), "3 rue des Lilas", "56600", "Lanester"])
    sheet.cell(row=4, column=1, value="Yann")  # row 3 left blank
    for col, value in enumerate(["Morvan", "hier", "1 rue", "56100", "Lorient"], start=2):
        sheet.cell(row=4, column=col, value=value)
    content = io.BytesIO()
    workbook.save(content)
    client.force_login(bob)
    response = upload(client, course, SimpleUploadedFile("liste.xlsx", content.getvalue()))
    assert problems(response) == [
        "Ligne 4 : Date de naissance : « hier » n’est pas une date : écrivez-la jj/mm/aaaa, "
        "par exemple 25/03/2008."
    ]


# --- Files built to cost a lot for little ---------------------------------------------------

ADULT_ROW = ["Léa", "Le Gall", "25/03/2001", "", "", "3 rue des Lilas", "56600", "Lanester", ""]


def test_a_workbook_declaring_a_million_empty_rows_is_refused_without_reading_them(
    client, bob, course
):
    workbook = openpyxl.Workbook()
    workbook.active.append([column(name) for name in ADULT])
    workbook.active.append(ADULT_ROW)
    workbook.active["A1000000"] = " "
    content = io.BytesIO()
    workbook.save(content)
    client.force_login(bob)
    response = upload(client, course, SimpleUploadedFile("long.xlsx", content.getvalue()))
    (error,) = form_errors(response)
    assert error.startswith("Ce fichier dépasse 20000 lignes")
    assert not Trainee.objects.exists()


def test_a_csv_of_empty_lines_is_refused(client, bob, course):
    text = ";".join(column(name) for name in ADULT) + "\r\n" + ";".join(ADULT_ROW) + "\r\n"
    text += "\r\n" * 30_000
    client.force_login(bob)
    response = upload(client, course, SimpleUploadedFile("long.csv", text.encode()))
    assert form_errors(response)[0].startswith("Ce fichier dépasse")
    assert not Trainee.objects.exists()


def test_blank_lines_at_the_end_cost_nothing(client, bob, course):
    rows = [[column(name) for name in ADULT], ADULT_ROW, *[[""] * len(ADULT)] * 50]
    client.force_login(bob)
    response = upload(client, course, csv_file(rows))
    assert response.status_code == 302
    assert Trainee.objects.count() == 1


def test_a_nul_character_is_refused(client, bob, course):
    rows = [[column(name) for name in ADULT], ["Lé\x00a", *ADULT_ROW[1:]]]
    client.force_login(bob)
    response = upload(client, course, csv_file(rows))
    assert form_errors(response) == [
        "Ce fichier contient des caractères de contrôle invisibles : enregistrez-le de "
        "nouveau depuis votre tableur."
    ]
    assert not Trainee.objects.exists()


def test_a_column_given_twice_is_refused(client, bob, course):
    header = [column(name) for name in ADULT] + ["last_name"]
    rows = [header, [*ADULT_ROW, "Autre"]]
    client.force_login(bob)
    response = upload(client, course, csv_file(rows))
    assert problems(response) == [
        "Ces colonnes apparaissent deux fois dans la première ligne : Nom. Gardez-en une de chaque."
    ]
    assert not Trainee.objects.exists()


def test_a_finished_course_takes_no_import(client, bob, agora):
    finished = CourseFactory(
        training_body=agora,
        start_date=date(2020, 1, 6),
        end_date=date(2020, 6, 30),
    )
    client.force_login(bob)
    rows = [[column(name) for name in ADULT], ADULT_ROW]
    response = upload(client, finished, csv_file(rows))
    assert response.status_code == 302
    assert response["Location"] == finished.get_absolute_url()
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == [
        "Cette formation s’est terminée le 30/06/2020 : les stagiaires s’inscrivent sur des "
        "formations en cours ou à venir."
    ]
    assert not Trainee.objects.exists()
