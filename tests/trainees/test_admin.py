"""Courses, trainees and workshops in the admin: pages, the guardian rule, query counts, and the
trainee import into a course chosen on the import form."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import CourseFactory, TraineeFactory
from trainees.models import Attendance, Trainee, Workshop
from trainees.resources import TraineeResource

pytestmark = pytest.mark.django_db

TRAINEES = reverse("admin:trainees_trainee_changelist")
IMPORT = reverse("admin:trainees_trainee_import")
PROCESS_IMPORT = reverse("admin:trainees_trainee_process_import")
EXPORT = reverse("admin:trainees_trainee_export")
# The order of TraineeAdmin's import and export formats.
CSV_FORMAT, XLSX_FORMAT = "0", "1"


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes Lanester")


@pytest.fixture
def trainee(course):
    return TraineeFactory(course=course, first_name="Léa", last_name="Le Gall")


@pytest.fixture
def workshop(course, trainee):
    workshop = Workshop.objects.create(
        course=course,
        date=timezone.localdate(),
        duration_minutes=120,
        topic="Premiers pas avec l’ordinateur",
        place="Salle 2",
        facilitator="Alice Martin",
    )
    Attendance.objects.create(workshop=workshop, trainee=trainee)
    return workshop


def _pages(course, trainee, workshop):
    return [
        reverse("admin:trainees_territory_changelist"),
        reverse("admin:trainees_trainingbody_changelist"),
        reverse("admin:trainees_trainingbody_change", args=[course.training_body_id]),
        reverse("admin:trainees_coordinator_changelist"),
        reverse("admin:trainees_course_changelist"),
        reverse("admin:trainees_course_add"),
        reverse("admin:trainees_course_change", args=[course.pk]),
        TRAINEES,
        reverse("admin:trainees_trainee_add"),
        reverse("admin:trainees_trainee_change", args=[trainee.pk]),
        IMPORT,
        EXPORT,
        reverse("admin:trainees_workshop_changelist"),
        reverse("admin:trainees_workshop_add"),
        reverse("admin:trainees_workshop_change", args=[workshop.pk]),
    ]


@pytest.mark.parametrize("username", ["alice", "root"])
def test_it_shows_every_trainee_page_to_staff_and_superusers(
    client, request, course, trainee, workshop, username
):
    client.force_login(request.getfixturevalue(username))
    for url in _pages(course, trainee, workshop):
        assert client.get(url).status_code == 200, url
    found = client.get(TRAINEES, {"q": "le gall"}).context["cl"].result_list
    assert list(found) == [trainee]
    courses = client.get(reverse("admin:trainees_course_changelist")).context["cl"].result_list
    assert [(c, c._trainee_count) for c in courses] == [(course, 1)]


def test_it_keeps_coordinators_out(client, bob, trainee):
    client.force_login(bob)
    response = client.get(TRAINEES)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_course_autocomplete_answers_for_the_trainee_and_import_forms(client, alice, course):
    client.force_login(alice)
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "trainees",
            "model_name": "trainee",
            "field_name": "course",
            "term": "lanester",
        },
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(course.pk)]


def _changelist_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(TRAINEES)
    assert response.status_code == 200
    return len(queries), len(response.context["cl"].result_list)


def test_the_trainee_list_needs_as_many_queries_for_50_trainees_as_for_5(client, alice, agora):
    # 12 either way: session, user, savepoint and its release (ATOMIC_REQUESTS), the user's
    # and the group's permissions, the training bodies, territories and programmes for the
    # filters, two counts (filtered and total), the trainees with their course and body.
    for _ in range(5):
        TraineeFactory(course=CourseFactory(training_body=agora))
    client.force_login(alice)
    client.get(TRAINEES)  # the session and the content types, cached once
    few, shown = _changelist_queries(client)
    assert shown == 5

    for _ in range(45):
        TraineeFactory(course=CourseFactory())
    many, shown = _changelist_queries(client)
    assert shown == 50
    assert many == few, f"{few} queries for 5 trainees, {many} for 50"


def test_the_list_says_who_is_a_minor_on_the_first_day(client, alice, course):
    minor = TraineeFactory(
        course=course,
        birth_date=course.start_date - timedelta(days=365 * 16),
        **{
            name: "x"
            for name in Trainee.GUARDIAN_FIELDS
            if "phone" not in name and "postal" not in name
        },
        guardian_phone="0611223344",
        guardian_postal_code="56600",
    )
    client.force_login(alice)
    response = client.get(TRAINEES)
    page = response.content.decode()
    assert minor.last_name in page
    changelist = response.context["cl"]
    admin = changelist.model_admin
    assert admin.minor(minor) is True
    assert admin.age_at_course_start(minor) in (15, 16)


def _trainee_form(course, **fields):
    data = {
        "course": course.pk,
        "first_name": "Maël",
        "last_name": "Le Goff",
        "birth_date": "",
        "street": "8 allée des Pins",
        "postal_code": "56600",
        "town": "Lanester",
        "phone": "",
        "guardian_phone": "",
        "_save": "Enregistrer",
    }
    data.update(fields)
    return data


def test_a_minor_added_in_the_admin_needs_a_legal_guardian(client, alice, course):
    client.force_login(alice)
    born = (course.start_date - timedelta(days=365 * 16)).strftime("%d/%m/%Y")
    response = client.post(
        reverse("admin:trainees_trainee_add"), _trainee_form(course, birth_date=born)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["guardian_name"] == [
        "Obligatoire : le stagiaire a moins de 18 ans au premier jour de la formation."
    ]
    assert set(Trainee.GUARDIAN_FIELDS) <= set(errors)
    assert not Trainee.objects.exists()

    response = client.post(
        reverse("admin:trainees_trainee_add"),
        _trainee_form(
            course,
            birth_date=born,
            guardian_name="Anne Le Goff",
            guardian_relationship="Mère",
            guardian_phone="06 11 22 33 44",
            guardian_email="anne@example.org",
            guardian_street="8 allée des Pins",
            guardian_postal_code="56600",
            guardian_town="Lanester",
        ),
    )
    assert response.status_code == 302
    assert Trainee.objects.get().guardian_name == "Anne Le Goff"


def test_the_workshop_page_lists_its_attendance_with_an_autocomplete(client, alice, workshop):
    client.force_login(alice)
    response = client.get(reverse("admin:trainees_workshop_change", args=[workshop.pk]))
    (inline,) = response.context["inline_admin_formsets"]
    assert len(inline.formset.forms) == 1
    assert "admin-autocomplete" in response.content.decode()
    workshops = client.get(reverse("admin:trainees_workshop_changelist")).context["cl"]
    assert [w._attendee_count for w in workshops.result_list] == [1]


# --- Import, through the admin --------------------------------------------------------------


def column(name):
    return str(TraineeResource.fields[name].column_name)


HEADER = [
    column(name)
    for name in ("first_name", "last_name", "birth_date", "phone", "street", "postal_code", "town")
]


def csv_file(rows, *, name="stagiaires.csv"):
    text = io.StringIO()
    csv.writer(text, delimiter=";", lineterminator="\r\n").writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode(), content_type="text/csv")


def upload(client, file, course, file_format=CSV_FORMAT):
    return client.post(
        IMPORT,
        {"format": file_format, "resource": "0", "import_file": file, "course": course.pk},
    )


def confirm(client, preview):
    assert preview.status_code == 200
    assert preview.context.get("confirm_form"), preview.context.get("import_problems")
    return client.post(PROCESS_IMPORT, preview.context["confirm_form"].initial)


@pytest.fixture
def staff_client(client, alice):
    client.force_login(alice)
    return client


def test_an_admin_import_puts_every_row_into_the_chosen_course(staff_client, course, askoria):
    other = CourseFactory(training_body=askoria)
    rows = [
        HEADER,
        ["Léa", "Le Gall", "25/03/2001", "06 12 34 56 78", "3 rue des Lilas", "56600", "Lanester"],
        ["Yann", "Morvan", "2000-01-15", "", "12 rue de Lorient", "56100", "Lorient"],
    ]
    preview = upload(staff_client, csv_file(rows), course)
    assert not Trainee.objects.exists()  # the preview saves nothing
    assert preview.context["confirm_form"].initial["course"] == course.pk

    response = confirm(staff_client, preview)
    assert response.status_code == 302
    assert response["Location"] == TRAINEES
    assert sorted(course.trainees.values_list("first_name", flat=True)) == ["Léa", "Yann"]
    assert not other.trainees.exists()
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["2 stagiaires importés."]


def test_an_admin_import_asks_for_the_course(staff_client):
    rows = [HEADER, ["Léa", "Le Gall", "25/03/2001", "", "3 rue des Lilas", "56600", "Lanester"]]
    response = staff_client.post(
        IMPORT, {"format": CSV_FORMAT, "resource": "0", "import_file": csv_file(rows)}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["course"] == ["Ce champ est obligatoire."]
    assert "confirm_form" not in response.context


def test_an_admin_import_with_bad_lines_imports_nothing_and_names_them(staff_client, course):
    minor = (course.start_date - timedelta(days=365 * 16)).strftime("%d/%m/%Y")
    rows = [
        HEADER,
        ["Léa", "Le Gall", "25/03/2001", "", "3 rue des Lilas", "56600", "Lanester"],
        ["Maël", "Le Goff", minor, "", "8 allée des Pins", "56600", "Lanester"],
        ["Yann", "Morvan", "15/01/2000", "", "12 rue de Lorient", "561", "Lorient"],
    ]
    response = upload(staff_client, csv_file(rows), course)
    assert response.status_code == 200
    assert "confirm_form" not in response.context
    found = response.context["import_problems"]
    assert [problem.split(" : ")[0] for problem in found] == ["Ligne 3", "Ligne 4"]
    assert "représentant légal" in found[0]
    assert found[1] == (
        "Ligne 4 : Code postal : Un code postal français a cinq chiffres, par exemple 56600."
    )
    assert "Rien n’a été importé" in response.content.decode()
    assert not Trainee.objects.exists()


def test_a_row_enrolled_meanwhile_stops_the_whole_confirmed_import(staff_client, course):
    rows = [
        HEADER,
        ["Léa", "Le Gall", "25/03/2001", "", "3 rue des Lilas", "56600", "Lanester"],
        ["Yann", "Morvan", "15/01/2000", "", "12 rue de Lorient", "56100", "Lorient"],
    ]
    preview = upload(staff_client, csv_file(rows), course)
    TraineeFactory(
        course=course, first_name="Yann", last_name="Morvan", birth_date=date(2000, 1, 15)
    )

    response = confirm(staff_client, preview)
    assert response.status_code == 200
    assert response.context["import_problems"] == [
        "Ligne 3 : Yann Morvan, né(e) le 15/01/2000, est déjà inscrit(e) à cette formation."
    ]
    assert course.trainees.count() == 1


def test_a_mac_roman_file_is_refused_in_the_admin_with_a_clear_message(staff_client, course):
    content = "Prénom;Nom\r\nLéa;Le Gall\r\n".encode("mac_roman")
    response = upload(staff_client, SimpleUploadedFile("liste.csv", content), course)
    (error,) = response.context["form"].errors["import_file"]
    assert error.startswith("Ce fichier n’est pas un fichier CSV en UTF-8.")


def test_the_trainee_export_names_each_trainees_course(staff_client, trainee):
    boxes = {f"traineeresource_{name}": "on" for name in TraineeResource().get_export_order()}
    response = staff_client.post(EXPORT, {"format": CSV_FORMAT, "resource": "0", **boxes})
    assert response.status_code == 200
    header, row = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    exported = dict(zip(header, row, strict=True))
    assert exported["Prénom"] == "Léa"
    assert exported["Formation"] == str(trainee.course)
    assert exported["Date de naissance"] == trainee.birth_date.strftime("%d/%m/%Y")
