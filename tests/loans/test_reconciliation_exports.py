"""The reconciliation report's files: CSV and XLSX read back with the same totals as the page,
and the PDF funder report (compte rendu financier) with its budget against actual."""

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from pypdf import PdfReader

from defis.models import Association
from loans import ledger
from loans.models import FeeEntry
from loans.reconciliation_exports import budget_lines
from tests.loans import test_reconciliation as base
from trainees.models import Attendance, Workshop

pytestmark = pytest.mark.django_db

# The small 2024 ledger of the table's tests, and its helpers.
french = base.french
envelope = base.envelope
course = base.course
ledger_2024 = base.ledger_2024
bulk_line, plain, report_on, travel = base.bulk_line, base.plain, base.report_on, base.travel

E = Decimal
TODAY = date(2024, 6, 15)


def get(client, user, name, envelope, day=TODAY):
    client.force_login(user)
    with travel(day):
        return client.get(reverse(f"loans:{name}", args=[envelope.pk]))


def page_totals(client, alice, envelope):
    response = get(client, alice, "reconciliation", envelope)
    return response.context["report"].totals


# --- CSV ------------------------------------------------------------------------------------------


def read_csv(response):
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_csv_is_the_table_with_its_totals(client, alice, envelope, ledger_2024):
    response = get(client, alice, "reconciliation_csv", envelope)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="rapprochement-prepa-2024-2024-06-15.csv"'
    )
    rows = read_csv(response)
    assert rows[0] == [
        "Mois",
        "Prêts actifs",
        "Mois commencés (facturés)",
        "Mois commencés (d’après les dates des prêts)",
        "Participations facturées",
        "Paiements",
        "Remises",
        "Reste dû en fin de mois",
        "Prélevé sur l’enveloppe",
        "Prélevé, cumul",
        "Reste sur l’enveloppe",
    ]
    assert [row[0] for row in rows[1:]] == [
        "janvier 2024",
        "février 2024",
        "mars 2024",
        "avril 2024",
        "mai 2024",
        "juin 2024",
        "Total",
    ]
    assert rows[4] == [
        "avril 2024",
        "3",
        "2",
        "2",
        "14,00",
        "14,00",
        "7,00",
        "7,00",
        "60,00",
        "270,00",
        "730,00",
    ]
    assert rows[-1] == [
        "Total",
        "3",
        "11",
        "11",
        "77,00",
        "49,00",
        "7,00",
        "21,00",
        "330,00",
        "330,00",
        "670,00",
    ]
    totals = page_totals(client, alice, envelope)
    assert [E(value.replace(",", ".")) for value in rows[-1][4:]] == [
        totals.charged,
        totals.paid,
        totals.waived,
        totals.outstanding,
        totals.drawn,
        totals.cumulative_drawn,
        totals.remaining,
    ]


def test_the_csv_headers_are_french_whatever_the_users_language(client, alice, envelope):
    client.force_login(alice)
    client.cookies["django_language"] = "en"
    with travel(TODAY):
        response = client.get(
            reverse("loans:reconciliation_csv", args=[envelope.pk]), HTTP_ACCEPT_LANGUAGE="en"
        )
    assert read_csv(response)[0][:2] == ["Mois", "Prêts actifs"]


# --- XLSX -----------------------------------------------------------------------------------------


def workbook(response):
    return openpyxl.load_workbook(io.BytesIO(response.content))


def test_the_xlsx_has_the_table_as_numbers_and_the_checks(client, alice, envelope, ledger_2024):
    response = get(client, alice, "reconciliation_xlsx", envelope)
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "rapprochement-prepa-2024-2024-06-15.xlsx" in response["Content-Disposition"]
    book = workbook(response)
    assert book.sheetnames == ["Rapprochement", "Contrôles", "Prévision"]
    sheet = book["Rapprochement"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Mois", "Prêts actifs", "Mois commencés (facturés)")
    assert rows[1][0].date() == date(2024, 1, 1)
    assert rows[-1][0] == "Total"
    totals = page_totals(client, alice, envelope)
    # Amounts are numbers (openpyxl reads them back as floats: compared as decimals).
    assert [E(str(value)).quantize(E("0.01")) for value in rows[-1][4:]] == [
        totals.charged,
        totals.paid,
        totals.waived,
        totals.outstanding,
        totals.drawn,
        totals.cumulative_drawn,
        totals.remaining,
    ]
    assert rows[-1][1:4] == (3, 11, 11)
    assert "€" in sheet.cell(row=sheet.max_row, column=5).number_format
    checks = list(book["Contrôles"].iter_rows(values_only=True))
    assert checks[0] == ("Contrôle", "Résultat", "Prêt", "Détail")
    assert [row[1] for row in checks[1:]] == ["OK", "OK", "OK", "OK"]


def test_the_xlsx_lists_the_problems(client, alice, envelope, ledger_2024):
    a, _b, _c = ledger_2024
    bulk_line(a, envelope, period=6, entry_date=date(2024, 6, 30), envelope_amount=E("25.00"))
    with travel(date(2024, 7, 5)):
        ledger.bill_fees(until=date(2024, 7, 5))
    response = get(client, alice, "reconciliation_xlsx", envelope, day=date(2024, 7, 5))
    checks = list(workbook(response)["Contrôles"].iter_rows(values_only=True))
    titles = [row[0] for row in checks]
    draws = titles.index("Chaque facturation prélève la part du financeur")
    assert checks[draws][1] == "1 à examiner"
    assert checks[draws + 1][2] == a.number
    assert plain(checks[draws + 1][3]) == "Le mois 6 prélève 25,00 € au lieu de 30,00 €."


# --- The funder report ----------------------------------------------------------------------------


@pytest.fixture
def workshops(ledger_2024):
    """Two workshops in the envelope's period: A and B came to the first (1 h 30), A to the
    second (2 h), C was expected and did not come; one in 2023 does not count."""
    a, b, c = ledger_2024
    first = Workshop.objects.create(
        date=date(2024, 2, 10),
        duration_minutes=90,
        topic="Prise en main",
        place="Lanester",
        facilitator="Alice",
    )
    second = Workshop.objects.create(
        date=date(2024, 3, 16),
        duration_minutes=120,
        topic="Démarches en ligne",
        place="Lanester",
        facilitator="Alice",
    )
    before = Workshop.objects.create(
        date=date(2023, 12, 9),
        duration_minutes=60,
        topic="Avant",
        place="Lanester",
        facilitator="Alice",
    )
    Attendance.objects.create(workshop=first, trainee=a.trainee, present=True)
    Attendance.objects.create(workshop=first, trainee=b.trainee, present=True)
    Attendance.objects.create(workshop=first, trainee=c.trainee, present=False)
    Attendance.objects.create(workshop=second, trainee=a.trainee, present=True)
    Attendance.objects.create(workshop=before, trainee=a.trainee, present=True)
    return first, second


@pytest.fixture
def association(db):
    return Association.objects.create(
        name="Association Défis",
        street="2 rue Jean Jaurès",
        postal_code="56600",
        town="Lanester",
        director="Marie Le Floch",
    )


def pdf_text(response) -> str:
    reader = PdfReader(io.BytesIO(response.content))
    return plain("\n".join(page.extract_text() for page in reader.pages))


def test_the_budget_lines_with_their_gaps(envelope, ledger_2024):
    lines = budget_lines(report_on(envelope, TODAY))
    assert [(line.budget, line.actual, line.gap, line.gap_percent) for line in lines] == [
        (E("1000.00"), E("330.00"), E("-670.00"), E("-67.0")),  # the grant
        (E("33"), E("11"), E("-22"), E("-66.7")),  # loan months: 1 000 € ÷ 30 €
        (E("231.00"), E("77.00"), E("-154.00"), E("-66.7")),  # participations: 33 × 7 €
        (E("77.00"), E("49.00"), E("-28.00"), E("-36.4")),  # charged, then collected
    ]
    for line in lines:
        for value in (line.budget, line.actual, line.gap, line.gap_percent):
            assert type(value) is Decimal


def test_the_funder_report(client, alice, envelope, ledger_2024, workshops, association):
    response = get(client, alice, "funder_report", envelope)
    assert response["Content-Type"] == "application/pdf"
    assert "compte-rendu-financier-prepa-2024-2024-06-15.pdf" in response["Content-Disposition"]
    text = pdf_text(response)
    for expected in (
        "Compte rendu financier de subvention",
        "Cerfa n° 15059",
        "Association Défis",
        "Région Bretagne",
        "Subvention : « PRÉPA 2024 »",
        "Budget prévisionnel",
        "Réalisé",
        "Écart en €",
        "Écart en %",
        "-670,00 €",
        "-67,0 %",
        "-36,4 %",
        "stagiaires équipés d’un ordinateur",
        "mois de prêt",
        "heures d’ateliers suivies (2 ateliers)",
        "Les contrôles de rapprochement du registre sont tous satisfaits.",
        "Je soussigné(e), Marie Le Floch, représentant(e) légal(e) de Association Défis",
        "Le directeur ou la directrice",
        "Annexe : l’enveloppe mois par mois",
        "Avec les seuls prêts déjà engagés, l’enveloppe tient jusqu’à son terme : 420,00 €",
        "Page 1 /",
    ):
        assert expected in text, expected
    # Beneficiaries, loan months and workshop hours: 3 trainees, 11 months, 1,5 + 1,5 + 2 h.
    assert "3\nstagiaires équipés" in text or "3 stagiaires équipés" in text
    assert "11\nmois de prêt" in text or "11 mois de prêt" in text
    assert "5,0\nheures" in text or "5,0 heures" in text
    # The same totals as the page.
    totals = page_totals(client, alice, envelope)
    assert totals.charged == E("77.00")
    assert "77,00 €" in text and "670,00 €" in text
    # The burn-down chart, drawn as SVG into the PDF.
    assert "Épuisement de l’enveloppe" in text


def test_the_funder_report_says_when_the_checks_found_problems(
    client, alice, envelope, ledger_2024, association
):
    _a, b, _c = ledger_2024
    bulk_line(b, envelope, period=9, entry_date=date(2024, 6, 1))
    text = pdf_text(get(client, alice, "funder_report", envelope))
    assert "Les contrôles de rapprochement ont relevé 1 anomalie, en cours de correction." in text


@pytest.mark.parametrize("name", ["reconciliation_csv", "reconciliation_xlsx", "funder_report"])
def test_coordinators_get_no_file(client, bob, envelope, name):
    response = get(client, bob, name, envelope)
    assert response.status_code == 403


def test_no_float_reaches_a_file(client, alice, envelope, ledger_2024, monkeypatch):
    """The exports get the report's values as they are: decimals, never floats."""
    from loans import reconciliation_exports

    seen = []
    original = reconciliation_exports.table

    def spy(report):
        header, rows, totals = original(report)
        seen.extend(value for row in [*rows, totals] for value in row)
        return header, rows, totals

    monkeypatch.setattr(reconciliation_exports, "table", spy)
    get(client, alice, "reconciliation_csv", envelope)
    get(client, alice, "reconciliation_xlsx", envelope)
    assert seen and not any(isinstance(value, float) for value in seen)
    assert any(isinstance(value, Decimal) for value in seen)
    assert FeeEntry.objects.filter(loan__envelope=envelope).exists()
