"""anonymise_expired: who goes (the retention period after the last loan, nothing owed nor
paid in advance), what is removed and what stays (the ledger's amounts, the reports' totals),
the dry run, running it again or at the same time, and what is refused on the loans
afterwards (loans.anonymisation)."""

import re
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.contrib import messages
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from defis.audit import record_as
from defis.periods import add_months
from inventory.models import LaptopStatusChange
from loans import anonymisation, balances, envelope_stats, ledger, lending, reconciliation
from loans.models import FeeEntry, Loan, LoanEvent, LoanRequest, LoanRequestEvent
from tests.factories import (
    BudgetEnvelopeFactory,
    CourseFactory,
    TraineeFactory,
    make_loan,
    make_request,
    minor_trainee,
)
from trainees.models import Attendance, Trainee, Workshop

pytestmark = pytest.mark.django_db

# The last day of the course and of the loan, in the tests below.
ENDED = date(2023, 3, 15)
PSEUDONYM = re.compile(r"^ANON-[0-9A-HJKMNP-TV-Z]{8}$")


def moment(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def travel(day: date, hour: int = 10):
    return time_machine.travel(moment(day, hour), tick=False)


def months_after(day: date, months: int) -> date:
    return add_months(day, months)


def scan():
    return SimpleUploadedFile("scan.pdf", b"%PDF-1.4 signed", content_type="application/pdf")


def borrower(
    alice,
    body,
    *,
    ended: date = ENDED,
    course_ended: date | None = None,
    paid: str | None = "auto",
    outcome: str = "returned",
    minor: bool = False,
    **names,
) -> Trainee:
    """A trainee of a course that ended on `ended` (or `course_ended`): their laptop handed
    over six weeks before, with a signed scan, and back (or lost) on `ended`. `paid`: "auto"
    settles the balance, None pays nothing, an amount pays that much."""
    handover = ended - timedelta(days=42)
    with travel(handover):
        course = CourseFactory(
            training_body=body,
            start_date=handover - timedelta(days=20),
            end_date=course_ended or ended,
        )
        make = minor_trainee if minor else TraineeFactory
        trainee = make(course=course, **names)
        loan = make_loan(trainee, by=alice, status=Loan.Status.ACTIVE)
        lending.loan_attach_scan(loan=loan, upload=scan(), by=alice)
    with travel(ended):
        if outcome == "returned":
            lending.loan_return(
                loan=loan,
                on=ended,
                by=alice,
                accessories=loan.accessories_out,
                condition="Rayure sur le capot",
                damage="Coin de l’écran fêlé",
            )
        else:
            lending.loan_report_loss(
                loan=loan, outcome=outcome, on=ended, by=alice, note="Perdu dans le bus"
            )
        owed = ledger.statement(loan).balance
        amount = owed if paid == "auto" else (Decimal(paid) if paid else None)
        if amount:
            ledger.payment_record(
                loan=loan, amount=amount, method=FeeEntry.Method.CASH, paid_on=ended, by=alice
            )
    return trainee


def run(today: date, *args, capture) -> str:
    """The command on `today`, its files deleted at commit; what it printed."""
    out = StringIO()
    with travel(today), capture(execute=True):
        call_command("anonymise_expired", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def snapshot() -> dict:
    """Every row of every table of the project, to compare before and after."""
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label in {"defis", "inventory", "trainees", "loans", "admin"}:
            rows[model._meta.label] = list(model.objects.order_by("pk").values())
    return rows


def ledger_rows():
    return list(FeeEntry.objects.order_by("pk").values())


# --- Who goes ---------------------------------------------------------------------------------


def test_it_anonymises_a_trainee_whose_last_loan_closed_25_months_ago(alice, agora, capture):
    lea = borrower(
        alice,
        agora,
        minor=True,
        first_name="Léa",
        last_name="Kerbrat",
        phone="06 11 22 33 44",
        notes="Vit chez sa grand-mère",
        support_needs="Première prise en main",
        postal_code="56700",
        town="Hennebont",
        digital_level="basic",
    )
    birth_year = lea.birth_date.year
    loan = lea.loans.get()
    output = run(months_after(ENDED, 25), capture=capture)

    lea.refresh_from_db()
    assert PSEUDONYM.match(lea.pseudonym)
    assert lea.is_anonymised
    assert lea.anonymised_at == moment(months_after(ENDED, 25))
    assert (lea.first_name, lea.last_name) == ("", lea.pseudonym)
    assert lea.full_name == str(lea) == lea.pseudonym
    assert lea.birth_date == date(birth_year, 1, 1)
    assert lea.postal_code == "56"
    for name in anonymisation.TRAINEE_EMPTIED:
        assert not getattr(lea, name), name
    # Kept for the statistics: the course and the digital-skills level.
    assert (lea.course_id, lea.digital_level) == (loan.course_id, "basic")
    assert f"{lea.pk}" in output and lea.pseudonym in output
    assert "Kerbrat" not in output


def test_a_loan_closed_23_months_ago_keeps_its_trainee(alice, agora, capture):
    # The course ended three weeks before the laptop came back: the loan's date counts.
    lea = borrower(alice, agora, course_ended=ENDED - timedelta(days=21), last_name="Kerbrat")
    run(months_after(ENDED, 23), capture=capture)
    run(months_after(ENDED, 24), capture=capture)  # 24 months to the day: not more than 24
    lea.refresh_from_db()
    assert not lea.is_anonymised
    assert lea.last_name == "Kerbrat"
    run(months_after(ENDED, 24) + timedelta(days=1), capture=capture)
    lea.refresh_from_db()
    assert lea.is_anonymised


def test_a_laptop_still_on_loan_keeps_its_trainee(alice, agora, capture):
    handover = ENDED - timedelta(days=42)
    with travel(handover):
        course = CourseFactory(
            training_body=agora, start_date=handover - timedelta(days=20), end_date=ENDED
        )
        trainee = TraineeFactory(course=course, last_name="Kerbrat")
        loan = make_loan(trainee, by=alice, status=Loan.Status.ACTIVE)
        # Its first month paid, and nothing billed since: the balance is zero.
        ledger.payment_record(
            loan=loan, amount="7.00", method=FeeEntry.Method.CASH, paid_on=handover, by=alice
        )
    assert ledger.statement(loan).balance == 0
    run(months_after(ENDED, 30), capture=capture)
    trainee.refresh_from_db()
    assert not trainee.is_anonymised


def test_a_balance_owed_keeps_the_trainee(alice, agora, capture):
    owes = borrower(alice, agora, paid="7.00", last_name="Kerbrat")  # 14 € charged
    assert ledger.statement(owes.loans.get()).balance == Decimal("7.00")
    run(months_after(ENDED, 30), capture=capture)
    owes.refresh_from_db()
    assert not owes.is_anonymised


def test_a_balance_paid_in_advance_keeps_the_trainee(alice, agora, capture):
    # Both months paid at the handover, the laptop back within the first one: 7 € charged,
    # 14 € paid. The association owes 7 € back, to someone it must still be able to find.
    handover = ENDED - timedelta(days=42)
    with travel(handover):
        course = CourseFactory(
            training_body=agora, start_date=handover - timedelta(days=20), end_date=ENDED
        )
        ahead = TraineeFactory(course=course, last_name="Kerbrat")
        loan = make_loan(ahead, by=alice, status=Loan.Status.ACTIVE)
        ledger.payment_record(
            loan=loan, amount="14.00", method=FeeEntry.Method.CASH, paid_on=handover, by=alice
        )
    back = handover + timedelta(days=10)
    with travel(back):
        lending.loan_return(loan=loan, on=back, by=alice, accessories=loan.accessories_out)
    assert ledger.statement(loan).balance == Decimal("-7.00")
    run(months_after(ENDED, 30), capture=capture)
    ahead.refresh_from_db()
    assert not ahead.is_anonymised


def test_a_balance_waived_counts_as_settled(alice, agora, capture):
    trainee = borrower(alice, agora, paid=None)
    loan = trainee.loans.get()
    with travel(ENDED):
        ledger.waiver_record(loan=loan, amount="14.00", reason="Situation difficile", by=alice)
    run(months_after(ENDED, 25), capture=capture)
    trainee.refresh_from_db()
    assert trainee.is_anonymised


def test_a_lost_laptop_paid_for_lets_the_trainee_go(alice, agora, capture):
    trainee = borrower(alice, agora, outcome=Loan.Outcome.LOST)
    run(months_after(ENDED, 25), capture=capture)
    trainee.refresh_from_db()
    assert trainee.is_anonymised


def test_the_last_of_several_loans_counts(alice, agora, capture):
    trainee = borrower(alice, agora)
    # A second loan on a later course, closed a year later.
    later = months_after(ENDED, 12)
    with travel(later - timedelta(days=42)):
        course = CourseFactory(training_body=agora, end_date=later)
        trainee.course = course
        trainee.save()
        loan = make_loan(trainee, by=alice, status=Loan.Status.ACTIVE)
    with travel(later):
        lending.loan_return(loan=loan, on=later, by=alice, accessories=loan.accessories_out)
        ledger.payment_record(
            loan=loan,
            amount=ledger.statement(loan).balance,
            method=FeeEntry.Method.CASH,
            paid_on=later,
            by=alice,
        )
    run(months_after(ENDED, 25), capture=capture)
    trainee.refresh_from_db()
    assert not trainee.is_anonymised
    run(months_after(later, 25), capture=capture)
    trainee.refresh_from_db()
    assert trainee.is_anonymised


def test_a_trainee_who_never_borrowed_goes_once_the_course_is_long_over(alice, agora, capture):
    with travel(ENDED - timedelta(days=60)):
        course = CourseFactory(training_body=agora, end_date=ENDED)
        never = TraineeFactory(course=course, last_name="Kerbrat")
        waiting = TraineeFactory(course=course, last_name="Le Bihan")
        make_request(waiting, by=alice, status=LoanRequest.Status.WAITLISTED)
        rejected = TraineeFactory(course=course, last_name="Tanguy")
        make_request(rejected, by=alice, status=LoanRequest.Status.REJECTED)
    run(months_after(ENDED, 23), capture=capture)
    never.refresh_from_db()
    assert not never.is_anonymised
    run(months_after(ENDED, 25), capture=capture)
    for trainee in (never, waiting, rejected):
        trainee.refresh_from_db()
    assert never.is_anonymised
    assert rejected.is_anonymised
    assert rejected.loan_requests.get().justification == ""
    # Still on the waiting list: an open request keeps the trainee.
    assert not waiting.is_anonymised


def test_a_cancelled_loan_counts_as_closed(alice, agora, capture):
    with travel(ENDED - timedelta(days=30)):
        course = CourseFactory(training_body=agora, end_date=ENDED)
        trainee = TraineeFactory(course=course)
        make_loan(trainee, by=alice, status=Loan.Status.CANCELLED)
    run(months_after(ENDED, 25), capture=capture)
    trainee.refresh_from_db()
    assert trainee.is_anonymised


# --- What is removed, what stays --------------------------------------------------------------


def test_the_signed_scans_and_kept_agreements_are_deleted(alice, agora, capture):
    trainee = borrower(alice, agora)
    loan = trainee.loans.get()
    storage = loan.signed_scan.storage
    files = [loan.signed_scan.name, loan.agreement_pdf.name]
    assert all(files) and all(storage.exists(name) for name in files)
    run(months_after(ENDED, 25), capture=capture)
    loan.refresh_from_db()
    assert not loan.signed_scan and not loan.agreement_pdf and not loan.agreement_sha256
    assert not any(storage.exists(name) for name in files)
    # The loan page no longer offers the agreement, and nothing is re-printed with a name.
    for record in Loan.history.filter(id=loan.pk):
        assert not record.signed_scan and not record.agreement_pdf


def test_a_failed_anonymisation_keeps_the_files_and_the_data(alice, agora, capture):
    trainee = borrower(alice, agora, last_name="Kerbrat")
    loan = trainee.loans.get()
    storage = loan.signed_scan.storage
    files = [loan.signed_scan.name, loan.agreement_pdf.name]
    before = snapshot()
    today = months_after(ENDED, 25)
    # Something fails once the trainee is done, before the commit: all is rolled back, and
    # the files, deleted only at the commit, are still there.
    with (
        pytest.raises(RuntimeError),
        travel(today),
        capture(execute=True),
        transaction.atomic(),
    ):
        done = anonymisation.trainee_anonymise(
            trainee_id=trainee.pk, today=today, now=timezone.now()
        )
        assert done is not None
        raise RuntimeError("the server stopped")
    assert snapshot() == before
    assert all(storage.exists(name) for name in files)


def test_free_text_and_the_records_history_are_emptied(alice, agora, capture):
    trainee = borrower(alice, agora, first_name="Léa", last_name="Kerbrat")
    loan = trainee.loans.get()
    with travel(ENDED):
        Loan.objects.filter(pk=loan.pk).update(notes="Léa a appelé")
        trainee.notes = "Léa vit à Hennebont"
        trainee.save()
    LogEntry.objects.create(
        user=alice,
        content_type=ContentType.objects.get_for_model(Trainee),
        object_id=str(trainee.pk),
        object_repr=str(trainee),
        action_flag=CHANGE,
        change_message="[]",
    )
    assert Trainee.history.filter(id=trainee.pk).count() == 2
    # Reserved for her, lent to her, returned by her.
    named = list(
        LaptopStatusChange.objects.filter(note__contains="Léa Kerbrat").values_list("pk", flat=True)
    )
    assert len(named) == 3

    run(months_after(ENDED, 25), capture=capture)
    trainee.refresh_from_db()
    loan.refresh_from_db()

    assert not Trainee.history.filter(id=trainee.pk).exists()
    for name in anonymisation.LOAN_FREE_TEXT:
        assert getattr(loan, name) == "", name
    for record in Loan.history.filter(id=loan.pk):
        for name in anonymisation.LOAN_FREE_TEXT:
            assert getattr(record, name) == "", name
    assert not LoanEvent.objects.filter(loan=loan).exclude(note="").exists()
    loan_request = loan.request
    loan_request.refresh_from_db()
    assert (loan_request.justification, loan_request.decision_reason) == ("", "")
    for record in LoanRequest.history.filter(id=loan_request.pk):
        assert (record.justification, record.decision_reason) == ("", "")
    assert not LoanRequestEvent.objects.filter(request=loan_request).exclude(note="").exists()
    # The laptop's history names the code instead ("Lent to ANON-… (loan …)").
    notes = LaptopStatusChange.objects.filter(pk__in=named).values_list("note", flat=True)
    assert all(trainee.pseudonym in note for note in notes)
    assert not LaptopStatusChange.objects.filter(note__contains="Kerbrat").exists()
    assert LogEntry.objects.get(object_id=str(trainee.pk)).object_repr == trainee.pseudonym
    # Nothing anywhere still names her.
    assert "Kerbrat" not in repr(snapshot())


def test_links_and_dates_stay(alice, agora, capture):
    trainee = borrower(alice, agora)
    loan = trainee.loans.get()
    kept = (
        "trainee_id",
        "laptop_id",
        "course_id",
        "request_id",
        "envelope_id",
        "status",
        "outcome",
        "start_date",
        "planned_end_date",
        "return_date",
        "monthly_fee",
        "planned_periods",
        "closed_at",
        "handed_over_at",
        "accessories_out",
    )
    before = Loan.objects.filter(pk=loan.pk).values(*kept).get()
    request_before = LoanRequest.objects.filter(trainee=trainee).values("status", "laptop_id").get()
    run(months_after(ENDED, 25), capture=capture)
    assert Loan.objects.filter(pk=loan.pk).values(*kept).get() == before
    assert (
        LoanRequest.objects.filter(trainee=trainee).values("status", "laptop_id").get()
        == request_before
    )


def test_the_ledger_keeps_its_amounts_and_loses_its_free_text(alice, agora, capture):
    """A cheque's reference, a waiver's reason may name the person: emptied, and nothing else
    of the ledger changes (its one allowed write, FeeEntry.objects.scrub_free_text)."""
    lea = borrower(alice, agora, paid=None, first_name="Léa", last_name="Kerbrat")
    loan = lea.loans.get()
    with travel(ENDED):
        owed = ledger.statement(loan).balance
        ledger.payment_record(
            loan=loan,
            amount=owed - Decimal("7"),
            method=FeeEntry.Method.CHEQUE,
            paid_on=ENDED,
            by=alice,
            reference="Chèque Kerbrat n°1234",
        )
        ledger.waiver_record(loan=loan, amount="7.00", reason="Léa Kerbrat hospitalisée", by=alice)
    # Owes, and stays: his ledger is left as it is.
    stays = borrower(alice, agora, paid="7.00", last_name="Le Bihan")
    with travel(ENDED):
        ledger.waiver_record(
            loan=stays.loans.get(), amount="1.00", reason="Yann Le Bihan malade", by=alice
        )
    before = ledger_rows()
    assert len(before) == 8
    assert any(row["reference"] or row["reason"] for row in before if row["loan_id"] == loan.pk)

    run(months_after(ENDED, 25), capture=capture)

    lea.refresh_from_db()
    stays.refresh_from_db()
    assert lea.is_anonymised and not stays.is_anonymised
    after = ledger_rows()
    for old, new in zip(before, after, strict=True):
        if old["loan_id"] == loan.pk:
            assert (new["reference"], new["reason"]) == ("", "")
            old = {**old, "reference": "", "reason": ""}
        assert new == old
    assert "Kerbrat" not in repr(after)
    assert "Yann Le Bihan malade" in repr(after)


def test_a_balance_settled_in_cents_counts_as_settled(alice, agora, capture):
    """0.10 + 0.20 + 13.70 paid for 14.00 charged: zero, exactly. SQLite adds decimals as
    floats, and there the sum of the amounts is not 0."""
    trainee = borrower(alice, agora, paid=None)
    loan = trainee.loans.get()
    with travel(ENDED):
        assert ledger.statement(loan).balance == Decimal("14.00")
        for amount in ("0.10", "0.20", "13.70"):
            ledger.payment_record(
                loan=loan, amount=amount, method=FeeEntry.Method.CASH, paid_on=ENDED, by=alice
            )
        assert ledger.statement(loan).balance == 0
    run(months_after(ENDED, 25), capture=capture)
    trainee.refresh_from_db()
    assert trainee.is_anonymised


def test_the_admin_log_names_the_code_wherever_it_named_them(client, root, alice, agora, capture):
    """A workshop's change message names the attendances ("Léa Kerbrat · Premiers pas…"),
    written as JSON ("L\u00e9a"): the code takes the name's place there too."""
    lea = borrower(alice, agora, first_name="Léa", last_name="Kerbrat")
    yann = borrower(alice, agora, paid="7.00", first_name="Yann", last_name="Le Bihan")
    day = ENDED - timedelta(days=10)
    with travel(day):
        workshop = Workshop.objects.create(
            date=day, duration_minutes=60, topic="Premiers pas", place="Lanester", facilitator="X"
        )
        client.force_login(root)
        response = client.post(
            reverse("admin:trainees_workshop_change", args=[workshop.pk]),
            {
                "topic": "Premiers pas",
                "date": day.strftime("%d/%m/%Y"),
                "start_time": "",
                "duration_minutes": "60",
                "place": "Lanester",
                "facilitator": "X",
                "notes": "",
                "course": "",
                "attendances-TOTAL_FORMS": "2",
                "attendances-INITIAL_FORMS": "0",
                "attendances-MIN_NUM_FORMS": "0",
                "attendances-MAX_NUM_FORMS": "1000",
                "attendances-0-trainee": str(lea.pk),
                "attendances-0-present": "on",
                "attendances-0-workshop": str(workshop.pk),
                "attendances-1-trainee": str(yann.pk),
                "attendances-1-present": "on",
                "attendances-1-workshop": str(workshop.pk),
            },
        )
        assert response.status_code == 302
    # An entry about an attendance itself, named after her.
    attendance = Attendance.objects.get(trainee=lea)
    LogEntry.objects.create(
        user=root,
        content_type=ContentType.objects.get_for_model(Attendance),
        object_id=str(attendance.pk),
        object_repr=str(attendance),
        action_flag=ADDITION,
        change_message="",
    )
    logged = LogEntry.objects.get(content_type__model="workshop")
    assert "L\\u00e9a Kerbrat" in logged.change_message

    run(months_after(ENDED, 25), capture=capture)

    lea.refresh_from_db()
    assert lea.is_anonymised
    entries = list(LogEntry.objects.values_list("object_repr", "change_message"))
    assert not [entry for entry in entries if "Kerbrat" in repr(entry)]
    logged.refresh_from_db()
    assert lea.pseudonym in logged.get_change_message()
    assert "Yann Le Bihan" in logged.get_change_message()  # still held: his name stays
    assert LogEntry.objects.get(
        object_repr__contains="Premiers pas", content_type__model="attendance"
    ).object_repr.startswith(lea.pseudonym)


# --- The reports -----------------------------------------------------------------------------


def reports(client, envelope, today: date) -> dict:
    """The figures of every report: the envelope's page, the reconciliation, the arrears,
    the dashboard."""
    with travel(today):
        stats = envelope_stats.envelope_stats(envelope, today=today)
        report = reconciliation.reconcile(envelope, today=today)
        arrears = list(
            balances.in_arrears(Loan.objects.all())
            .order_by("pk")
            .values_list("pk", "balance", "owed_since", "last_paid_on")
        )
        dashboard = client.get(reverse("dashboard")).context
    return {
        "envelope": (
            stats.figures.consumed,
            stats.figures.committed,
            stats.months,
            [
                (b.pk, b.consumed, b.committed, b.loans_total, b.months_charged)
                for b in stats.by_training_body
            ],
            [(b.pk, b.consumed, b.committed, b.loans_total) for b in stats.by_territory],
            (stats.total.consumed, stats.total.loans_total, stats.total.months_charged),
            stats.pace,
        ),
        "reconciliation": (
            report.months,
            report.totals,
            report.balance,
            [(check.key, check.count) for check in report.checks],
            report.forecast.months,
            report.figures.consumed,
            report.figures.committed,
        ),
        "arrears": arrears,
        "dashboard": (
            dashboard["loan_figures"],
            dashboard["laptop_figures"],
            dashboard["request_figures"],
            [(f.consumed, f.committed, f.available) for f in dashboard["envelope_figures"]],
        ),
    }


def test_the_reports_totals_are_unchanged(client, alice, agora, askoria, no_funding, capture):
    envelope = BudgetEnvelopeFactory(
        name="PRÉPA 2022-2026",
        amount=Decimal("15000.00"),
        start_date=date(2022, 1, 1),
        end_date=date(2026, 12, 31),
    )
    paid = borrower(alice, agora)
    lost = borrower(alice, askoria, outcome=Loan.Outcome.LOST)
    waived = borrower(alice, agora, paid=None)
    with travel(ENDED):
        ledger.waiver_record(
            loan=waived.loans.get(), amount="14.00", reason="Situation difficile", by=alice
        )
    owes = borrower(alice, agora, paid="7.00")
    today = months_after(ENDED, 25)
    # A loan running today, billed by the nightly run.
    with travel(today - timedelta(days=40)):
        running = make_loan(
            TraineeFactory(course=CourseFactory(training_body=askoria)), by=alice, status="active"
        )
    with travel(today):
        ledger.bill_fees(until=today)
    client.force_login(alice)
    before = reports(client, envelope, today)
    assert before["arrears"], "a loan owes something"
    assert before["envelope"][0] > 0

    run(today, capture=capture)

    for trainee in (paid, lost, waived):
        trainee.refresh_from_db()
        assert trainee.is_anonymised
    owes.refresh_from_db()
    assert not owes.is_anonymised
    assert not running.trainee.is_anonymised
    assert reports(client, envelope, today) == before


# --- Dry run, twice, at the same time ---------------------------------------------------------


def test_the_dry_run_changes_nothing(alice, agora, capture):
    trainee = borrower(alice, agora, first_name="Léa", last_name="Kerbrat")
    loan = trainee.loans.get()
    storage = loan.signed_scan.storage
    files = [loan.signed_scan.name, loan.agreement_pdf.name]
    before = snapshot()
    output = run(months_after(ENDED, 25), "--dry-run", capture=capture)
    assert snapshot() == before
    assert all(storage.exists(name) for name in files)
    # It says who would go.
    assert f"{trainee.pk}" in output and "Léa Kerbrat" in output


def test_running_twice_does_nothing_the_second_time(alice, agora, capture):
    trainee = borrower(alice, agora)
    today = months_after(ENDED, 25)
    run(today, capture=capture)
    trainee.refresh_from_db()
    after_first = snapshot()
    output = run(today + timedelta(days=1), capture=capture)
    assert snapshot() == after_first
    assert trainee.pseudonym not in output


def test_a_trainee_changed_since_the_list_was_drawn_up_is_left(alice, agora):
    trainee = borrower(alice, agora)
    today = months_after(ENDED, 25)
    with travel(today):
        listed = list(anonymisation.expired_trainees(today=today))
        assert listed == [trainee]
        # Meanwhile, the payment is found to be a mistake and reversed: 14 € owed again.
        payment = FeeEntry.objects.get(loan__trainee=trainee, kind=FeeEntry.Kind.PAYMENT)
        ledger.entry_reverse(entry=payment, reason="Chèque sans provision", by=alice)
        assert (
            anonymisation.trainee_anonymise(trainee_id=trainee.pk, today=today, now=timezone.now())
            is None
        )
    trainee.refresh_from_db()
    assert not trainee.is_anonymised


def test_a_trainee_done_by_another_run_is_left(alice, agora):
    trainee = borrower(alice, agora)
    today = months_after(ENDED, 25)
    with travel(today):
        listed = list(anonymisation.expired_trainees(today=today))
        done = anonymisation.trainee_anonymise(
            trainee_id=trainee.pk, today=today, now=timezone.now()
        )
        assert listed == [trainee] and done is not None
        assert (
            anonymisation.trainee_anonymise(trainee_id=trainee.pk, today=today, now=timezone.now())
            is None
        )
    trainee.refresh_from_db()
    assert trainee.pseudonym == done.pseudonym


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent transactions need PostgreSQL (CI runs it)",
)
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_anonymise_each_trainee_once(alice, agora):
    trainees = [borrower(alice, agora) for _ in range(4)]
    today = months_after(ENDED, 25)
    start = threading.Barrier(2)
    results, errors = [], []

    def one_run():
        try:
            start.wait()
            with travel(today):
                results.append(anonymisation.anonymise_expired(today=today))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    done = [item for result in results for item in result.anonymised]
    assert sorted(item.trainee_id for item in done) == sorted(t.pk for t in trainees)
    for item in done:
        assert Trainee.objects.get(pk=item.trainee_id).pseudonym == item.pseudonym


# --- The record once anonymised ----------------------------------------------------------------


def test_no_signed_scan_is_attached_once_anonymised(client, alice, agora, capture):
    lea = borrower(alice, agora, first_name="Léa", last_name="Kerbrat")
    run(months_after(ENDED, 25), capture=capture)
    loan = lea.loans.get()
    assert not loan.signed_scan
    with travel(months_after(ENDED, 26)):
        with pytest.raises(lending.LoanError) as refused:
            lending.loan_attach_scan(loan=loan, upload=scan(), by=alice)
        assert refused.value.code == "anonymised"
        # Through the page: the refusal is a message, nothing is kept.
        client.force_login(alice)
        response = client.post(reverse("loans:loan_scan_upload", args=[loan.pk]), {"scan": scan()})
    assert response.status_code == 302
    assert [m.level for m in get_messages(response.wsgi_request)] == [messages.ERROR]
    loan.refresh_from_db()
    assert not loan.signed_scan
    assert not loan.events.filter(kind=LoanEvent.Kind.SCAN_ATTACHED, at__gt=moment(ENDED)).exists()


def owing_and_anonymised(alice, agora):
    """A trainee anonymised while their loan owes 7 € (set directly: the command would not
    have), so that only the refusal for anonymised trainees stands in the way."""
    trainee = borrower(alice, agora, paid="7.00", first_name="Léa", last_name="Kerbrat")
    Trainee.objects.filter(pk=trainee.pk).update(
        first_name="",
        last_name="ANON-7F3K9Q2M",
        pseudonym="ANON-7F3K9Q2M",
        anonymised_at=moment(ENDED),
    )
    return trainee.loans.get()


def test_no_payment_waiver_or_reversal_is_recorded_once_anonymised(client, alice, agora):
    loan = owing_and_anonymised(alice, agora)
    payment = FeeEntry.objects.get(loan=loan, kind=FeeEntry.Kind.PAYMENT)
    before = ledger_rows()
    later = months_after(ENDED, 1)
    with travel(later):
        refusals = []
        for record in (
            lambda: ledger.payment_record(
                loan=loan,
                amount="7.00",
                method=FeeEntry.Method.CHEQUE,
                paid_on=later,
                by=alice,
                reference="Chèque Kerbrat",
            ),
            lambda: ledger.waiver_record(
                loan=loan, amount="7.00", reason="Léa Kerbrat hospitalisée", by=alice
            ),
            lambda: ledger.entry_reverse(entry=payment, reason="Léa Kerbrat", by=alice),
        ):
            with pytest.raises(ledger.LedgerError) as refused:
                record()
            refusals.append(refused.value.code)
        assert refusals == ["anonymised"] * 3
        # Through the page: the form again, with the reason, nothing written.
        client.force_login(alice)
        response = client.post(
            reverse("loans:payment_new", args=[loan.pk]),
            {
                "amount": "7,00",
                "method": FeeEntry.Method.CHEQUE,
                "paid_on": later.isoformat(),
                "reference": "Chèque Kerbrat",
                "received_by": alice.pk,
            },
        )
    assert response.status_code == 200
    assert loan.number in " ".join(response.context["form"].non_field_errors())
    assert ledger_rows() == before


def test_the_admin_no_longer_edits_the_notes_of_an_anonymised_trainees_loan(
    client, root, alice, agora, capture
):
    lea = borrower(alice, agora, first_name="Léa", last_name="Kerbrat")
    yann = borrower(alice, agora, paid="7.00", first_name="Yann", last_name="Le Bihan")
    run(months_after(ENDED, 25), capture=capture)
    client.force_login(root)
    for trainee, editable in ((lea, False), (yann, True)):
        loan = trainee.loans.get()
        url = reverse("admin:loans_loan_change", args=[loan.pk])
        page = client.get(url)
        assert ("notes" in page.context["adminform"].form.fields) is editable
        data = {"notes": "Léa a rappelé", "_save": "Enregistrer"}
        for inline in page.context["inline_admin_formsets"]:
            management = inline.formset.management_form
            for name in management.fields:
                data[f"{inline.formset.prefix}-{name}"] = management.initial.get(name, "")
        assert client.post(url, data).status_code == 302
        loan.refresh_from_db()
        assert loan.notes == ("Léa a rappelé" if editable else "")


def test_a_file_left_on_an_anonymised_trainees_loan_goes_at_the_next_run(alice, agora, capture):
    lea = borrower(alice, agora)
    run(months_after(ENDED, 25), capture=capture)
    loan = lea.loans.get()
    # A scan attached after the anonymisation, before uploads were refused: in storage, on
    # the loan and in its history.
    with travel(months_after(ENDED, 26)):
        field = Loan._meta.get_field("signed_scan")
        name = field.storage.save(field.generate_filename(loan, "scan.pdf"), scan())
        Loan.objects.filter(pk=loan.pk).update(signed_scan=name)
        loan.refresh_from_db()
        loan.notes = ""
        record_as(loan, alice).save()
    assert field.storage.exists(name)
    assert Loan.history.filter(id=loan.pk, signed_scan=name).exists()

    today = months_after(ENDED, 27)
    with travel(today), capture(execute=True):
        done = anonymisation.anonymise_expired(today=today)

    assert (done.anonymised, done.files_swept, done.files_deleted) == ([], 1, 1)
    loan.refresh_from_db()
    assert not loan.signed_scan
    assert not field.storage.exists(name)
    assert not Loan.history.filter(id=loan.pk).exclude(signed_scan="").exists()
    # Nothing left: the next run has nothing to do.
    after = snapshot()
    run(months_after(ENDED, 28), capture=capture)
    assert snapshot() == after


def test_an_anonymised_record_cannot_be_edited(client, alice, agora, capture):
    trainee = borrower(alice, agora)
    run(months_after(ENDED, 25), capture=capture)
    trainee.refresh_from_db()
    client.force_login(alice)
    page = client.get(trainee.get_absolute_url())
    assert page.status_code == 200
    assert trainee.pseudonym in page.content.decode()
    assert reverse("trainees:trainee_edit", args=[trainee.pk]) not in page.content.decode()
    response = client.post(
        reverse("trainees:trainee_edit", args=[trainee.pk]),
        {
            "course": trainee.course_id,
            "first_name": "Léa",
            "last_name": "Kerbrat",
            "birth_date": "2002-05-04",
            "street": "1 rue de la Gare",
            "postal_code": "56100",
            "town": "Lorient",
        },
    )
    assert response.status_code == 200
    trainee.refresh_from_db()
    assert trainee.last_name == trainee.pseudonym


def test_the_retention_period_is_a_setting(client, alice, agora, capture, settings):
    settings.DEFIS_RETENTION_MONTHS = 12
    trainee = borrower(alice, agora)
    run(months_after(ENDED, 12), capture=capture)
    trainee.refresh_from_db()
    assert not trainee.is_anonymised
    run(months_after(ENDED, 13), capture=capture)
    trainee.refresh_from_db()
    assert trainee.is_anonymised
    # The privacy notice says the same.
    assert "12 mois après la fin du dernier prêt" in client.get(reverse("privacy")).content.decode()


def test_the_loan_page_offers_no_scan_upload_nor_ledger_entry_once_anonymised(client, alice, agora):
    loan = owing_and_anonymised(alice, agora)
    client.force_login(alice)
    with travel(months_after(ENDED, 26)):
        page = client.get(reverse("loans:loan", args=[loan.pk])).content.decode()
    assert "ANON-7F3K9Q2M" in page
    assert 'data-action="payment"' not in page
    assert 'data-action="waiver"' not in page
    assert 'data-action="reverse"' not in page
    assert reverse("loans:loan_scan_upload", args=[loan.pk]) not in page
    # The same page for a trainee who is not anonymised offers them (the test can fail).
    Trainee.objects.filter(pk=loan.trainee_id).update(anonymised_at=None, pseudonym="")
    with travel(months_after(ENDED, 26)):
        page = client.get(reverse("loans:loan", args=[loan.pk])).content.decode()
    assert 'data-action="payment"' in page
    assert 'data-action="reverse"' in page
    assert reverse("loans:loan_scan_upload", args=[loan.pk]) in page
