"""Every upload of the project, sent the files people really send by mistake.

The signed scan of an agreement, a course's trainees from a spreadsheet (on the course's
page and in the admin), laptops from a spreadsheet (in the admin): a file of the wrong kind,
too big, empty, a header alone, a spreadsheet saved in an encoding other than UTF-8. Each is
refused with a French sentence that says what to do (asserted word for word), the page
answers 200 or 302, never 500, and nothing is saved.

One encoding is accepted rather than refused: Windows-1252, what French Excel writes when a
list is saved as plain "CSV (séparateur : point-virgule)". Its accents must come out right.
"""

import io
import os
import tempfile
import time
from pathlib import Path

import openpyxl
import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from defis.importing import MAX_LINES, MAX_UPLOAD_BYTES
from inventory.models import Laptop
from loans import lending
from loans.lending import MAX_SCAN_BYTES
from loans.models import Loan, LoanEvent
from tests.factories import CourseFactory, TraineeFactory, make_loan
from trainees.models import Trainee
from trainees.resources import MAX_ROWS, TraineeResource

pytestmark = pytest.mark.django_db

# The messages, as a French user reads them.
NOT_A_PDF = "Ce fichier n’est pas un PDF : numérisez la convention signée au format PDF."
EMPTY_UPLOAD = "Le fichier soumis est vide."
NO_SCAN = "Choisissez le PDF de la convention signée."
NOT_UTF8 = (
    "Ce fichier n’est pas en UTF-8 : enregistrez-le depuis votre tableur au format "
    "« CSV UTF-8 », ou en classeur Excel (.xlsx)."
)
NOT_UTF8_IN_THE_ADMIN = (
    "Ce fichier n’est pas un fichier CSV en UTF-8. Enregistrez-le depuis votre tableur au "
    "format « CSV UTF-8 », ou choisissez le format XLSX pour un fichier Excel."
)
NOT_XLSX = (
    "Ce fichier ne peut pas être lu comme un fichier XLSX : enregistrez-le à nouveau depuis "
    "votre tableur au format « CSV UTF-8 » ou en classeur Excel (.xlsx)."
)
UNREADABLE_IN_THE_ADMIN = (
    "Ce fichier ne peut pas être lu. Vérifiez que le format choisi (CSV ou XLSX) est celui "
    "du fichier."
)
NOT_A_SPREADSHEET = (
    "Choisissez un fichier CSV ou XLSX : enregistrez votre tableur au format « CSV UTF-8 » "
    "ou en classeur Excel (.xlsx)."
)
HEADER_ONLY = "Ce fichier n’a aucune ligne sous sa première ligne : rien à importer."
BLANK_HEADER = "La première ligne de ce fichier est vide : elle doit nommer les colonnes."
CONTROL_CHARACTERS = (
    "Ce fichier contient des caractères de contrôle invisibles : enregistrez-le de nouveau "
    "depuis votre tableur."
)
TOO_BIG = "Ce fichier est trop gros (2,0\u00a0Mio) : 2,0\u00a0Mio au plus."
TOO_LONG = (
    f"Ce fichier dépasse {MAX_LINES} lignes : supprimez les lignes vides à sa fin, ou découpez-le."
)
NO_FILE = "Ce champ est obligatoire."
FILE_GONE = "Le fichier à importer n’est plus disponible : choisissez-le de nouveau."


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- The signed scan of an agreement ------------------------------------------------------------

PDF = b"%PDF-1.7\n% a signed agreement\n"


@pytest.fixture
def loan(alice):
    return make_loan(by=alice, status=Loan.Status.ACTIVE)


def send_scan(client, loan, upload):
    data = {} if upload is None else {"scan": upload}
    return client.post(reverse("loans:loan_scan_upload", args=[loan.pk]), data)


def scan_events(loan):
    return LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.SCAN_ATTACHED).count()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        pytest.param(SimpleUploadedFile("scan.pdf", b"GIF89a\x01\x00"), NOT_A_PDF, id="a-gif"),
        pytest.param(SimpleUploadedFile("scan.pdf", b"PK\x03\x04word"), NOT_A_PDF, id="a-docx"),
        pytest.param(SimpleUploadedFile("scan.pdf", b"%PDF"), NOT_A_PDF, id="cut-short"),
        pytest.param(SimpleUploadedFile("scan.pdf", b" %PDF-1.7"), NOT_A_PDF, id="not-first"),
        pytest.param(SimpleUploadedFile("scan.pdf", b""), EMPTY_UPLOAD, id="empty"),
        pytest.param(None, NO_SCAN, id="missing"),
        pytest.param(SimpleUploadedFile("x" * 300 + ".pdf", b"<html>"), NOT_A_PDF, id="long-name"),
    ],
)
def test_a_scan_that_is_not_a_pdf_is_refused_and_the_old_one_kept(
    client, alice, loan, upload, message
):
    first = SimpleUploadedFile("first.pdf", PDF)
    kept = lending.loan_attach_scan(loan=loan, upload=first, by=alice).signed_scan.name
    client.force_login(alice)

    response = send_scan(client, loan, upload)
    assert response.status_code == 302
    assert response["Location"] == loan.get_absolute_url()
    assert messages_of(response) == [message]
    loan.refresh_from_db()
    assert loan.signed_scan.name == kept
    with loan.signed_scan.open("rb") as file:
        assert file.read() == PDF
    assert scan_events(loan) == 1


def test_a_scan_sent_as_text_rather_than_a_file_is_refused(client, alice, loan):
    client.force_login(alice)
    response = client.post(reverse("loans:loan_scan_upload", args=[loan.pk]), {"scan": PDF})
    assert messages_of(response) == [NO_SCAN]
    loan.refresh_from_db()
    assert not loan.signed_scan


def test_a_scan_over_10_mb_is_refused(client, alice, loan):
    client.force_login(alice)
    upload = SimpleUploadedFile("scan.pdf", PDF + b"0" * (MAX_SCAN_BYTES + 1 - len(PDF)))
    response = send_scan(client, loan, upload)
    assert response.status_code == 302
    assert messages_of(response) == [
        "Le fichier fait 10,0 Mo : le scan signé peut faire au plus 10 Mo."
    ]
    loan.refresh_from_db()
    assert not loan.signed_scan
    assert scan_events(loan) == 0


def test_a_pdf_of_10_mb_exactly_is_kept(client, alice, loan):
    client.force_login(alice)
    upload = SimpleUploadedFile("scan.pdf", PDF + b"0" * (MAX_SCAN_BYTES - len(PDF)))
    response = send_scan(client, loan, upload)
    assert messages_of(response) == [f"Le scan signé de {loan.number} est enregistré."]
    loan.refresh_from_db()
    assert loan.signed_scan.size == MAX_SCAN_BYTES


def test_a_scan_is_only_ever_posted(client, alice, loan):
    client.force_login(alice)
    assert client.get(reverse("loans:loan_scan_upload", args=[loan.pk])).status_code == 405


# --- A course's trainees from a spreadsheet -------------------------------------------------------


def column(name):
    return str(TraineeResource.fields[name].column_name)


HEADER = ";".join(
    column(name)
    for name in ("first_name", "last_name", "birth_date", "street", "postal_code", "town")
)
ROWS = [
    "Léa;Le Gall;25/03/2001;3 rue de l’Été;56600;Lanester",
    "Hélène;Kerbœuf;14/07/1999;12 allée des Œillets;56100;Lorient",
    "José;Núñez;01/01/2000;2 place « Aristide Briand »;56100;Lorient",
]
# What the file must give, accents and all.
NAMES = {("Léa", "Le Gall"), ("Hélène", "Kerbœuf"), ("José", "Núñez")}
STREETS = {"3 rue de l’Été", "12 allée des Œillets", "2 place « Aristide Briand »"}


def csv_bytes(lines, encoding="utf-8"):
    return "\r\n".join(lines).encode(encoding) + b"\r\n"


def text_xlsx():
    return SimpleUploadedFile("stagiaires.xlsx", csv_bytes([HEADER, *ROWS]))


def xlsx_bytes(lines):
    workbook = openpyxl.Workbook()
    for line in lines:
        workbook.active.append(line.split(";"))
    content = io.BytesIO()
    workbook.save(content)
    return content.getvalue()


BAD_TRAINEE_FILES = [
    pytest.param("stagiaires.csv", csv_bytes([HEADER, *ROWS], "utf-16"), NOT_UTF8, id="utf-16"),
    pytest.param(
        "stagiaires.csv", csv_bytes([HEADER, *ROWS], "utf-16-le"), NOT_UTF8, id="utf-16-no-bom"
    ),
    pytest.param(
        "stagiaires.csv", csv_bytes([HEADER, *ROWS], "mac_roman"), NOT_UTF8, id="mac-roman"
    ),
    # Every byte of it means something in Windows-1252 too, but "Léa" would read "LŽa".
    pytest.param(
        "stagiaires.csv",
        csv_bytes([HEADER, "Léa;Le Gall;25/03/2001;3 rue des Lilas;56600;Lanester"], "mac_roman"),
        NOT_UTF8,
        id="mac-roman-read-as-windows-1252",
    ),
    pytest.param("stagiaires.csv", bytes(range(256)) * 8, NOT_UTF8, id="binary-garbage"),
    pytest.param(
        "stagiaires.csv",
        csv_bytes([HEADER, "Léa;Le\x00Gall;25/03/2001;3 rue;56600;Lanester"]),
        CONTROL_CHARACTERS,
        id="nul-byte",
    ),
    pytest.param("stagiaires.xlsx", csv_bytes([HEADER, *ROWS]), NOT_XLSX, id="text-as-xlsx"),
    pytest.param("stagiaires.xlsx", b"PK\x03\x04" + bytes(500), NOT_XLSX, id="broken-xlsx"),
    pytest.param("stagiaires.csv", b"", EMPTY_UPLOAD, id="empty"),
    pytest.param("stagiaires.csv", csv_bytes([HEADER]), HEADER_ONLY, id="header-only"),
    pytest.param("stagiaires.xlsx", xlsx_bytes([HEADER]), HEADER_ONLY, id="header-only-xlsx"),
    pytest.param("stagiaires.csv", csv_bytes([";;;;;", *ROWS]), BLANK_HEADER, id="blank-header"),
    pytest.param(
        "stagiaires.csv", csv_bytes([HEADER] + [""] * MAX_LINES + ROWS), TOO_LONG, id="too-long"
    ),
    pytest.param(
        "stagiaires.csv",
        csv_bytes([HEADER, ROWS[0] + " " * MAX_UPLOAD_BYTES]),
        TOO_BIG,
        id="over-2-mb",
    ),
    pytest.param("stagiaires.txt", csv_bytes([HEADER, *ROWS]), NOT_A_SPREADSHEET, id="txt"),
    pytest.param("stagiaires", csv_bytes([HEADER, *ROWS]), NOT_A_SPREADSHEET, id="no-extension"),
    pytest.param("stagiaires.xls", b"\xd0\xcf\x11\xe0", NOT_A_SPREADSHEET, id="old-excel"),
]


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora)


def import_url(course):
    return reverse("trainees:trainee_import", args=[course.pk])


@pytest.mark.parametrize(("name", "content", "message"), BAD_TRAINEE_FILES)
def test_a_bad_trainee_file_is_refused_on_the_course_page(
    client, bob, course, name, content, message
):
    client.force_login(bob)
    TraineeFactory(course=course)
    before = Trainee.objects.count()
    response = client.post(import_url(course), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [message]
    assert Trainee.objects.count() == before


def test_no_trainee_file_at_all_is_refused(client, bob, course):
    client.force_login(bob)
    response = client.post(import_url(course), {"file": "stagiaires.csv"})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [NO_FILE]
    assert not Trainee.objects.exists()


def test_more_rows_than_a_course_holds_are_refused(client, bob, course):
    client.force_login(bob)
    rows = [f"Léa{n};Le Gall;25/03/2001;3 rue;56600;Lanester" for n in range(MAX_ROWS + 1)]
    upload = SimpleUploadedFile("stagiaires.csv", csv_bytes([HEADER, *rows]))
    response = client.post(import_url(course), {"file": upload})
    assert response.context["form"].errors["file"] == [
        f"Ce fichier a {MAX_ROWS + 1} lignes : importez au plus {MAX_ROWS} lignes à la fois."
    ]
    assert not Trainee.objects.exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_csv_from_french_excel_keeps_its_accents(client, bob, course, encoding):
    """UTF-8, with or without the byte order mark, or Windows-1252 (Excel's plain "CSV"):
    the same trainees, accents and all."""
    client.force_login(bob)
    upload = SimpleUploadedFile("stagiaires.csv", csv_bytes([HEADER, *ROWS], encoding))
    response = client.post(import_url(course), {"file": upload})
    assert response.status_code == 302, response.context["form"].errors
    assert messages_of(response) == ["3 stagiaires importés."]
    trainees = course.trainees.all()
    assert {(t.first_name, t.last_name) for t in trainees} == NAMES
    assert {t.street for t in trainees} == STREETS


# --- The admin's imports: trainees and laptops ----------------------------------------------------

TRAINEE_IMPORT = reverse("admin:trainees_trainee_import")
TRAINEE_CONFIRM = reverse("admin:trainees_trainee_process_import")
LAPTOP_IMPORT = reverse("admin:inventory_laptop_import")
LAPTOP_CONFIRM = reverse("admin:inventory_laptop_process_import")
CSV_FORMAT, XLSX_FORMAT = "0", "1"
LAPTOP_HEADER = "Marque;Modèle;Numéro de série"
LAPTOP_ROWS = ["Packard Bell;EasyNote Été;", "Dell;Latitude « Pro »;SN-Œ1"]


def admin_upload(client, url, name, content, *, file_format=CSV_FORMAT, **fields):
    upload = SimpleUploadedFile(name, content)
    data = {"format": file_format, "resource": "0", "import_file": upload, **fields}
    return client.post(url, data)


def admin_error(response):
    assert response.status_code == 200
    return response.context["form"].errors["import_file"]


ADMIN_BAD_FILES = [
    pytest.param("liste.csv", "utf-16", CSV_FORMAT, NOT_UTF8_IN_THE_ADMIN, id="utf-16"),
    pytest.param("liste.csv", "mac_roman", CSV_FORMAT, NOT_UTF8_IN_THE_ADMIN, id="mac-roman"),
    pytest.param("liste.xlsx", "utf-8", XLSX_FORMAT, UNREADABLE_IN_THE_ADMIN, id="text-as-xlsx"),
]


@pytest.mark.parametrize(("name", "encoding", "file_format", "message"), ADMIN_BAD_FILES)
def test_a_bad_trainee_file_is_refused_in_the_admin(
    client, alice, course, name, encoding, file_format, message
):
    client.force_login(alice)
    content = csv_bytes([HEADER, *ROWS], encoding)
    response = admin_upload(
        client, TRAINEE_IMPORT, name, content, file_format=file_format, course=course.pk
    )
    assert admin_error(response) == [message]
    assert not Trainee.objects.exists()


@pytest.mark.parametrize(("name", "encoding", "file_format", "message"), ADMIN_BAD_FILES)
def test_a_bad_laptop_file_is_refused_in_the_admin(
    client, alice, name, encoding, file_format, message
):
    client.force_login(alice)
    content = csv_bytes([LAPTOP_HEADER, *LAPTOP_ROWS], encoding)
    response = admin_upload(client, LAPTOP_IMPORT, name, content, file_format=file_format)
    assert admin_error(response) == [message]
    assert not Laptop.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(bytes(range(256)) * 8, NOT_UTF8_IN_THE_ADMIN, id="binary-garbage"),
        pytest.param(b"", EMPTY_UPLOAD, id="empty"),
        pytest.param(
            csv_bytes([LAPTOP_HEADER] + [""] * MAX_LINES + LAPTOP_ROWS), TOO_LONG, id="too-long"
        ),
        pytest.param(
            csv_bytes([LAPTOP_HEADER, LAPTOP_ROWS[0] + " " * MAX_UPLOAD_BYTES]),
            TOO_BIG,
            id="over-2-mb",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_by_the_laptop_import(
    client, alice, content, message
):
    client.force_login(alice)
    response = admin_upload(client, LAPTOP_IMPORT, "ordinateurs.csv", content)
    assert admin_error(response) == [message]
    assert not Laptop.objects.exists()


def test_a_header_alone_imports_no_laptop(client, alice):
    client.force_login(alice)
    response = admin_upload(client, LAPTOP_IMPORT, "ordinateurs.csv", csv_bytes([LAPTOP_HEADER]))
    assert admin_error(response) == [
        "Pas de données valides importables. Assurez-vous que le fichier contient des en-têtes "
        "ou données correctes pour l’importation."
    ]
    assert not response.context.get("confirm_form")
    assert not Laptop.objects.exists()


def test_a_blank_first_line_imports_no_laptop(client, alice):
    client.force_login(alice)
    content = csv_bytes([";;", *LAPTOP_ROWS])
    response = admin_upload(client, LAPTOP_IMPORT, "ordinateurs.csv", content)
    assert response.status_code == 200
    (problem,) = response.context["import_problems"]
    assert problem.startswith(
        "Aucune colonne de ce fichier n’est reconnue. La première ligne doit nommer les colonnes"
    )
    assert not response.context.get("confirm_form")
    assert not Laptop.objects.exists()


def confirm(client, url, preview, **changes):
    assert preview.status_code == 200
    form = preview.context["confirm_form"]
    assert form, preview.context.get("import_problems")
    return client.post(url, {**form.initial, **changes})


def test_a_laptop_csv_from_french_excel_keeps_its_accents(client, alice):
    client.force_login(alice)
    content = csv_bytes([LAPTOP_HEADER, *LAPTOP_ROWS], "cp1252")
    preview = admin_upload(client, LAPTOP_IMPORT, "ordinateurs.csv", content)
    response = confirm(client, LAPTOP_CONFIRM, preview)
    assert response.status_code == 302
    assert set(Laptop.objects.values_list("model", "serial_number")) == {
        ("EasyNote Été", ""),
        ("Latitude « Pro »", "SN-Œ1"),
    }


def test_a_trainee_csv_from_french_excel_keeps_its_accents_in_the_admin(client, alice, course):
    client.force_login(alice)
    content = csv_bytes([HEADER, *ROWS], "cp1252")
    preview = admin_upload(client, TRAINEE_IMPORT, "liste.csv", content, course=course.pk)
    response = confirm(client, TRAINEE_CONFIRM, preview)
    assert response.status_code == 302
    assert {(t.first_name, t.last_name) for t in course.trainees.all()} == NAMES


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"import_file_name": "nowhere.csv"}, id="file-gone"),
        pytest.param({"import_file_name": ".."}, id="a-folder"),
        pytest.param({"import_file_name": "../../../../../../etc/hostname"}, id="out-of-media"),
        pytest.param({"format": "7"}, id="format-off-the-list"),
        pytest.param({"format": "csv"}, id="format-not-a-number"),
        pytest.param({"resource": "3"}, id="resource-off-the-list"),
        pytest.param({"format": XLSX_FORMAT}, id="another-format"),
    ],
)
def test_a_confirmation_that_no_longer_matches_a_file_sends_back_to_the_import(
    client, alice, changes
):
    """The confirmation's hidden fields come back from the browser: changed, or the file
    gone since the preview (confirmed twice), the page says so and imports nothing."""
    client.force_login(alice)
    content = csv_bytes([LAPTOP_HEADER, *LAPTOP_ROWS])
    preview = admin_upload(client, LAPTOP_IMPORT, "ordinateurs.csv", content)
    response = confirm(client, LAPTOP_CONFIRM, preview, **changes)
    assert response.status_code == 302
    assert response["Location"] == LAPTOP_IMPORT
    assert messages_of(response) == [FILE_GONE]
    assert not Laptop.objects.exists()


def test_the_copy_between_preview_and_confirmation_is_kept_on_shared_storage(
    client, alice, settings
):
    """Under MEDIA_ROOT, which several servers share, not in one server's temporary folder:
    the confirmation may reach another server than the preview. Removed once imported."""
    client.force_login(alice)
    content = csv_bytes([LAPTOP_HEADER, *LAPTOP_ROWS])
    preview = admin_upload(client, LAPTOP_IMPORT, "ordinateurs.csv", content)
    name = preview.context["confirm_form"].initial["import_file_name"]
    copy = Path(settings.MEDIA_ROOT) / "django-import-export" / name
    assert copy.read_bytes() == content
    assert not (Path(tempfile.gettempdir()) / name).exists()
    assert confirm(client, LAPTOP_CONFIRM, preview).status_code == 302
    assert Laptop.objects.count() == 2
    assert not copy.exists()


def test_the_copies_of_previews_never_confirmed_go_at_the_next_import_a_day_later(
    client, alice, settings
):
    folder = Path(settings.MEDIA_ROOT) / "django-import-export"
    folder.mkdir(parents=True, exist_ok=True)
    abandoned, recent = folder / "abandoned", folder / "recent"
    abandoned.write_bytes(b"nom;prenom")
    recent.write_bytes(b"nom;prenom")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(abandoned, (two_days_ago, two_days_ago))
    client.force_login(alice)
    content = csv_bytes([LAPTOP_HEADER, *LAPTOP_ROWS])
    preview = admin_upload(client, LAPTOP_IMPORT, "ordinateurs.csv", content)
    assert preview.context["confirm_form"]
    assert not abandoned.exists()
    assert recent.exists()


def test_a_confirmation_sent_twice_imports_once(client, alice):
    client.force_login(alice)
    content = csv_bytes([LAPTOP_HEADER, *LAPTOP_ROWS])
    preview = admin_upload(client, LAPTOP_IMPORT, "ordinateurs.csv", content)
    assert confirm(client, LAPTOP_CONFIRM, preview).status_code == 302
    again = confirm(client, LAPTOP_CONFIRM, preview)
    assert again["Location"] == LAPTOP_IMPORT
    assert messages_of(again)[-1] == FILE_GONE
    assert Laptop.objects.count() == 2
