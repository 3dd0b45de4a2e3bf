"""The design-scale dataset (loans.scale), made small: the figures hold together as the
services would have left them."""

import itertools
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from defis.models import Counter
from defis.periods import months_started
from inventory.models import Laptop
from loans import envelopes, ledger, scale
from loans.models import BudgetEnvelope, FeeEntry, Loan, LoanRequest
from trainees.models import Coordinator, Course, Trainee, TrainingBody

pytestmark = pytest.mark.django_db

TINY = scale.Counts(
    territories=2,
    training_bodies=2,
    trainees=20,
    laptops=30,
    loans=30,
    ledger_lines=100,
    years=1,
    trainees_per_course=2,
)
TODAY = date(2026, 11, 26)


@pytest.fixture
def dataset(alice, no_funding):
    steps = defaultdict(list)
    summary = scale.generate(
        today=TODAY,
        by=alice,
        counts=TINY,
        progress=lambda step, done, total: steps[step].append((done, total)),
    )
    return summary, steps


def test_it_makes_what_it_is_asked_for(dataset):
    summary, steps = dataset
    assert TrainingBody.objects.count() == 2 and Coordinator.objects.count() == 2
    assert Trainee.objects.count() == 20 and Laptop.objects.count() == 30
    assert Loan.objects.count() == 30 == LoanRequest.objects.count()
    assert summary.rows["Loan"] == 30 and summary.rows["Course"] == Course.objects.count() == 10
    assert summary.ledger_lines == FeeEntry.objects.count()
    assert sum(summary.loans_by_status.values()) == 30
    assert set(Loan.objects.values_list("status", flat=True)) >= {"active", "closed"}
    # Progress after every batch, step by step, up to each step's total.
    assert tuple(steps) == scale.STEPS
    for step, calls in steps.items():
        done, total = calls[-1]
        assert done == total > 0, step
        assert [done for done, _total in calls] == sorted(done for done, _total in calls)


def test_it_refuses_to_make_it_twice(dataset, alice):
    with pytest.raises(scale.ScaleError):
        scale.generate(today=TODAY, by=alice, counts=TINY)


def test_its_loans_hold_together(dataset):
    loans = Loan.objects.select_related("request", "course__training_body", "envelope")
    for loan in loans:
        loan.validate_constraints()
        assert loan.planned_periods == months_started(loan.start_date, loan.planned_end_date)
        assert loan.request.status == "fulfilled"
        assert (loan.request.trainee_id, loan.request.laptop_id) == (
            loan.trainee_id,
            loan.laptop_id,
        )
        assert loan.course.start_date <= loan.start_date <= loan.course.end_date
        assert loan.planned_end_date <= loan.course.end_date
        assert loan in loan.trainee.course.loans.all()
        assert loan.envelope in BudgetEnvelope.objects.covering(
            loan.course.training_body, loan.start_date
        )
        assert loan.monthly_fee == loan.envelope.trainee_fee
        assert (loan.handed_over_at is None) == (loan.status == "prepared")
        assert (loan.return_date is not None) == (loan.status == "closed")
        if loan.status == "prepared":
            assert loan.start_date > TODAY
        assert loan.prepared_at <= (loan.handed_over_at or timezone.now())
    numbers = list(Loan.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 30 and all(n.startswith("PRET-20") for n in numbers)
    # The loan counters go on from the numbers taken.
    for year in {loan.start_date.year for loan in loans}:
        taken = Loan.objects.filter(start_date__year=year).count()
        assert Counter.objects.get(name=f"loan-{year}").value == taken


def test_a_laptop_is_on_one_loan_at_a_time_and_its_status_follows(dataset):
    for laptop in Laptop.objects.prefetch_related("loans"):
        laptop.validate_constraints()
        loans = sorted(laptop.loans.all(), key=lambda loan: loan.start_date)
        for before, after in itertools.pairwise(loans):
            assert before.status == "closed" and before.outcome == "returned"
            assert before.return_date < after.start_date
        if not loans:
            assert laptop.status in ("ready", "refurbishing")
            continue
        last = loans[-1]
        expected = {
            "prepared": {"reserved"},
            "active": {"on_loan"},
            "closed": {"ready", "returned", "in_repair", "retired", "lost", "stolen"},
        }[last.status]
        assert laptop.status in expected
        if last.outcome in ("lost", "stolen"):
            assert laptop.status == last.outcome
    assert len({laptop.asset_tag for laptop in Laptop.objects.all()}) == 30


def test_every_month_begun_is_charged_once_and_billing_adds_nothing(dataset):
    for loan in Loan.objects.all():
        periods = sorted(loan.fee_entries.filter(kind="charge").values_list("period", flat=True))
        assert periods == list(range(1, loan.periods_due(until=TODAY) + 1)), loan.number
    assert ledger.bill_fees(until=TODAY) == 0
    for entry in FeeEntry.objects.all():
        entry.validate_constraints()
        assert entry.entry_date <= TODAY


def test_no_one_pays_more_than_what_is_charged(dataset):
    for loan in Loan.objects.prefetch_related("fee_entries"):
        account = ledger.statement(loan, loan.fee_entries.all())
        assert account.paid + account.waived <= account.charged, loan.number
        assert account.paid <= loan.monthly_fee * loan.months
        assert account.balance >= 0


def test_the_envelope_figures_are_the_charges_drawn(dataset):
    summary, _steps = dataset
    for envelope in summary.envelopes:
        figures = envelopes.figures(envelope)
        drawn = FeeEntry.objects.filter(envelope=envelope, kind="charge").aggregate(
            total=Sum("envelope_amount")
        )["total"] or Decimal("0")
        assert figures.consumed == drawn
        assert figures.available > 0
    charges = FeeEntry.objects.filter(kind="charge")
    assert set(charges.values_list("envelope_amount", flat=True)) == {Decimal("30.00")}


def test_it_scales_to_the_ledger_lines_asked_for(alice, no_funding):
    counts = scale.Counts(
        territories=3,
        training_bodies=6,
        trainees=600,
        laptops=400,
        loans=700,
        ledger_lines=3500,
        trainees_per_course=12,
    )
    summary = scale.generate(today=TODAY, by=alice, counts=counts)
    assert FeeEntry.objects.count() == summary.ledger_lines == 3500
    kinds = dict(FeeEntry.objects.values_list("kind").annotate(count=Count("pk")))
    assert kinds["charge"] > kinds["payment"] > kinds["waiver"] > 0
    assert FeeEntry.objects.filter(kind="payment").values("method").distinct().count() == 5
    active = Loan.objects.filter(status="active")
    assert active.count() > 30 and Loan.objects.filter(status="prepared").exists()
    assert Loan.objects.overdue(today=TODAY).exists()
    # Most trainees owe nothing, some a month or more.
    owing = sum(
        1 for loan in Loan.objects.prefetch_related("fee_entries") if ledger.statement(loan).owed
    )
    assert 0 < owing < 0.4 * Loan.objects.exclude(status="prepared").count()
    assert ledger.bill_fees(until=TODAY + timedelta(days=31)) >= active.count() * 0.9
