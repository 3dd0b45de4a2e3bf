"""The fee ledger: the period rule, billing, payments, waivers, reversals, the envelope guard."""

import ast
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import models, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defis.money import format_euros
from loans import envelopes, ledger, lending
from loans.models import BudgetEnvelope, FeeEntry, LedgerIsAppendOnly, Loan, LoanRequest
from tests.factories import (
    BudgetEnvelopeFactory,
    CourseFactory,
    TraineeFactory,
    make_loan,
    make_request,
)

pytestmark = pytest.mark.django_db

Kind = FeeEntry.Kind
E = Decimal


def moment(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def loan_from(alice, start: date, *, months: int = 5, **fields) -> Loan:
    """A loan handed over on `start`, for a course of `months` months from that day."""
    with time_machine.travel(moment(start), tick=False):
        course = CourseFactory(start_date=start, end_date=start + timedelta(days=30 * months))
        return make_loan(TraineeFactory(course=course), by=alice, status="active", **fields)


def charges(loan) -> list[tuple[int, date]]:
    return list(
        FeeEntry.objects.filter(loan=loan, kind=Kind.CHARGE)
        .order_by("period")
        .values_list("period", "entry_date")
    )


# --- The period rule, at its edges ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("until", "due"),
    [
        (date(2027, 1, 31), 1),  # the handover day: the first month has begun
        (date(2027, 2, 27), 1),
        (date(2027, 2, 28), 2),  # 31 January + 1 month = 28 February (no 31st)
        (date(2027, 3, 30), 2),
        (date(2027, 3, 31), 3),  # counted from the start, not from the 28th
        (date(2027, 4, 30), 4),  # 30 April: the month has no 31st
    ],
)
def test_a_loan_starting_on_the_31st_begins_its_months_on_the_last_day_of_short_ones(
    alice, until, due
):
    loan = loan_from(alice, date(2027, 1, 31))
    assert loan.periods_due(until=until) == due


def test_a_loan_starting_on_29_february_begins_its_months_on_the_29th_or_the_28th(alice):
    loan = loan_from(alice, date(2028, 2, 29), months=13)
    ledger.bill_fees(until=date(2029, 3, 1))
    starts = [start for _period, start in charges(loan)]
    assert starts[:3] == [date(2028, 2, 29), date(2028, 3, 29), date(2028, 4, 29)]
    assert starts[12] == date(2029, 2, 28)  # a year later, no 29 February
    assert len(starts) == 13


def test_a_return_on_the_first_day_of_a_period_does_not_begin_it(alice):
    loan = loan_from(alice, date(2027, 1, 10))
    with time_machine.travel(moment(date(2027, 3, 10)), tick=False):
        lending.loan_return(loan=loan, on=date(2027, 3, 10), by=alice, accessories=[])
        ledger.bill_fees(until=date(2027, 3, 10))
    assert [period for period, _start in charges(loan)] == [1, 2]
    loan.refresh_from_db()
    assert loan.months == 2


def test_a_return_the_day_after_a_period_begins_owes_that_period(alice):
    loan = loan_from(alice, date(2027, 1, 10))
    with time_machine.travel(moment(date(2027, 3, 11)), tick=False):
        lending.loan_return(loan=loan, on=date(2027, 3, 11), by=alice, accessories=[])
    assert [period for period, _start in charges(loan)] == [1, 2, 3]


def test_a_loan_returned_the_day_it_started_owes_one_month(alice):
    start = date(2027, 1, 10)
    loan = loan_from(alice, start)
    with time_machine.travel(moment(start, 16), tick=False):
        lending.loan_return(loan=loan, on=start, by=alice, accessories=[])
    assert charges(loan) == [(1, start)]
    loan.refresh_from_db()
    assert loan.months == 1


def test_a_five_month_loan_owes_five_periods(alice):
    start = date(2027, 1, 12)
    with time_machine.travel(moment(start), tick=False):
        course = CourseFactory(start_date=start, end_date=date(2027, 6, 11))
        loan = make_loan(TraineeFactory(course=course), by=alice, status="active")
    assert loan.planned_periods == 5
    with time_machine.travel(moment(date(2027, 6, 11)), tick=False):
        lending.loan_return(loan=loan, on=date(2027, 6, 11), by=alice, accessories=[])
    assert len(charges(loan)) == 5


# --- Billing ------------------------------------------------------------------------------------


def test_billing_charges_every_month_begun_with_its_draw(alice, funding):
    loan = loan_from(alice, date(2027, 1, 10))
    assert charges(loan) == [(1, date(2027, 1, 10))]  # at the handover

    written = ledger.bill_fees(until=date(2027, 3, 10))

    assert written == 2
    assert charges(loan) == [(1, date(2027, 1, 10)), (2, date(2027, 2, 10)), (3, date(2027, 3, 10))]
    for entry in FeeEntry.objects.filter(loan=loan):
        assert (entry.amount, entry.envelope, entry.envelope_amount) == (
            E("7.00"),
            funding,
            E("30.00"),
        )


def test_billing_three_times_gives_one_ledger(alice):
    loans = [loan_from(alice, date(2027, 1, day)) for day in (5, 20, 31)]
    make_loan(by=alice)  # prepared: owes nothing

    results = [ledger.bill_fees(until=date(2027, 4, 15)) for _ in range(3)]

    assert results[1:] == [0, 0]
    rows = list(FeeEntry.objects.order_by("pk").values_list("loan_id", "period", "amount"))
    assert len(rows) == 4 + 3 + 3  # from the 5th, the 20th and the 31st of January
    assert len(set(rows)) == len(rows)
    assert ledger.bill_fees(until=date(2027, 4, 15)) == 0
    assert {loan.pk for loan in loans} == {row[0] for row in rows}


def test_a_prepared_or_cancelled_loan_is_never_billed(alice):
    make_loan(by=alice)
    make_loan(by=alice, status="cancelled")
    assert ledger.bill_fees(until=timezone.localdate() + timedelta(days=400)) == 0
    assert not FeeEntry.objects.exists()


def test_the_bill_fees_command_charges_up_to_a_day(alice):
    loan = loan_from(alice, date(2027, 1, 10))
    out = StringIO()
    with time_machine.travel(moment(date(2027, 5, 1)), tick=False):
        call_command("bill_fees", "--until", "2027-03-10", stdout=out)
        assert "2 mois facturés, jusqu’au 10/03/2027." in out.getvalue()
        call_command("bill_fees", stdout=out)  # today: April begun too
    assert len(charges(loan)) == 4


@pytest.mark.parametrize(
    ("value", "message"),
    [("31/12/2026", "Date invalide"), ("2999-01-01", "est dans le futur")],
)
def test_the_bill_fees_command_refuses_a_bad_date(alice, value, message):
    with pytest.raises(CommandError, match=message):
        call_command("bill_fees", "--until", value, stdout=StringIO())
    assert not FeeEntry.objects.exists()


# --- Payments, waivers, reversals ----------------------------------------------------------------


@pytest.fixture
def billed(alice):
    """A five-month loan from 10 January 2027, billed to 10 March: 21,00 € owed."""
    loan = loan_from(alice, date(2027, 1, 10))
    ledger.bill_fees(until=date(2027, 3, 10))
    traveller = time_machine.travel(moment(date(2027, 3, 12)), tick=False)
    traveller.start()
    yield loan
    traveller.stop()


def test_a_payment_settles_the_oldest_months_first(alice, billed):
    ledger.payment_record(
        loan=billed, amount="10,50", method="cash", paid_on=date(2027, 3, 11), by=alice
    )
    account = ledger.statement(billed)
    assert [(line.period, line.paid) for line in account.periods] == [
        (1, E("7.00")),
        (2, E("3.50")),
        (3, E("0.00")),
    ]
    assert account.periods[0].is_paid and account.periods[1].is_part_paid
    assert (account.charged, account.paid, account.balance) == (E("21.00"), E("10.50"), E("10.50"))
    assert account.oldest_unpaid.period == 2


def test_paying_ahead_is_accepted_up_to_the_whole_loan(alice, billed):
    ledger.payment_record(
        loan=billed, amount="35", method="transfer", paid_on=date(2027, 3, 12), by=alice
    )
    account = ledger.statement(billed)
    assert account.balance == E("-14.00") and account.in_advance == E("14.00")
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.payment_record(
            loan=billed, amount="0.01", method="cash", paid_on=date(2027, 3, 12), by=alice
        )
    assert refused.value.code == "overpaid"


@pytest.mark.parametrize(
    ("amount", "method", "paid_on", "code"),
    [
        ("0", "cash", date(2027, 3, 1), "amount"),
        ("-7", "cash", date(2027, 3, 1), "amount"),
        ("abc", "cash", date(2027, 3, 1), "amount"),
        ("7.001", "cash", date(2027, 3, 1), "amount"),
        ("NaN", "cash", date(2027, 3, 1), "amount"),
        ("1e6", "cash", date(2027, 3, 1), "amount"),
        ("7", "bitcoin", date(2027, 3, 1), "method"),
        ("7", "cash", date(2027, 3, 13), "date"),
        ("7", "cash", date(2020, 1, 1), "date"),
    ],
)
def test_a_bad_payment_is_refused_and_writes_nothing(alice, billed, amount, method, paid_on, code):
    before = FeeEntry.objects.count()
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.payment_record(loan=billed, amount=amount, method=method, paid_on=paid_on, by=alice)
    assert refused.value.code == code
    assert FeeEntry.objects.count() == before


def test_a_prepared_loan_takes_no_payment(alice):
    loan = make_loan(by=alice)
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.payment_record(
            loan=loan, amount="7", method="cash", paid_on=timezone.localdate(), by=alice
        )
    assert refused.value.code == "not_handed_over"


def test_a_waiver_needs_a_reason_and_no_more_than_is_owed(alice, billed):
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.waiver_record(loan=billed, amount="7", reason=" ", by=alice)
    assert refused.value.code == "reason"
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.waiver_record(loan=billed, amount="21.01", reason="Difficultés", by=alice)
    assert refused.value.code == "more_than_owed"
    ledger.waiver_record(loan=billed, amount="21", reason="Difficultés", by=alice)
    assert ledger.statement(billed).balance == 0


def test_a_reversal_cancels_exactly_one_line_once(alice, billed):
    payment = ledger.payment_record(
        loan=billed,
        amount="7",
        method="cheque",
        paid_on=date(2027, 3, 11),
        by=alice,
        reference="1234567",
    )
    before = ledger.statement(billed).balance

    reversal = ledger.entry_reverse(entry=payment, reason="Chèque enregistré deux fois", by=alice)

    assert reversal.amount == -payment.amount and reversal.reverses == payment
    assert ledger.statement(billed).balance == before + E("7.00")
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.entry_reverse(entry=payment, reason="Encore", by=alice)
    assert refused.value.code == "already_reversed"
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.entry_reverse(entry=reversal, reason="Annuler l’annulation", by=alice)
    assert refused.value.code == "reversal_of_reversal"


def test_a_charge_is_not_reversed_a_waiver_forgoes_it(alice, billed, funding):
    charge = FeeEntry.objects.get(loan=billed, period=3)
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.entry_reverse(entry=charge, reason="Mois facturé par erreur", by=alice)
    assert refused.value.code == "charge_due"
    ledger.waiver_record(loan=billed, amount="7", reason="Ordinateur en panne ce mois-là", by=alice)
    # The month stays charged and drawn: the Région paid its share of a month lent.
    assert envelopes.figures(funding).consumed == E("90.00")
    assert ledger.statement(billed).balance == E("14.00")


# --- Properties -----------------------------------------------------------------------------------


cents = st.integers(min_value=1, max_value=4000).map(lambda n: E(n) / 100)
operation = st.one_of(
    st.tuples(st.just("pay"), cents, st.sampled_from(FeeEntry.Method.values)),
    st.tuples(st.just("waive"), cents, st.just("")),
    st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=30), st.just("")),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(months=st.integers(min_value=1, max_value=5), operations=st.lists(operation, max_size=12))
def test_the_balance_is_charges_less_payments_and_waivers_and_a_reversal_nets_to_zero(
    alice, billed, months, operations
):
    with transaction.atomic():
        ledger.bill_fees(until=date(2027, 1, 10) + timedelta(days=31 * (months - 1)))
        for kind, value, method in operations:
            try:
                if kind == "pay":
                    ledger.payment_record(
                        loan=billed,
                        amount=value,
                        method=method,
                        paid_on=date(2027, 3, 12),
                        by=alice,
                    )
                elif kind == "waive":
                    ledger.waiver_record(loan=billed, amount=value, reason="Accord", by=alice)
                else:
                    lines = list(FeeEntry.objects.filter(loan=billed).order_by("pk"))
                    target = lines[value % len(lines)]
                    before = ledger.statement(billed).balance
                    ledger.entry_reverse(entry=target, reason="Erreur", by=alice)
                    # Reversing a line gives back the balance as it was without it.
                    assert ledger.statement(billed).balance == before - target.amount
            except ledger.LedgerError:
                pass  # a refusal writes nothing (checked by the totals below)
        entries = list(FeeEntry.objects.filter(loan=billed))
        account = ledger.statement(billed, entries)
        total = sum((entry.amount for entry in entries), E("0"))
        assert account.balance == total
        assert account.charged - account.paid - account.waived == total
        for entry in entries:
            if entry.kind == Kind.REVERSAL:
                assert entry.amount + entry.reverses.amount == 0
        # Payments and waivers settle months, oldest first, never more than charged.
        settled = sum((line.paid for line in account.periods), E("0"))
        assert settled == min(account.charged, account.paid + account.waived)
        paid_flags = [line.is_paid for line in account.periods]
        assert paid_flags == sorted(paid_flags, reverse=True)
        for value in (account.balance, account.charged, account.paid, settled):
            assert isinstance(value, Decimal)
        transaction.set_rollback(True)


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    days=st.integers(min_value=0, max_value=800),
    returned_after=st.one_of(st.none(), st.integers(min_value=0, max_value=800)),
)
def test_the_periods_due_grow_with_time_and_stop_at_the_return(start, days, returned_after):
    loan = Loan(start_date=start, handed_over_at=moment(start))
    if returned_after is not None:
        loan.return_date = start + timedelta(days=returned_after)
    until = start + timedelta(days=days)
    due = loan.periods_due(until=until)
    assert due >= 1
    assert loan.periods_due(until=until + timedelta(days=1)) >= due
    # Period `due` has begun, on or before `until`; period `due + 1` has not, or the loan
    # had ended before it began.
    assert ledger.period_start(loan, due) <= until
    later = ledger.period_start(loan, due + 1)
    assert later > until or (loan.return_date and later >= loan.return_date)


# --- Append-only ----------------------------------------------------------------------------------


def test_a_ledger_line_is_never_changed_or_deleted_through_the_orm(alice, billed):
    line = FeeEntry.objects.filter(loan=billed).first()
    line.amount = E("0.01")
    with pytest.raises(LedgerIsAppendOnly):
        line.save()
    with pytest.raises(LedgerIsAppendOnly):
        line.delete()
    with pytest.raises(LedgerIsAppendOnly):
        FeeEntry.objects.filter(pk=line.pk).update(amount=E("0.01"))
    with pytest.raises(LedgerIsAppendOnly):
        FeeEntry.objects.filter(pk=line.pk).delete()
    assert FeeEntry.objects.get(pk=line.pk).amount == E("7.00")


# --- The envelope guard ---------------------------------------------------------------------------


@pytest.fixture
def small_envelope(agora):
    """Names Agora, so it is chosen over the test envelope: room for 4 loan months."""
    envelope = BudgetEnvelopeFactory(
        name="Petite enveloppe", amount=E("120.00"), funder_share=E("30.00")
    )
    envelope.training_bodies.set([agora])
    return envelope


def approved(alice, agora, *, months=5):
    today = timezone.localdate()
    course = CourseFactory(
        training_body=agora, start_date=today, end_date=today + timedelta(days=30 * months - 5)
    )
    return make_request(TraineeFactory(course=course), by=alice, status=LoanRequest.Status.APPROVED)


def test_a_loan_the_envelope_cannot_fund_is_refused_with_the_figures(alice, agora, small_envelope):
    request = approved(alice, agora)

    with pytest.raises(lending.LoanError) as refused:
        lending.loan_prepare(request=request, by=alice)

    message = refused.value.messages[0]
    assert format_euros(E("120.00")) in message and format_euros(E("150.00")) in message
    assert "Petite enveloppe" in message
    assert not Loan.objects.exists()
    assert LoanRequest.objects.get(pk=request.pk).status == LoanRequest.Status.APPROVED


def test_staff_may_go_over_the_envelope_with_a_reason_which_is_kept(alice, agora, small_envelope):
    request = approved(alice, agora)

    loan = lending.loan_prepare(
        request=request, by=alice, override_reason="Accord de la Région du 12 novembre"
    )

    assert loan.envelope == small_envelope
    assert loan.envelope_override_reason == "Accord de la Région du 12 novembre"
    assert "Accord de la Région du 12 novembre" in loan.events.get().note
    assert envelopes.figures(small_envelope).available == E("-30.00")


def test_a_loan_that_fits_takes_its_share_and_the_next_one_is_refused(alice, agora, small_envelope):
    loan = lending.loan_prepare(request=approved(alice, agora, months=4), by=alice)
    assert loan.planned_periods == 4
    assert envelopes.figures(small_envelope).committed == E("120.00")
    with pytest.raises(lending.LoanError):
        lending.loan_prepare(request=approved(alice, agora, months=1), by=alice)


def test_an_extension_the_envelope_cannot_fund_needs_a_reason(alice, agora, small_envelope):
    loan = lending.loan_prepare(request=approved(alice, agora, months=3), by=alice)
    lending.loan_hand_over(loan=loan, on=loan.start_date, by=alice)
    until = loan.planned_end_date + timedelta(days=62)

    with pytest.raises(lending.LoanError) as refused:
        lending.loan_extend(loan=loan, until=until, reason="Stage prolongé", by=alice)
    assert "Petite enveloppe" in refused.value.messages[0]
    loan.refresh_from_db()
    assert loan.planned_periods == 3

    lending.loan_extend(
        loan=loan, until=until, reason="Stage prolongé", override_reason="Reliquat 2026", by=alice
    )
    loan.refresh_from_db()
    assert (loan.planned_periods, loan.envelope_override_reason) == (5, "Reliquat 2026")
    assert "Reliquat 2026" in loan.events.last().note


def test_no_envelope_no_loan(alice, agora, funding):
    BudgetEnvelope.objects.filter(pk=funding.pk).delete()
    with pytest.raises(lending.LoanError) as refused:
        lending.loan_prepare(request=approved(alice, agora), by=alice)
    assert [item.code for item in refused.value.error_list] == ["no_envelope"]


def test_a_prepared_loan_changes_envelope_and_fee_until_its_handover(alice, agora, funding):
    loan = lending.loan_prepare(request=approved(alice, agora), by=alice)
    other = BudgetEnvelopeFactory(name="Fonds propres", trainee_fee=E("5.00"))

    lending.loan_change_envelope(loan=loan, envelope=other, by=alice)

    loan.refresh_from_db()
    assert (loan.envelope, loan.monthly_fee) == (other, E("5.00"))
    lending.loan_hand_over(loan=loan, on=loan.start_date, by=alice)
    with pytest.raises(lending.LoanError):
        lending.loan_change_envelope(loan=loan, envelope=funding, by=alice)


# --- No float near money --------------------------------------------------------------------------


def test_money_is_decimal_in_every_model():
    floats = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.FloatField)
    ]
    assert floats == []
    for field in ("amount", "envelope_amount"):
        assert isinstance(FeeEntry._meta.get_field(field), models.DecimalField)
    for field in ("amount", "trainee_fee", "funder_share"):
        assert isinstance(BudgetEnvelope._meta.get_field(field), models.DecimalField)
    assert isinstance(Loan._meta.get_field("monthly_fee"), models.DecimalField)


def test_no_float_in_the_money_code():
    """No float() call and no float literal in the modules that compute money."""
    root = Path(__file__).resolve().parents[2]
    modules = [
        root / "defis" / "money.py",
        *sorted((root / "loans").glob("*.py")),
    ]
    found = []
    for path in modules:
        # Drawing coordinates, and the random draws of the design-scale dataset: not amounts.
        if path.name in {"charts.py", "scale.py"}:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "float":
                found.append(f"{path.name}:{node.lineno} float()")
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                found.append(f"{path.name}:{node.lineno} {node.value}")
    assert found == []


def test_an_overdue_loan_can_be_paid_for_the_months_charged_past_its_plan(alice):
    loan = loan_from(alice, date(2027, 1, 10), months=2)  # planned: 2 months
    ledger.bill_fees(until=date(2027, 4, 10))  # still out: 4 months charged
    with time_machine.travel(moment(date(2027, 4, 11)), tick=False):
        ledger.payment_record(
            loan=loan, amount="28", method="cash", paid_on=date(2027, 4, 11), by=alice
        )
    assert ledger.statement(loan).balance == 0


# --- Found in review --------------------------------------------------------------------------


def test_the_same_payment_sent_twice_is_recorded_once(alice, billed):
    def pay():
        return ledger.payment_record(
            loan=billed, amount="7", method="cash", paid_on=date(2027, 3, 12), by=alice
        )

    pay()
    with pytest.raises(ledger.LedgerError) as refused:
        pay()
    assert refused.value.code == "duplicate"
    assert FeeEntry.objects.filter(loan=billed, kind=Kind.PAYMENT).count() == 1


def test_extending_an_overdue_loan_commits_only_the_months_not_charged_yet(alice, agora):
    start = date(2027, 1, 15)
    with time_machine.travel(moment(start), tick=False):
        course = CourseFactory(training_body=agora, start_date=start, end_date=date(2027, 3, 14))
        loan = make_loan(TraineeFactory(course=course), by=alice, status="active")
    ledger.bill_fees(until=date(2027, 5, 20))  # still out: 5 months charged, 2 planned
    envelope = BudgetEnvelopeFactory(name="Juste", amount=E("180.00"))
    envelope.training_bodies.set([agora])
    Loan.objects.filter(pk=loan.pk).update(envelope=envelope)
    FeeEntry.objects.bulk_create([])  # nothing else drawn on it
    with time_machine.travel(moment(date(2027, 5, 20)), tick=False):
        lending.loan_extend(loan=loan, until=date(2027, 6, 14), reason="Stage", by=alice)
    loan.refresh_from_db()
    assert loan.planned_periods == 5


def test_an_envelope_amount_never_goes_below_what_was_drawn(alice, billed, funding):
    from django.core.exceptions import ValidationError

    funding.amount = E("60.00")  # 90,00 € drawn
    with pytest.raises(ValidationError) as refused:
        funding.full_clean()
    assert "amount" in refused.value.message_dict


def test_the_same_waiver_sent_twice_is_recorded_once(alice, billed):
    ledger.waiver_record(loan=billed, amount="7", reason="Difficultés", by=alice)
    with pytest.raises(ledger.LedgerError) as refused:
        ledger.waiver_record(loan=billed, amount="7", reason="Difficultés", by=alice)
    assert refused.value.code == "duplicate"
    assert FeeEntry.objects.filter(loan=billed, kind=Kind.WAIVER).count() == 1


def test_the_envelope_figures_keep_their_cents(billed, funding):
    figures = envelopes.figures(funding)
    assert str(figures.consumed) == "90.00"
    assert str(figures.committed) == "60.00"
