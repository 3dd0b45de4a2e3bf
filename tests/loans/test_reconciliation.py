"""The reconciliation report of an envelope: the monthly table on a small ledger built by hand
(every figure asserted), the month boundaries, the checks clean and flagged, the forecast, and
the staff page."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defis.periods import add_months
from loans import envelopes, ledger, lending, reconciliation
from loans.models import BudgetEnvelope, FeeEntry, Loan
from tests.factories import BudgetEnvelopeFactory, CourseFactory, TraineeFactory, make_loan

pytestmark = pytest.mark.django_db

Kind = FeeEntry.Kind
E = Decimal


def moment(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def travel(day: date, hour: int = 10):
    return time_machine.travel(moment(day, hour), tick=False)


@pytest.fixture(autouse=True)
def french():
    with translation.override("fr"):
        yield


@pytest.fixture
def envelope(no_funding):
    return BudgetEnvelopeFactory(
        funder="Région Bretagne",
        name="PRÉPA 2024",
        amount=E("1000.00"),
        start_date=date(2024, 1, 1),
        end_date=date(2024, 12, 31),
        trainee_fee=E("7.00"),
        funder_share=E("30.00"),
    )


@pytest.fixture
def course(envelope, agora):
    with travel(date(2024, 1, 15)):
        return CourseFactory(
            training_body=agora,
            title="PRÉPA Avenir Jeunes",
            start_date=date(2024, 1, 15),
            end_date=date(2024, 12, 20),
        )


def hand_over(alice, course, day: date, planned_end: date, **names) -> Loan:
    with travel(day):
        trainee = TraineeFactory(course=course, **names)
        return make_loan(trainee, by=alice, status="active", planned_end_date=planned_end)


@pytest.fixture
def ledger_2024(alice, course):
    """Three loans of 2024, billed as the nightly run would, with a payment, a cheque typed
    twice and reversed, and a waiver:

    - A from 31 January (its months begin on 31/01, 29/02, 31/03, 30/04, 31/05, 30/06),
      planned to 30 June: 6 months, 5 begun by 15 June; paid 35 € in cash on 10 March;
    - B from 1 February, planned to 30 April, back on 1 April, the first day of its third
      month, which it therefore does not begin: 2 months; 7 € waived on 2 April;
    - C from 29 February (then the 29th of each month), planned to 31 July: 6 months, 4
      begun by 15 June; a 14 € cheque on 5 April, recorded twice, the copy reversed on
      6 April.
    """
    a = hand_over(alice, course, date(2024, 1, 31), date(2024, 6, 30), last_name="Alpha")
    b = hand_over(alice, course, date(2024, 2, 1), date(2024, 4, 30), last_name="Bravo")
    c = hand_over(alice, course, date(2024, 2, 29), date(2024, 7, 31), last_name="Charlie")
    with travel(date(2024, 2, 29), 23):
        ledger.bill_fees(until=date(2024, 2, 29))
    with travel(date(2024, 3, 10)):
        ledger.bill_fees(until=date(2024, 3, 10))
        ledger.payment_record(
            loan=a, amount="35", method="cash", paid_on=date(2024, 3, 10), by=alice
        )
    with travel(date(2024, 4, 1)):
        lending.loan_return(loan=b, on=date(2024, 4, 1), by=alice, accessories=["charger"])
    with travel(date(2024, 4, 2)):
        ledger.waiver_record(loan=b, amount="7", reason="Difficultés passagères", by=alice)
    with travel(date(2024, 4, 5)):
        ledger.bill_fees(until=date(2024, 4, 5))
        ledger.payment_record(
            loan=c, amount="14", method="cheque", paid_on=date(2024, 4, 5), by=alice
        )
        twice = ledger.payment_record(  # the same cheque, its number typed this time
            loan=c,
            amount="14",
            method="cheque",
            paid_on=date(2024, 4, 5),
            by=alice,
            reference="0001234",
        )
    with travel(date(2024, 4, 6)):
        ledger.entry_reverse(entry=twice, reason="Chèque saisi deux fois", by=alice)
    with travel(date(2024, 6, 15)):
        ledger.bill_fees(until=date(2024, 6, 15))
    for loan in (a, b, c):
        loan.refresh_from_db()
    return a, b, c


def report_on(envelope, day: date):
    envelope.refresh_from_db()
    with travel(day):
        return reconciliation.reconcile(envelope, today=day)


def column(report, name):
    return [getattr(month, name) for month in report.months]


def check(report, key):
    return next(check for check in report.checks if check.key == key)


def plain(text: str) -> str:
    """French amounts use no-break spaces ("1 000,00 €"): plain ones, to compare."""
    return text.replace("\N{NO-BREAK SPACE}", " ").replace("\N{NARROW NO-BREAK SPACE}", " ")


def problems(report, key):
    return [(p.loan_number, plain(p.text)) for p in check(report, key).problems]


# --- The table ------------------------------------------------------------------------------


def test_the_table_of_a_small_ledger(envelope, ledger_2024):
    report = report_on(envelope, date(2024, 6, 15))
    assert [month.month for month in report.months] == [date(2024, m, 1) for m in range(1, 7)]
    assert column(report, "loans_active") == [1, 3, 3, 3, 2, 2]
    assert column(report, "periods_started") == [1, 3, 3, 2, 2, 0]
    assert column(report, "periods_expected") == [1, 3, 3, 2, 2, 0]
    assert column(report, "charged") == [E("7"), E("21"), E("21"), E("14"), E("14"), E("0")]
    # March: A's 35 €; April: C's cheque, its copy and the copy's reversal.
    assert column(report, "paid") == [E("0"), E("0"), E("35"), E("14"), E("0"), E("0")]
    assert column(report, "waived") == [E("0"), E("0"), E("0"), E("7"), E("0"), E("0")]
    assert column(report, "outstanding") == [E("7"), E("28"), E("14"), E("7"), E("21"), E("21")]
    assert column(report, "drawn") == [E("30"), E("90"), E("90"), E("60"), E("60"), E("0")]
    assert column(report, "cumulative_drawn") == [
        E("30"),
        E("120"),
        E("210"),
        E("270"),
        E("330"),
        E("330"),
    ]
    assert column(report, "remaining") == [
        E("970"),
        E("880"),
        E("790"),
        E("730"),
        E("670"),
        E("670"),
    ]
    totals = report.totals
    assert (totals.loans_active, totals.periods_started, totals.periods_expected) == (3, 11, 11)
    assert (totals.charged, totals.paid, totals.waived, totals.outstanding) == (
        E("77"),
        E("49"),
        E("7"),
        E("21"),
    )
    assert (totals.drawn, totals.cumulative_drawn, totals.remaining) == (
        E("330"),
        E("330"),
        E("670"),
    )
    assert report.balance == E("21")


def test_every_amount_is_a_decimal(envelope, ledger_2024):
    report = report_on(envelope, date(2024, 6, 15))
    money = ["charged", "paid", "waived", "outstanding", "drawn", "cumulative_drawn", "remaining"]
    for line in [*report.months, report.totals]:
        for name in money:
            assert type(getattr(line, name)) is Decimal, name
    forecast = report.forecast
    for month in forecast.months:
        for value in (
            month.committed,
            month.new_loans,
            month.cumulative_committed,
            month.cumulative_with_new,
        ):
            assert type(value) is Decimal
    assert type(forecast.new_loans_per_month) is Decimal
    assert type(report.figures.committed) is Decimal
    assert type(report.balance) is Decimal


def test_the_figures_are_the_envelope_pages(envelope, ledger_2024):
    report = report_on(envelope, date(2024, 6, 15))
    with travel(date(2024, 6, 15)):
        expected = envelopes.figures(envelope)
    assert (report.figures.consumed, report.figures.committed) == (
        expected.consumed,
        expected.committed,
    )
    assert report.figures.committed == E("90")  # A's 6th month, C's 5th and 6th


def test_a_charge_reversed_by_hand_counts_in_the_month_and_is_flagged(alice, envelope, ledger_2024):
    a, _b, _c = ledger_2024
    charge = FeeEntry.objects.get(loan=a, kind=Kind.CHARGE, period=2)  # 29 February
    # The service refuses to reverse a month begun (a waiver forgoes it); a reversal written
    # around it, as by hand in the database, is still reported where it belongs.
    FeeEntry.objects.create(
        loan_id=charge.loan_id,
        kind=Kind.REVERSAL,
        amount=-charge.amount,
        entry_date=date(2024, 5, 20),
        envelope_id=charge.envelope_id,
        envelope_amount=-charge.envelope_amount,
        reverses=charge,
        reason="Erreur",
        recorded_at=datetime(2024, 5, 20, 10, tzinfo=timezone.get_current_timezone()),
    )
    report = report_on(envelope, date(2024, 6, 15))
    assert column(report, "charged")[4] == E("7")  # May: 14 € charged, 7 € reversed
    assert column(report, "drawn")[4] == E("30")
    # February has one period charged fewer, by the month the period began.
    assert column(report, "periods_started")[1] == 2
    assert column(report, "periods_expected")[1] == 3
    assert report.totals.charged == E("70")
    assert report.totals.cumulative_drawn == E("300")
    assert check(report, "ties_out").ok
    assert check(report, "draws").ok
    # Billing never charges that month again (one charge per month): the check says so.
    assert problems(report, "one_charge") == [
        (
            a.number,
            "Mois 2 commencé mais non facturé. Une facturation contre-passée n’est pas "
            "refacturée (une seule par mois) : accordez une remise plutôt que de "
            "contre-passer la facturation.",
        )
    ]


def test_months_before_the_envelope_begins_show_nothing(envelope):
    report = report_on(envelope, date(2023, 12, 10))
    assert report.months == []
    assert report.totals.charged == E("0")
    assert report.ok


def test_an_envelope_that_ended_shows_its_months_to_its_end(envelope, ledger_2024):
    report = report_on(envelope, date(2025, 3, 1))
    # Loans that run past the end draw on the envelope after it: nothing billed here after
    # 15 June, so the table ends with the envelope.
    assert report.months[-1].month == date(2024, 12, 1)
    assert report.forecast.ended


# --- Month boundaries -------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 12, 31)),
    length=st.integers(min_value=0, max_value=500),
    returned_after=st.one_of(st.none(), st.integers(min_value=0, max_value=500)),
    handed_over=st.booleans(),
)
def test_the_fast_count_of_months_begun_is_the_models(start, length, returned_after, handed_over):
    until = start + timedelta(days=length - 100)
    returned = None if returned_after is None else start + timedelta(days=returned_after)
    loan = Loan(
        start_date=start,
        return_date=returned,
        handed_over_at=moment(start) if handed_over else None,
    )
    assert reconciliation.periods_due(start, returned, handed_over, until) == loan.periods_due(
        until=until
    )


@pytest.mark.parametrize(
    ("day", "number"),
    [(date(2024, 1, 31), 2024 * 12), (date(2024, 2, 29), 2024 * 12 + 1)],
)
def test_months_are_numbered_in_order(day, number):
    assert reconciliation.month_number(day) == number
    assert reconciliation.month_first_day(number) == day.replace(day=1)
    # Period k of a loan begins in month m + k - 1, also from the 31st.
    for k in range(1, 14):
        assert reconciliation.month_number(add_months(day, k - 1)) == number + k - 1


def test_a_loan_from_the_31st_charges_february_on_the_29th(envelope, ledger_2024):
    a, _b, _c = ledger_2024
    assert list(
        FeeEntry.objects.filter(loan=a, kind=Kind.CHARGE)
        .order_by("period")
        .values_list("entry_date", flat=True)
    ) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    report = report_on(envelope, date(2024, 6, 15))
    # One period begun in every month from January to May: none skipped, none doubled.
    assert [month.periods_started for month in report.months][:5] == [1, 3, 3, 2, 2]


def test_a_return_on_the_first_day_of_a_month_is_active_that_month_without_beginning_it(
    envelope, ledger_2024
):
    _a, b, _c = ledger_2024
    assert b.return_date == date(2024, 4, 1)
    report = report_on(envelope, date(2024, 6, 15))
    april = report.months[3]
    assert april.loans_active == 3  # B was still out on 1 April
    assert april.periods_started == april.periods_expected == 2  # A and C, not B
    assert FeeEntry.objects.filter(loan=b, kind=Kind.CHARGE).count() == 2


def test_a_month_that_begins_on_its_last_day_counts_in_that_month(envelope, ledger_2024):
    # A's sixth month begins on 30 June: not yet on the 29th, on the 30th.
    report = report_on(envelope, date(2024, 6, 29))
    assert report.months[-1].periods_expected == 1  # C's, on the 29th
    with travel(date(2024, 6, 30), 23):
        ledger.bill_fees(until=date(2024, 6, 30))
    report = report_on(envelope, date(2024, 6, 30))
    assert report.months[-1].periods_expected == report.months[-1].periods_started == 2
    assert report.ok


# --- The checks ---------------------------------------------------------------------------------


def test_the_checks_are_clean_on_a_sound_ledger(envelope, ledger_2024):
    report = report_on(envelope, date(2024, 6, 15))
    assert [(c.key, c.ok) for c in report.checks] == [
        ("one_charge", True),
        ("draws", True),
        ("not_begun", True),
        ("ties_out", True),
    ]
    assert report.ok and report.problem_count == 0


def test_months_begun_and_not_billed_are_flagged_until_billing_runs(alice, envelope, course):
    loan = hand_over(alice, course, date(2024, 3, 12), date(2024, 8, 11), last_name="Delta")
    # Two months later, the nightly billing has not run.
    with travel(date(2024, 5, 20)):
        report = reconciliation.reconcile(envelope, today=date(2024, 5, 20))
        assert problems(report, "one_charge") == [
            (loan.number, "Mois 2, 3 commencés mais non facturés.")
        ]
        assert check(report, "one_charge").count == 1
        assert report.months[-1].periods_expected == 1
        assert report.months[-1].periods_started == 0
        ledger.bill_fees(until=date(2024, 5, 20))
        report = reconciliation.reconcile(envelope, today=date(2024, 5, 20))
    assert report.ok


def bulk_line(loan, envelope, **fields):
    """A ledger line written straight to the table, as a bug or a hand in the database
    would: what the report is there to catch."""
    fields.setdefault("kind", Kind.CHARGE)
    fields.setdefault("amount", E("7.00"))
    fields.setdefault("envelope", envelope)
    fields.setdefault("envelope_amount", envelope.funder_share if envelope else E("0"))
    fields.setdefault("recorded_at", timezone.now())
    (line,) = FeeEntry.objects.bulk_create([FeeEntry(loan=loan, **fields)])
    return line


def test_a_charge_drawing_the_wrong_amount_is_flagged(envelope, ledger_2024):
    a, _b, _c = ledger_2024
    # A's sixth month (30 June) charged by hand with 25 € drawn; billing does the rest.
    bulk_line(a, envelope, period=6, entry_date=date(2024, 6, 30), envelope_amount=E("25.00"))
    with travel(date(2024, 7, 5)):
        ledger.bill_fees(until=date(2024, 7, 5))
    report = report_on(envelope, date(2024, 7, 5))
    assert problems(report, "draws") == [
        (a.number, "Le mois 6 prélève 25,00 € au lieu de 30,00 €.")
    ]
    assert check(report, "draws").count == 1
    assert check(report, "one_charge").ok and check(report, "not_begun").ok
    assert check(report, "ties_out").ok  # the table and the envelope's page agree on 25 €


def test_a_charge_for_a_month_not_begun_is_flagged(envelope, ledger_2024):
    _a, b, _c = ledger_2024
    # B, back after 2 months: a charge for its 9th month, dated in the future too.
    bulk_line(b, envelope, period=9, entry_date=add_months(b.start_date, 8))
    report = report_on(envelope, date(2024, 6, 15))
    assert problems(report, "not_begun") == [
        (b.number, "Mois 9 facturé, mais seuls 2 mois ont commencé.")
    ]
    assert check(report, "not_begun").count == 1  # not counted again as dated in the future
    assert check(report, "one_charge").ok
    # The table reaches the charge's month, and still ties out.
    assert report.months[-1].month == date(2024, 10, 1)
    assert check(report, "ties_out").ok


def test_a_charge_dated_in_the_future_is_flagged(envelope, ledger_2024):
    a, _b, _c = ledger_2024
    bulk_line(a, envelope, period=6, entry_date=date(2024, 6, 30))
    report = report_on(envelope, date(2024, 6, 15))
    assert problems(report, "not_begun") == [
        (a.number, "Mois 6 facturé, mais seuls 5 mois ont commencé.")
    ]


def test_a_line_of_another_envelopes_loan_drawing_on_this_one_is_flagged(
    alice, envelope, ledger_2024, agora
):
    other = BudgetEnvelopeFactory(
        name="Autre", start_date=date(2024, 1, 1), end_date=date(2024, 12, 31)
    )
    with travel(date(2024, 5, 2)):
        course = CourseFactory(training_body=agora, start_date=date(2024, 5, 2))
        loan = make_loan(TraineeFactory(course=course), by=alice, status="active", envelope=other)
    bulk_line(loan, envelope, period=2, entry_date=date(2024, 6, 2))
    report = report_on(envelope, date(2024, 6, 15))
    assert problems(report, "draws") == [
        (loan.number, "Une ligne d’un prêt d’une autre enveloppe prélève 30,00 € sur celle-ci.")
    ]
    # The envelope's page counts it as consumed; this envelope's loans do not.
    assert [plain(p.text) for p in check(report, "ties_out").problems] == [
        "Le tableau prélève 330,00 € ; la page de l’enveloppe indique 360,00 € consommés."
    ]


def test_a_reversal_that_does_not_cancel_its_line_is_flagged(alice, envelope, ledger_2024):
    a, _b, c = ledger_2024
    charge = FeeEntry.objects.get(loan=a, kind=Kind.CHARGE, period=5)
    bulk_line(
        a,
        envelope,
        kind=Kind.REVERSAL,
        amount=E("-7.00"),
        envelope_amount=E("0.00"),
        reverses=charge,
        entry_date=date(2024, 6, 10),
    )
    payment = FeeEntry.objects.get(loan=c, kind=Kind.PAYMENT, reversed_by__isnull=True)
    bulk_line(
        c,
        None,
        kind=Kind.REVERSAL,
        amount=E("10.00"),
        reverses=payment,
        entry_date=date(2024, 6, 11),
    )
    report = report_on(envelope, date(2024, 6, 15))
    assert problems(report, "draws") == [
        (
            a.number,
            "La contre-passation du mois 5 le 10/06/2024 restitue 0,00 € au lieu de 30,00 €.",
        )
    ]
    assert problems(report, "ties_out") == [
        (
            c.number,
            "La contre-passation du 11/06/2024 est de 10,00 € : elle n’annule pas les "
            "-14,00 € de la ligne qu’elle contre-passe.",
        )
    ]
    # The month's payments are net of the (wrong) reversal: the balance still ties.
    assert report.months[-1].paid == E("-10")


def test_problems_past_fifty_are_counted_not_listed(alice, envelope, course):
    with travel(date(2024, 3, 1)):
        loans = [
            make_loan(TraineeFactory(course=course), by=alice, status="active") for _ in range(3)
        ]
    original = reconciliation.SHOWN
    reconciliation.SHOWN = 2
    try:
        report = report_on(envelope, date(2024, 5, 2))
    finally:
        reconciliation.SHOWN = original
    one_charge = check(report, "one_charge")
    assert one_charge.count == 3
    assert len(one_charge.problems) == 2 and one_charge.not_shown == 1
    assert {p.loan_number for p in one_charge.problems} <= {loan.number for loan in loans}


# --- The forecast -------------------------------------------------------------------------------


def test_the_forecast_places_the_committed_months_where_they_begin(envelope, ledger_2024):
    forecast = report_on(envelope, date(2024, 6, 15)).forecast
    assert [month.month for month in forecast.months] == [date(2024, m, 1) for m in range(6, 13)]
    # June: A's 6th and C's 5th months; July: C's 6th.
    assert [month.committed for month in forecast.months] == [E("60"), E("30")] + [E("0")] * 5
    assert forecast.months[-1].cumulative_committed == E("420")
    assert forecast.committed == E("90")
    assert forecast.run_out_committed is None
    # No loan began in March, April or May: no new loans in the forecast.
    assert forecast.trend_loans == 0
    assert forecast.months[-1].cumulative_with_new == E("420")


def test_the_forecast_names_the_month_the_envelope_runs_out(envelope, ledger_2024):
    BudgetEnvelope.objects.filter(pk=envelope.pk).update(amount=E("400.00"))
    forecast = report_on(envelope, date(2024, 6, 15)).forecast
    # 330 € drawn, 390 € with June's months, 420 € with July's.
    assert forecast.run_out_committed == date(2024, 7, 1)
    assert forecast.ran_out is None


def test_the_forecast_agrees_with_the_envelopes_page(envelope, ledger_2024):
    from loans.envelope_stats import envelope_stats

    BudgetEnvelope.objects.filter(pk=envelope.pk).update(amount=E("400.00"))
    report = report_on(envelope, date(2024, 6, 15))
    stats = envelope_stats(envelope, today=date(2024, 6, 15))
    assert stats.committed_runs_out_in == report.forecast.run_out_committed
    page = {line.month: line.forecast for line in stats.months if line.forecast is not None}
    assert {month.month: month.cumulative_committed for month in report.forecast.months} == page
    assert (stats.figures.consumed, stats.figures.committed) == (
        report.figures.consumed,
        report.figures.committed,
    )


def test_an_envelope_already_overdrawn_says_since_when(envelope, ledger_2024):
    BudgetEnvelope.objects.filter(pk=envelope.pk).update(amount=E("200.00"))
    report = report_on(envelope, date(2024, 6, 15))
    assert report.forecast.ran_out == date(2024, 3, 1)  # 210 € drawn by the end of March
    assert report.forecast.run_out_committed is None
    assert report.months[-1].remaining == E("-130")


def test_the_forecast_adds_new_loans_at_the_pace_of_the_last_three_months(
    alice, course, envelope, ledger_2024
):
    # Two loans begun in March to May: D from 10 April (5 months), E from 6 May (3 months).
    hand_over(alice, course, date(2024, 4, 10), date(2024, 9, 9), last_name="Delta")
    hand_over(alice, course, date(2024, 5, 6), date(2024, 7, 6), last_name="Echo")
    with travel(date(2024, 6, 15)):
        ledger.bill_fees(until=date(2024, 6, 15))
    forecast = report_on(envelope, date(2024, 6, 15)).forecast
    assert forecast.consumed == E("480")  # 330 € + D's 3 months + E's 2
    assert forecast.trend_loans == 2
    assert forecast.new_loans_per_month == E("0.7")
    assert forecast.new_loan_months == E("4.0")
    # June: A's 6th and C's 5th months; July: C's 6th, D's 4th, E's 3rd; August: D's 5th.
    assert [month.committed for month in forecast.months][:4] == [
        E("60"),
        E("90"),
        E("30"),
        E("0"),
    ]
    assert forecast.run_out_committed is None
    assert forecast.end_committed == E("660")
    # From July, each month's new loans draw 2/3 × 30 € in each of their 4 months; those
    # begun by December run on after the envelope's end.
    assert [(month.month, month.new_loans) for month in forecast.months] == [
        (date(2024, 6, 1), E("0.00")),
        (date(2024, 7, 1), E("20.00")),
        (date(2024, 8, 1), E("40.00")),
        (date(2024, 9, 1), E("60.00")),
        (date(2024, 10, 1), E("80.00")),
        (date(2024, 11, 1), E("80.00")),
        (date(2024, 12, 1), E("80.00")),
        (date(2025, 1, 1), E("60.00")),
        (date(2025, 2, 1), E("40.00")),
        (date(2025, 3, 1), E("20.00")),
    ]
    assert [month.after_end for month in forecast.months][-3:] == [True] * 3
    # 660 € committed, and 360 € of new loans by December: past the 1 000 €.
    assert forecast.months[6].cumulative_with_new == E("1020.00")
    assert forecast.run_out_with_new == date(2024, 12, 1)
    assert forecast.end_with_new == E("1140.00")


def test_the_forecast_of_an_ended_envelope_is_empty(envelope, ledger_2024):
    forecast = report_on(envelope, date(2025, 3, 1)).forecast
    # A and C are still out (never returned in this ledger): their planned months remain.
    assert forecast.ended
    assert sum((month.committed for month in forecast.months), E("0")) == forecast.committed


# --- The page -------------------------------------------------------------------------------------


def test_it_shows_the_table_the_checks_and_the_forecast(client, alice, envelope, ledger_2024):
    client.force_login(alice)
    with travel(date(2024, 6, 15)):
        response = client.get(reverse("loans:reconciliation", args=[envelope.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Rapprochement" in page
    assert "77,00\N{NO-BREAK SPACE}€" in page  # fees charged
    assert "670,00\N{NO-BREAK SPACE}€" in page  # remaining
    assert page.count('data-check-ok="true"') == 4
    assert "jusqu’à son terme" in page
    for name in ("reconciliation_csv", "reconciliation_xlsx", "funder_report"):
        assert reverse(f"loans:{name}", args=[envelope.pk]) in page


def test_the_page_shows_the_problems_in_red(client, alice, envelope, course):
    loan = hand_over(alice, course, date(2024, 3, 12), date(2024, 8, 11))
    client.force_login(alice)
    with travel(date(2024, 5, 20)):
        response = client.get(reverse("loans:reconciliation", args=[envelope.pk]))
    page = response.content.decode()
    assert 'data-check-ok="false"' in page
    assert loan.number in page and loan.get_absolute_url() in page
    assert "Mois 2, 3 commencés mais non facturés." in page


def test_coordinators_and_strangers_cannot_see_it(client, bob, envelope):
    url = reverse("loans:reconciliation", args=[envelope.pk])
    client.force_login(bob)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302


def test_an_unknown_envelope_answers_404(client, alice, envelope):
    client.force_login(alice)
    assert client.get(reverse("loans:reconciliation", args=[envelope.pk + 99])).status_code == 404


def test_the_page_query_count_does_not_grow_with_the_loans(client, alice, envelope, course):
    BudgetEnvelope.objects.filter(pk=envelope.pk).update(amount=E("100000.00"))

    def loans(count):
        with travel(date(2024, 3, 4)):
            for _ in range(count):
                make_loan(TraineeFactory(course=course), by=alice, status="active")

    client.force_login(alice)
    url = reverse("loans:reconciliation", args=[envelope.pk])
    loans(3)
    with travel(date(2024, 3, 20)), CaptureQueriesContext(connection) as small:
        client.get(url)
    loans(27)
    with travel(date(2024, 3, 20)), CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert response.context["report"].months[-1].loans_active == 30
    assert len(small) == len(large), [query["sql"] for query in large.captured_queries]
