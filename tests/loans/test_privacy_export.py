"""The answer to an access request: everything held about one trainee, as JSON and as a PDF
in French (loans.privacy, loans.privacy_views)."""

import json
from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from defis.audit import record_as
from inventory.models import LaptopStatusChange
from loans import ledger, lending, privacy
from loans.models import FeeEntry, Loan, ReminderLog
from loans.privacy import json_value, recipient_labels
from tests.factories import CourseFactory, TraineeFactory, make_laptop, make_loan, minor_trainee
from trainees.models import Attendance, Trainee, Workshop

pytestmark = pytest.mark.django_db


def export_url(trainee, kind="json"):
    return reverse(f"loans:trainee_export_{kind}", args=[trainee.pk])


def french_roles() -> str:
    """How the PDF says a reminder went to the training body and to the Défis team."""
    with translation.override("fr"):
        return recipient_labels(["training_body", "defis_team"])


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes")


@pytest.fixture
def lea(alice, client, course):
    """A minor with her guardian, a note, a loan handed over with its scan, a payment, two
    reminders (one to her training body, one to it and to the Défis team), a workshop, and a
    change of her record made by Alice through the page."""
    trainee = minor_trainee(
        course=course,
        first_name="Léa",
        last_name="Kerbrat",
        email="lea.kerbrat@example.org",
        phone="06 11 22 33 44",
        support_needs="Première prise en main",
        notes="Habite loin de la gare",
    )
    loan = make_loan(trainee, by=alice, status=Loan.Status.ACTIVE)
    lending.loan_attach_scan(
        loan=loan,
        upload=SimpleUploadedFile("scan.pdf", b"%PDF-1.4 scan", content_type="application/pdf"),
        by=alice,
    )
    ledger.payment_record(
        loan=loan,
        amount="7.00",
        method=FeeEntry.Method.CASH,
        paid_on=timezone.localdate(),
        by=alice,
        received_by=alice,
        reference="REC-1",
    )
    ReminderLog.objects.create(
        kind=ReminderLog.Kind.ENDS_IN_14_DAYS,
        key=f"loan:{loan.pk}:x",
        loan=loan,
        recipients="coordination@agora.example",
        sent_at=timezone.now(),
    )
    ReminderLog.objects.create(
        kind=ReminderLog.Kind.OVERDUE,
        key=f"loan:{loan.pk}:y",
        loan=loan,
        recipients=f"coordination@agora.example, {alice.email}",
        sent_at=timezone.now() + timedelta(minutes=1),
    )
    workshop = Workshop.objects.create(
        course=course,
        date=timezone.localdate(),
        duration_minutes=90,
        topic="Découvrir Linux Mint",
        place="Lanester",
        facilitator="Défis",
    )
    Attendance.objects.create(workshop=workshop, trainee=trainee, present=True)
    # A change through the page: the history records Alice and the new town.
    client.force_login(alice)
    form = {
        "course": trainee.course_id,
        "first_name": trainee.first_name,
        "last_name": trainee.last_name,
        "birth_date": trainee.birth_date.isoformat(),
        "email": trainee.email,
        "phone": "06 11 22 33 44",
        "street": trainee.street,
        "postal_code": trainee.postal_code,
        "town": "Hennebont",
        "digital_level": "",
        "support_needs": trainee.support_needs,
        "notes": trainee.notes,
        "guardian_name": trainee.guardian_name,
        "guardian_relationship": trainee.guardian_relationship,
        "guardian_phone": "06 12 34 56 78",
        "guardian_email": trainee.guardian_email,
        "guardian_street": trainee.guardian_street,
        "guardian_postal_code": trainee.guardian_postal_code,
        "guardian_town": trainee.guardian_town,
    }
    response = client.post(reverse("trainees:trainee_edit", args=[trainee.pk]), form)
    assert response.status_code == 302, response.context["form"].errors
    client.logout()
    trainee.refresh_from_db()
    return trainee


@pytest.fixture
def other(alice, course):
    """Another trainee of the same course, with a loan of his own."""
    trainee = TraineeFactory(
        course=course, first_name="Yann", last_name="Le Bihan", email="yann@example.org"
    )
    make_loan(trainee, by=alice, status=Loan.Status.ACTIVE)
    return trainee


def test_it_exports_every_field_of_the_trainee_as_json(client, alice, lea, other):
    client.force_login(alice)
    response = client.get(export_url(lea))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="stagiaire-{lea.pk}.json"'
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)

    held = data["trainee"]
    assert set(held) == {field.name for field in Trainee._meta.concrete_fields}
    assert held["first_name"] == "Léa"
    assert held["last_name"] == "Kerbrat"
    assert held["birth_date"] == lea.birth_date.isoformat()
    assert held["phone"] == "+33611223344"
    assert held["town"] == "Hennebont"
    assert held["notes"] == "Habite loin de la gare"
    assert held["guardian_name"] == "Anne Le Goff"
    assert held["guardian_phone"] == "+33612345678"
    assert held["anonymised_at"] is None
    assert data["course"]["title"] == "PRÉPA Avenir Jeunes"
    assert data["course"]["training_body"]["name"] == "Agora Services"

    (loan_request,) = data["loan_requests"]
    assert loan_request["justification"] == "Pas d’ordinateur à la maison."
    assert [e["to_status"] for e in loan_request["events"]] == [
        "submitted",
        "approved",
        "fulfilled",
    ]

    (loan,) = data["loans"]
    db_loan = lea.loans.get()
    assert set(loan) >= {f.name for f in Loan._meta.concrete_fields} - {"trainee"}
    assert loan["number"] == db_loan.number
    assert loan["request"] == db_loan.request.number
    assert loan["laptop"]["asset_tag"] == db_loan.laptop.asset_tag
    assert loan["start_date"] == db_loan.start_date.isoformat()
    assert loan["monthly_fee"] == "7.00"
    assert loan["agreement_pdf"] is True
    assert loan["signed_scan"] is True
    assert loan["prepared_by"] == "Alice Martin"
    assert [e["kind"] for e in loan["events"]] == ["prepared", "handed_over", "scan_attached"]
    assert [(line["kind"], line["amount"]) for line in loan["ledger"]] == [
        ("charge", "7.00"),
        ("payment", "-7.00"),
    ]
    assert loan["ledger"][1]["reference"] == "REC-1"
    assert loan["ledger"][1]["received_by"] == "Alice Martin"
    assert loan["balance"] == "0.00"
    assert {(r["kind"], tuple(r["sent_to"])) for r in loan["reminders"]} == {
        ("ends_in_14", ("training_body",)),
        ("overdue", ("training_body", "defis_team")),
    }

    (workshop,) = data["workshops"]
    assert (workshop["topic"], workshop["duration_minutes"], workshop["present"]) == (
        "Découvrir Linux Mint",
        90,
        True,
    )

    created, changed = data["history"]
    assert created["type"] == "created"
    assert created["changes"]["first_name"] == {"old": None, "new": "Léa"}
    assert changed["type"] == "changed"
    assert changed["by"] == "Alice Martin"
    assert changed["changes"]["town"] == {"old": "Lanester", "new": "Hennebont"}
    assert changed["at"].startswith(timezone.localdate().isoformat())


def test_the_json_holds_nothing_about_another_trainee(client, alice, lea, other):
    client.force_login(alice)
    content = client.get(export_url(lea)).content.decode()
    other_loan = other.loans.get()
    for text in ("Yann", "Le Bihan", "yann@example.org", other_loan.number):
        assert text not in content
    assert other_loan.laptop.asset_tag not in content


def test_the_pdf_opens_and_tells_everything_in_french(client, alice, lea, other):
    client.force_login(alice)
    response = client.get(export_url(lea, "pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="stagiaire-{lea.pk}.pdf"'
    text = pdf_text(response.content)
    loan = lea.loans.get()
    for expected in (
        "Léa Kerbrat",
        "Anne Le Goff",
        "Hennebont",
        "Habite loin de la gare",
        loan.number,
        loan.laptop.asset_tag,
        "7,00 €",
        "Découvrir Linux Mint",
        "Alice Martin",
        french_roles(),
    ):
        assert expected in text, expected
    assert "Lanester → Hennebont" in text
    for absent in ("Yann", "Le Bihan", other.loans.get().number):
        assert absent not in text


def test_reminders_say_whom_they_went_to_not_the_staff_addresses(client, alice, lea):
    client.force_login(alice)
    json_text = client.get(export_url(lea)).content.decode()
    pdf = pdf_text(client.get(export_url(lea, "pdf")).content)
    for content in (json_text, pdf):
        assert alice.email not in content
        assert "coordination@agora.example" not in content
    # "l’organisme de formation, l’équipe Défis"
    assert french_roles() in pdf


def test_the_history_of_the_loans_and_requests_is_exported(client, alice, lea):
    """The old values of a loan's, a request's free text: what the anonymisation empties."""
    loan = lea.loans.get()
    for notes in ("Léa dit avoir des difficultés financières", "RAS"):
        loan.notes = notes
        record_as(loan, alice).save()
    loan_request = loan.request
    for justification in ("Première justification, détaillée", "Courte"):
        loan_request.justification = justification
        record_as(loan_request, alice).save()
    client.force_login(alice)

    data = json.loads(client.get(export_url(lea)).content)
    (exported_loan,) = data["loans"]
    assert exported_loan["history"][0]["type"] == "created"
    changed = [entry for entry in exported_loan["history"] if "notes" in entry["changes"]]
    assert [entry["changes"]["notes"] for entry in changed] == [
        {"old": "", "new": "Léa dit avoir des difficultés financières"},
        {"old": "Léa dit avoir des difficultés financières", "new": "RAS"},
    ]
    assert changed[0]["by"] == "Alice Martin"
    # A link is given by name, a stored file only as there or not.
    statuses = [
        entry["changes"]["status"]
        for entry in exported_loan["history"]
        if "status" in entry["changes"]
    ]
    assert {"old": "prepared", "new": "active"} in statuses
    scans = [
        entry["changes"]["signed_scan"]
        for entry in exported_loan["history"]
        if "signed_scan" in entry["changes"]
    ]
    assert scans == [{"old": None, "new": True}]
    (exported_request,) = data["loan_requests"]
    justifications = [
        entry["changes"]["justification"]
        for entry in exported_request["history"]
        if "justification" in entry["changes"]
    ]
    assert justifications == [
        {"old": "Pas d’ordinateur à la maison.", "new": "Première justification, détaillée"},
        {"old": "Première justification, détaillée", "new": "Courte"},
    ]
    laptops = [
        entry["changes"]["laptop"]
        for entry in exported_request["history"]
        if "laptop" in entry["changes"]
    ]
    assert laptops == [{"old": None, "new": str(loan.laptop)}]

    text = pdf_text(client.get(export_url(lea, "pdf")).content)
    for expected in ("difficultés financières", "Première justification, détaillée"):
        assert expected in text, expected


def test_the_laptops_notes_about_their_loans_are_exported(client, alice, lea, other):
    loan = lea.loans.get()
    notes = list(
        LaptopStatusChange.objects.filter(note__contains="Léa Kerbrat").order_by("changed_at", "pk")
    )
    assert len(notes) == 2  # reserved for her, lent to her
    client.force_login(alice)

    data = json.loads(client.get(export_url(lea)).content)
    assert [(n["laptop"], n["note"]) for n in data["laptop_notes"]] == [
        (loan.laptop.asset_tag, note.note) for note in notes
    ]
    assert data["laptop_notes"][1]["to_status"] == "on_loan"
    assert data["laptop_notes"][1]["by"] == "Alice Martin"
    text = pdf_text(client.get(export_url(lea, "pdf")).content)
    assert notes[1].note in text.replace("\n", " ")


def test_a_laptop_note_is_theirs_by_the_whole_number(alice):
    laptop = make_laptop(by=alice)
    for note in ("Lent to A (loan PRET-2026-0001)", "Lent to B (loan PRET-2026-00012)"):
        LaptopStatusChange.objects.create(
            laptop=laptop, to_status="on_loan", changed_at=timezone.now(), note=note
        )
    found = [change.note for change in privacy._laptop_notes(["PRET-2026-0001"])]
    assert found == ["Lent to A (loan PRET-2026-0001)"]


def test_an_unknown_trainee_is_404(client, alice):
    client.force_login(alice)
    assert client.get(reverse("loans:trainee_export_json", args=[999999])).status_code == 404
    assert client.get(reverse("loans:trainee_export_pdf", args=[999999])).status_code == 404


def test_a_coordinator_cannot_export_even_his_own_trainee(client, bob, lea):
    client.force_login(bob)
    assert client.get(export_url(lea)).status_code == 403
    assert client.get(export_url(lea, "pdf")).status_code == 403


def test_the_export_reads_a_fixed_number_of_queries(client, alice, course):
    trainee = TraineeFactory(course=course)

    def queries(kind):
        client.force_login(alice)
        with CaptureQueriesContext(connection) as context:
            assert client.get(export_url(trainee, kind)).status_code == 200
        return len(context.captured_queries)

    def a_loan(number):
        """Closed, paid, reminded, its notes and its request's justification changed."""
        loan = make_loan(trainee, by=alice, status=Loan.Status.CLOSED)
        ledger.payment_record(
            loan=loan,
            amount="7.00",
            method=FeeEntry.Method.CASH,
            paid_on=timezone.localdate(),
            by=alice,
            reference=f"REC-{number}",
        )
        ReminderLog.objects.create(
            kind=ReminderLog.Kind.OVERDUE,
            key=f"loan:{loan.pk}",
            loan=loan,
            recipients=f"coordination@agora.example, {alice.email}",
            sent_at=timezone.now(),
        )
        loan.notes = f"Note {number}"
        record_as(loan, alice).save()
        loan.request.justification = f"Justification {number}"
        record_as(loan.request, alice).save()

    a_loan(1)
    one_loan = queries("json"), queries("pdf")
    for number in range(2, 5):
        a_loan(number)
    trainee.town = "Lorient"
    trainee.save()
    assert (queries("json"), queries("pdf")) == one_loan
    assert Loan.history.filter(trainee=trainee).count() >= 4 * 4
    assert LaptopStatusChange.objects.filter(note__contains=trainee.last_name).count() == 4 * 3


def test_an_anonymised_trainee_exports_only_the_code(client, alice, course):
    trainee = TraineeFactory(course=course, first_name="Gwen", last_name="Le Roux")
    Trainee.objects.filter(pk=trainee.pk).update(
        first_name="",
        last_name="ANON-7F3K9Q2M",
        pseudonym="ANON-7F3K9Q2M",
        anonymised_at=timezone.now() - timedelta(days=1),
    )
    Trainee.history.filter(id=trainee.pk).delete()
    client.force_login(alice)
    data = json.loads(client.get(export_url(trainee)).content)
    assert data["trainee"]["pseudonym"] == "ANON-7F3K9Q2M"
    assert data["history"] == []
    text = pdf_text(client.get(export_url(trainee, "pdf")).content)
    assert "ANON-7F3K9Q2M" in text
    assert "Gwen" not in text


def test_money_is_written_with_two_decimals():
    assert json_value(Decimal("7")) == "7.00"
    assert json_value(Decimal("-7.00")) == "-7.00"
