"""Laptops imported and exported through the admin, CSV and XLSX, driven like a user would:
the import form, its preview, the confirmation; the export form."""

import csv
import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import Laptop, LaptopStatusChange
from inventory.resources import LaptopResource
from tests.factories import DonationFactory, LocationFactory, make_laptop

pytestmark = pytest.mark.django_db

Status = Laptop.Status
# The order of LaptopAdmin's import and export formats.
CSV_FORMAT, XLSX_FORMAT = "0", "1"
IMPORT = reverse("admin:inventory_laptop_import")
PROCESS_IMPORT = reverse("admin:inventory_laptop_process_import")
EXPORT = reverse("admin:inventory_laptop_export")


def column(name):
    """The header of a column, in French as the admin shows it ("Numéro de série")."""
    return str(LaptopResource.fields[name].column_name)


HEADER = [
    column(name)
    for name in ("asset_tag", "brand", "model", "serial_number", "grade", "ram_gb", "has_bag")
]


def csv_file(rows, *, delimiter=",", encoding="utf-8", name="ordinateurs.csv"):
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode(encoding), content_type="text/csv")


def xlsx_file(rows, *, name="ordinateurs.xlsx"):
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    content = io.BytesIO()
    workbook.save(content)
    return SimpleUploadedFile(name, content.getvalue())


def upload(client, file, file_format=CSV_FORMAT):
    """The first step: the file is read and checked, nothing is saved; a preview or the errors."""
    return client.post(IMPORT, {"format": file_format, "resource": "0", "import_file": file})


def confirm(client, preview):
    """The second step: the user confirms the preview, the laptops are saved."""
    assert preview.status_code == 200
    assert preview.context["confirm_form"], preview.context.get("import_problems")
    return client.post(PROCESS_IMPORT, preview.context["confirm_form"].initial)


def problems(response):
    return list(response.context["import_problems"])


@pytest.fixture
def staff_client(client, alice):
    client.force_login(alice)
    return client


def test_a_good_csv_creates_laptops_with_tags_and_history_rows(staff_client, alice):
    location = LocationFactory(name="Atelier de Lanester")
    donation = DonationFactory()
    place = "atelier de lanester"  # any case
    rows = [
        [*HEADER, column("location"), column("donation"), column("replacement_value")],
        ["", "Dell", "Latitude 5490", "cn0abc", "A", "8", "oui", place, donation.pk, "180,50"],
        ["", "HP", "EliteBook 840 G5", "5CG1234", "b", "16", "non", "", "", ""],
        ["", "Lenovo", "ThinkPad T480", "", "", "", "", "", "", ""],
    ]  # fmt: skip
    preview = upload(staff_client, csv_file(rows))
    assert Laptop.objects.count() == 0  # the preview saves nothing

    response = confirm(staff_client, preview)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:inventory_laptop_changelist")

    dell, hp, lenovo = Laptop.objects.order_by("pk")
    for laptop in (dell, hp, lenovo):
        assert re.fullmatch(r"DEF-\d{4}", laptop.asset_tag)
        assert laptop.status == Status.INTAKE
        (history,) = laptop.status_changes.all()
        assert (history.to_status, history.changed_by, history.note) == (
            Status.INTAKE,
            alice,
            "Importé",
        )
    assert (dell.serial_number, dell.grade, dell.ram_gb, dell.has_bag) == ("CN0ABC", "A", 8, True)
    assert (dell.location, dell.donation, str(dell.replacement_value)) == (
        location,
        donation,
        "180.50",
    )
    assert (hp.grade, hp.has_bag, hp.location, hp.donation) == ("B", False, None, None)
    # Empty cells take the model's defaults.
    assert (lenovo.keyboard_layout, lenovo.has_charger, lenovo.has_bag) == (
        "azerty_fr",
        True,
        False,
    )


def test_a_good_xlsx_creates_laptops(staff_client):
    rows = [
        HEADER,
        [None, "Dell", "Latitude 7490", "XL-1", "A", 8, "oui"],
        [None, "Apple", "MacBook Air 2017", 12345, "C", 4, None],
    ]
    response = confirm(staff_client, upload(staff_client, xlsx_file(rows), XLSX_FORMAT))
    assert response.status_code == 302
    assert sorted(Laptop.objects.values_list("serial_number", "ram_gb")) == [
        ("12345", 4),
        ("XL-1", 8),
    ]
    assert LaptopStatusChange.objects.filter(note="Importé").count() == 2


def test_a_row_with_an_asset_tag_updates_that_laptop_but_never_its_status(staff_client, alice):
    laptop = make_laptop(by=alice, status=Status.REFURBISHING, grade="B")
    rows = [
        [*HEADER, column("status"), column("retirement_reason")],
        [laptop.asset_tag.lower(), "Lenovo", "ThinkPad T480s", "", "A", "8", "", "ready", "parts"],
    ]
    response = confirm(staff_client, upload(staff_client, csv_file(rows)))
    assert response.status_code == 302
    laptop.refresh_from_db()
    assert (laptop.model, laptop.grade) == ("ThinkPad T480s", "A")
    assert (laptop.status, laptop.retirement_reason) == (Status.REFURBISHING, "")
    assert laptop.status_changes.count() == 2
    assert Laptop.objects.count() == 1


def test_an_empty_cell_leaves_an_existing_laptops_value_as_it_is(staff_client, alice):
    laptop = make_laptop(by=alice, has_charger=False, keyboard_layout="qwerty_us")
    rows = [
        [column("asset_tag"), column("model"), column("has_charger"), column("keyboard_layout")],
        [laptop.asset_tag, "ThinkPad T480s", "", ""],
    ]
    response = confirm(staff_client, upload(staff_client, csv_file(rows)))
    assert response.status_code == 302
    laptop.refresh_from_db()
    assert (laptop.model, laptop.has_charger, laptop.keyboard_layout) == (
        "ThinkPad T480s",
        False,
        "qwerty_us",
    )


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_line(staff_client, alice):
    make_laptop(by=alice, serial_number="EXISTING1")
    rows = [
        HEADER,  # line 1
        ["", "Dell", "Latitude 5490", "SN-1", "A", "8", ""],  # line 2: good
        ["", "Dell", "Latitude 5490", "sn-1", "A", "8", ""],  # line 3: same serial as line 2
        ["", "HP", "EliteBook 840", "SN-3", "B", "8", ""],  # line 4: good
        ["", "HP", "EliteBook 840", "SN-4", "Z", "8", ""],  # line 5: no such grade
    ]
    response = upload(staff_client, csv_file(rows))

    assert response.status_code == 200
    assert "confirm_form" not in response.context
    assert Laptop.objects.count() == 1
    serial, grade = column("serial_number"), column("grade")
    assert problems(response) == [
        f"Ligne 3 : {serial} : La ligne 2 de ce fichier a déjà ce numéro de série.",
        f"Ligne 5 : {grade} : « Z » ne fait pas partie des valeurs acceptées : A, B, C.",
    ]
    page = response.content.decode()
    assert "Rien n’a été importé" in page
    assert "Ligne 3 : " in page and "Ligne 5 : " in page
    assert "Ligne 2 : " not in page and "Ligne 4 : " not in page


def test_every_kind_of_bad_row_is_explained_on_its_line(staff_client, alice):
    make_laptop(by=alice, serial_number="EXISTING1")
    LocationFactory(name="Atelier de Lanester")
    rows = [
        [*HEADER, column("location"), column("replacement_value"), column("donation")],
        ["", "Dell", "Latitude", "existing1", "A", "8", "", "", "", ""],
        ["DEF-9999", "Dell", "Latitude", "", "A", "8", "", "Grenier", "", ""],
        ["", "", "Latitude", "", "A", "8", "", "", "", ""],
        ["", "Dell", "Latitude", "", "A", "-4", "", "", "-10", ""],
        ["", "Dell", "Latitude", "", "A", "huit", "peut-être", "Grenier", "", "999"],
        ["", "Dell", "Latitude", "", "A", "8.5", "", "", "100 €", ""],
    ]  # fmt: skip
    response = upload(staff_client, csv_file(rows))
    assert Laptop.objects.count() == 1
    found = problems(response)
    expected = [
        "Ligne 2 : Un autre ordinateur a déjà ce numéro de série.",
        "Ligne 3 : ",  # unknown tag, unknown location: both said at once
        "Ligne 4 : ",  # no brand
        "Ligne 5 : ",  # negative RAM, negative value
        "Ligne 6 : ",  # RAM, bag, location, donation
        "Ligne 7 : ",  # RAM, value
    ]
    lines = [problem.split(" : ", 1)[0] + " : " for problem in found]
    assert sorted(set(lines)) == [e.split(" : ", 1)[0] + " : " for e in expected]
    text = "\n".join(found)
    assert expected[0] in found
    assert "Aucun ordinateur n’a l’étiquette DEF-9999." in text
    assert f"Ligne 4 : {column('brand')} : Ce champ ne peut pas être vide." in found
    assert sum(line == "Ligne 3 : " for line in lines) == 2
    assert sum(line == "Ligne 5 : " for line in lines) == 2
    for message in (
        "« huit » n’est pas un nombre.",
        "« peut-être » n’est pas compris : écrivez oui ou non.",
        "Aucun emplacement ne s’appelle « Grenier »",
        "Il n’y a pas de don numéro 999.",
        "« 8.5 » n’est pas un nombre entier.",
        "« 100 € » n’est pas un nombre.",
    ):
        assert message in text


def test_a_row_that_became_wrong_before_the_confirmation_imports_nothing(staff_client, alice):
    rows = [
        HEADER,
        ["", "Dell", "Latitude", "SN-1", "A", "8", ""],
        ["", "HP", "840", "", "", "", ""],
    ]
    preview = upload(staff_client, csv_file(rows))
    make_laptop(by=alice, serial_number="SN-1")  # someone registers it meanwhile

    response = confirm(staff_client, preview)
    assert response.status_code == 200
    assert problems(response) == ["Ligne 2 : Un autre ordinateur a déjà ce numéro de série."]
    assert Laptop.objects.count() == 1


def test_a_csv_from_french_excel_with_semicolons_and_a_blank_line_keeps_its_line_numbers(
    staff_client,
):
    rows = [
        HEADER,
        ["", "Dell", "Latitude", "", "A", "8", "non"],
        [],  # line 3, blank: skipped, but still counted
        ["", "Dell", "Latitude", "", "A", "8", "non"],
        ["", "Dell", "Latitude", "", "Z", "8", "non"],
    ]
    response = upload(staff_client, csv_file(rows, delimiter=";"))
    assert [p.split(" : ")[0] for p in problems(response)] == ["Ligne 5"]

    del rows[-1]
    response = confirm(staff_client, upload(staff_client, csv_file(rows, delimiter=";")))
    assert response.status_code == 302
    assert Laptop.objects.count() == 2


def test_headers_may_be_field_names_or_in_english(staff_client):
    rows = [["Brand", "model", " SERIAL NUMBER "], ["Dell", "Latitude", "sn-7"]]
    response = confirm(staff_client, upload(staff_client, csv_file(rows)))
    assert response.status_code == 302
    assert Laptop.objects.get().serial_number == "SN-7"


def test_a_file_without_known_columns_is_refused_in_one_sentence(staff_client):
    response = upload(staff_client, csv_file([["foo", "bar"], ["1", "2"], ["3", "4"]]))
    (problem,) = problems(response)
    assert problem.startswith("Aucune colonne de ce fichier n’est reconnue.")


def test_a_mac_roman_csv_is_refused_with_a_clear_message(staff_client):
    rows = [["Marque", "Modèle", "Numéro de série"], ["Packard Bell", "EasyNote Été", ""]]
    response = upload(staff_client, csv_file(rows, encoding="mac_roman"))
    assert response.status_code == 200
    assert response.context["form"].errors["import_file"] == [
        "Ce fichier n’est pas un fichier CSV en UTF-8. Enregistrez-le depuis votre tableur au "
        "format « CSV UTF-8 », ou choisissez le format XLSX pour un fichier Excel."
    ]
    assert Laptop.objects.count() == 0


@pytest.mark.parametrize("file_format", [CSV_FORMAT, XLSX_FORMAT])
def test_a_binary_file_is_refused_with_a_clear_message(staff_client, file_format):
    garbage = SimpleUploadedFile("photo.jpg", bytes(range(256)) * 8)
    response = upload(staff_client, garbage, file_format)
    assert response.status_code == 200
    (error,) = response.context["form"].errors["import_file"]
    assert error.startswith("Ce fichier n")
    assert "Error" not in error
    assert Laptop.objects.count() == 0


def export(client, file_format):
    boxes = {f"laptopresource_{name}": "on" for name in LaptopResource().get_export_order()}
    return client.post(EXPORT, {"format": file_format, "resource": "0", **boxes})


@pytest.fixture
def inventory(alice):
    return [
        make_laptop(by=alice, serial_number="SN-1", location=LocationFactory()),
        make_laptop(by=alice, status=Status.READY, donation=DonationFactory()),
        make_laptop(by=alice, status=Status.RETIRED),
    ]


def test_the_csv_export_has_every_laptop_with_its_status(staff_client, inventory):
    response = export(staff_client, CSV_FORMAT)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response.content.startswith("\ufeff".encode())  # Excel reads the accents right
    header, *rows = list(
        csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
    )
    assert header[:4] == [
        column("asset_tag"),
        column("brand"),
        column("model"),
        column("serial_number"),
    ]
    assert "Numéro de série" in header and "Marque" in header
    status = header.index(column("status"))
    assert {row[0]: row[status] for row in rows} == {
        inventory[0].asset_tag: "Réception",
        inventory[1].asset_tag: "Prêt à prêter",
        inventory[2].asset_tag: "Réformé",
    }


def test_the_xlsx_export_has_every_laptop_with_its_status(staff_client, inventory):
    response = export(staff_client, XLSX_FORMAT)
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = sheet.iter_rows(values_only=True)
    status = header.index(column("status"))
    assert sorted((row[0], row[status]) for row in rows) == [
        (inventory[0].asset_tag, "Réception"),
        (inventory[1].asset_tag, "Prêt à prêter"),
        (inventory[2].asset_tag, "Réformé"),
    ]


def test_an_export_imported_back_changes_nothing(staff_client, inventory):
    history = LaptopStatusChange.objects.count()
    exported = export(staff_client, CSV_FORMAT).content
    preview = upload(staff_client, SimpleUploadedFile("export.csv", exported))
    assert [row.import_type for row in preview.context["result"].rows] == ["skip"] * 3

    assert confirm(staff_client, preview).status_code == 302
    assert Laptop.objects.count() == 3
    assert LaptopStatusChange.objects.count() == history


def test_a_laptop_given_twice_in_one_file_is_refused_on_the_second_line(staff_client, alice):
    laptop = make_laptop(by=alice, grade="B")
    rows = [
        HEADER,
        [laptop.asset_tag, "Lenovo", "ThinkPad T480", "", "A", "8", ""],
        [laptop.asset_tag, "Lenovo", "ThinkPad T480", "", "C", "8", ""],
    ]
    response = upload(staff_client, csv_file(rows))
    assert problems(response) == [
        f"Ligne 3 : {column('asset_tag')} : "
        "La ligne 2 de ce fichier a déjà cette étiquette d’inventaire."
    ]
    laptop.refresh_from_db()
    assert laptop.grade == "B"
