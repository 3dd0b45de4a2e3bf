"""The reconciliation of a budget envelope: month by month, what the loans owed, what the
ledger charged, what the trainees paid and what the funder's envelope paid for, with the
checks that the ledger and the loans agree, and a forecast to the envelope's end.

DESIGN.md: Money. Everything is read by four queries, whatever the number of loans: the
ledger is summed by day in SQL (a few thousand rows at most) and folded into months here;
the loans come back as one row each with their charges counted in SQL, and their months are
worked out in one pass with arithmetic on month numbers, not one date at a time. 30,000
loans in one envelope with 160,000 ledger lines take about 170 ms on PostgreSQL and 260 ms
on SQLite; `python manage.py bench_money` measures it on the design-scale dataset.

A reversal counts in the column of the line it cancels, on its own date: a charge reversed
lowers the fees charged (and the drawing) of the month it was reversed in, a payment typed
twice and reversed lowers the payments of its month.

Amounts are `Decimal` throughout.
"""

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.db import connections
from django.db.models import CharField, Count, FilteredRelation, Func, Max, Q, Sum
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from defis.money import format_euros

from . import envelopes
from .models import BudgetEnvelope, FeeEntry, Loan

Kind = FeeEntry.Kind
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
ONE_DAY = timedelta(days=1)
# A check lists this many of its problems; the rest are counted.
SHOWN = 50
# The pace of new loans in the forecast: the average of the last complete months.
TREND_MONTHS = 3
# As plain strings: compared once per loan, 30,000 times.
HANDED_OVER = frozenset({Loan.Status.ACTIVE.value, Loan.Status.CLOSED.value})
OPEN = frozenset(status.value for status in Loan.OPEN)


# --- Months as numbers ------------------------------------------------------------------------


def month_number(day: date) -> int:
    """Months counted from year 0: consecutive months are consecutive numbers, and the
    period k of a loan that began in month m begins in month m + k - 1 (a period's start is
    clamped to the end of a short month, never moved to the next one)."""
    return day.year * 12 + day.month - 1


def month_first_day(number: int) -> date:
    return date(number // 12, number % 12 + 1, 1)


def month_last_day(number: int) -> date:
    first = month_first_day(number)
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def month_label(day: date) -> str:
    """ "March 2027" / "mars 2027"."""
    return date_format(day, "F Y")


def periods_due(start: date, returned: date | None, handed_over: bool, until: date) -> int:
    """`Loan.periods_due` from the loan's columns, without building a model instance (the
    report counts them for every loan of the envelope). The tests hold it to the model's."""
    if not handed_over or until < start:
        return 0
    last_day = until
    if returned is not None and returned <= until:
        last_day = returned - ONE_DAY
        if last_day < start:
            return 1
    count = (last_day.year - start.year) * 12 + last_day.month - start.month + 1
    # The last period counted begins in last_day's month, on the start's day of the month
    # or the month's last day when it is shorter: it may begin after last_day.
    if start.day > last_day.day and (
        last_day.day < 28
        or min(start.day, calendar.monthrange(last_day.year, last_day.month)[1]) > last_day.day
    ):
        count -= 1
    return count if count > 1 else 1


def _euros(value) -> Decimal:
    return (value or ZERO).quantize(CENT, rounding=ROUND_HALF_UP)


def _day(value: date) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


# --- What the report holds --------------------------------------------------------------------


@dataclass
class Line:
    """A month of the table, or its totals."""

    loans_active: int = 0
    periods_started: int = 0  # charged and not reversed, by the month the period begins
    periods_expected: int = 0  # the same, from the loans' dates
    charged: Decimal = ZERO
    paid: Decimal = ZERO
    waived: Decimal = ZERO
    outstanding: Decimal = ZERO
    drawn: Decimal = ZERO
    cumulative_drawn: Decimal = ZERO
    remaining: Decimal = ZERO

    @property
    def periods_differ(self) -> bool:
        return self.periods_started != self.periods_expected


@dataclass
class Month(Line):
    month: date = date.min
    # Outside the envelope's dates: a loan that runs on after its end still draws on it.
    in_period: bool = True


@dataclass
class Problem:
    text: str
    loan_id: int | None = None
    loan_number: str = ""


@dataclass
class Check:
    key: str
    title: str
    description: str
    problems: list[Problem] = field(default_factory=list)
    count: int = 0

    @property
    def ok(self) -> bool:
        return self.count == 0

    @property
    def not_shown(self) -> int:
        return max(self.count - len(self.problems), 0)


@dataclass
class ForecastMonth:
    month: date
    committed: Decimal  # the planned periods of open loans that begin this month
    new_loans: Decimal  # new loans at the recent pace
    cumulative_committed: Decimal  # drawn so far + committed up to this month
    cumulative_with_new: Decimal
    after_end: bool = False


@dataclass
class Forecast:
    months: list[ForecastMonth]
    amount: Decimal
    consumed: Decimal
    committed: Decimal
    trend_loans: int  # loans handed over in the last TREND_MONTHS complete months
    new_loans_per_month: Decimal
    new_loan_months: Decimal  # their average planned length
    run_out_committed: date | None
    run_out_with_new: date | None
    ran_out: date | None  # already drawn beyond the amount, since that month
    ended: bool

    @property
    def new_loans_total(self) -> Decimal:
        return sum((month.new_loans for month in self.months), ZERO)

    @property
    def end_committed(self) -> Decimal:
        return self.months[-1].cumulative_committed if self.months else self.consumed

    @property
    def end_with_new(self) -> Decimal:
        return self.months[-1].cumulative_with_new if self.months else self.consumed


@dataclass
class Report:
    envelope: BudgetEnvelope
    today: date
    months: list[Month]
    totals: Line
    checks: list[Check]
    forecast: Forecast
    figures: envelopes.Figures
    balance: Decimal  # the ledger's own sum of amounts

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def problem_count(self) -> int:
        return sum(check.count for check in self.checks)

    @property
    def loan_months_charged(self) -> int:
        return self.totals.periods_started

    @property
    def current_month(self) -> date:
        return self.today.replace(day=1)

    def chart_points(self) -> list[tuple[date, Decimal | None, Decimal | None]]:
        """What loans.charts.burndown_svg draws: the cumulative drawn month by month up to
        this one, then the forecast of the committed loans (as on the envelope's page)."""
        points = {}
        for month in self.months:
            if month.month <= self.current_month:
                points[month.month] = [month.cumulative_drawn, None]
        for month in self.forecast.months:
            points.setdefault(month.month, [None, None])[1] = month.cumulative_committed
        return [(month, *values) for month, values in sorted(points.items())]

    @property
    def pace(self) -> Decimal | None:
        """The average drawn per month over the last complete months (the dotted line of
        the chart, as on the envelope's page)."""
        recent = [
            month.drawn
            for month in self.months
            if month.month < self.current_month
            and month_number(month.month) >= month_number(self.today) - TREND_MONTHS
        ]
        if not recent:
            return None
        return _euros(sum(recent, ZERO) / len(recent))


# --- Reading ----------------------------------------------------------------------------------
# Four queries, whatever the number of loans and lines; two more only when a check fails and
# its problems are listed.


@dataclass(slots=True)
class LoanRow:
    """A loan the report looks at again: one whose charges are not simply its months begun,
    or an open one (for the forecast)."""

    pk: int
    status: str
    start: date
    planned: int
    charges: int  # charge lines, reversed or not
    last_period: int  # the highest period charged (0 when none)
    due: int  # periods begun by the report's day


class _DateAsRead(Func):
    """A date column read without Django's parsing. SQLite keeps a date as its ISO text,
    and its driver turns each value of a `date` column into a `date` through three Python
    calls (8 ms of the report's 120 on SQLite for the 31,000 dates of 15,500 loans): read
    as text there, `_scan` parses each in one C call. PostgreSQL's driver gives `date`
    objects at no such cost."""

    arity = 1
    output_field = CharField()

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="CAST(%(expressions)s AS text)")


def _loan_rows(envelope: BudgetEnvelope):
    """One row per loan of the envelope (cancelled ones never owed anything), with its
    charges counted in SQL: joined to its charges only, not to every line. The dates may
    come as text: see `_DateAsRead`."""
    return (
        Loan.objects.filter(envelope=envelope)
        .exclude(status=Loan.Status.CANCELLED)
        .order_by()
        .alias(
            charge_lines=FilteredRelation("fee_entries", condition=Q(fee_entries__kind=Kind.CHARGE))
        )
        # values_list before annotate: grouped by these columns only.
        .values_list(
            "pk",
            "status",
            _DateAsRead("start_date"),
            _DateAsRead("return_date"),
            "planned_periods",
        )
        .annotate(charges=Count("charge_lines"), last_period=Max("charge_lines__period"))
    )


@dataclass
class LoanScan:
    """The envelope's loans, read in one pass over their rows (30,000 at the design scale:
    one pass, no model instance, arithmetic on month numbers)."""

    # Month number -> +1 / -1 at the ends of each loan's run of months, added up by month:
    active_from: dict = field(default_factory=lambda: defaultdict(int))
    expected_from: dict = field(default_factory=lambda: defaultdict(int))
    in_table: int = 0  # handed over, and out during at least one month of the table
    to_check: list[LoanRow] = field(default_factory=list)
    open_loans: list[LoanRow] = field(default_factory=list)
    committed_periods: int = 0  # planned and not charged yet, as envelopes.figures counts
    recent: int = 0  # handed over in the last TREND_MONTHS complete months
    recent_periods: int = 0  # their planned periods


def _scan(rows, *, today: date, first: int, last: int, now: int, reversed_periods) -> LoanScan:
    scan = LoanScan()
    active_from, expected_from = scan.active_from, scan.expected_from
    today_number = month_number(today)
    recent_from = now - TREND_MONTHS
    in_table = recent = recent_periods = 0
    for pk, status, start, returned, planned, charges, last_period in rows:
        if isinstance(start, str):  # SQLite: see _DateAsRead
            start = date.fromisoformat(start)
            returned = returned and date.fromisoformat(returned)
        last_period = last_period or 0
        begins = start.year * 12 + start.month - 1
        due = 0
        if status in HANDED_OVER:
            due = periods_due(start, returned, True, today)
            ends = returned.year * 12 + returned.month - 1 if returned else today_number
            active_from[begins] += 1
            active_from[ends + 1] -= 1
            expected_from[begins] += 1
            expected_from[begins + due] -= 1
            if begins <= last and ends >= first:
                in_table += 1
            if recent_from <= begins < now:
                recent += 1
                recent_periods += planned
        # The usual case: months 1..due charged once, none reversed.
        usual = charges == last_period == due and pk not in reversed_periods
        is_open = status in OPEN
        if usual and not is_open:
            continue
        row = LoanRow(pk, status, start, planned, charges, last_period, due)
        if not usual:
            scan.to_check.append(row)
        if is_open:
            scan.open_loans.append(row)
            standing = charges - len(reversed_periods.get(pk, ()))
            scan.committed_periods += max(planned - standing, 0)
    scan.in_table, scan.recent, scan.recent_periods = in_table, recent, recent_periods
    return scan


def _driver_rows(queryset) -> list[tuple]:
    """The rows of a `values_list` queryset as the database driver gives them: Django's
    iteration builds and converts each row again in Python (8 ms of the report's 100 for the
    15,500 loans of an envelope at the design scale). For columns that need no conversion:
    integers, text, and dates on PostgreSQL (on SQLite, see `_DateAsRead`)."""
    sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _reversals(envelope: BudgetEnvelope):
    """Every reversal of the envelope's loans, with the line it cancels (few rows), as
    named rows: `row.amount`, `row.reverses__kind`…"""
    return list(
        FeeEntry.objects.filter(loan__envelope=envelope, kind=Kind.REVERSAL)
        .order_by("entry_date", "pk")
        .values_list(
            "loan_id",
            "entry_date",
            "amount",
            "envelope_id",
            "envelope_amount",
            "reverses__kind",
            "reverses__period",
            "reverses__entry_date",
            "reverses__amount",
            "reverses__envelope_id",
            "reverses__envelope_amount",
            named=True,
        )
    )


def _daily(envelope: BudgetEnvelope):
    """The ledger of the envelope's loans summed per day and kind: a few thousand rows at
    most, whatever the number of lines."""
    right_draw = Q(envelope=envelope, envelope_amount=envelope.funder_share)
    return list(
        FeeEntry.objects.filter(loan__envelope=envelope)
        .order_by()
        .values_list("entry_date", "kind")
        .annotate(
            amount=Sum("amount"),
            drawn=Sum("envelope_amount", filter=Q(envelope=envelope)),
            count=Count("pk"),
            wrong_draws=Count("pk", filter=Q(kind=Kind.CHARGE) & ~right_draw),
            drawing=Count("pk", filter=Q(envelope=envelope)),
        )
    )


def _consumed(envelope: BudgetEnvelope) -> tuple[Decimal, int]:
    """What the envelope's page calls consumed (every line drawing on it, whatever its
    loan), and how many lines draw on it."""
    result = FeeEntry.objects.filter(envelope=envelope).aggregate(
        total=Sum("envelope_amount"), lines=Count("pk")
    )
    return result["total"] or ZERO, result["lines"]


# --- The report -------------------------------------------------------------------------------


def reconcile(envelope: BudgetEnvelope, *, today: date) -> Report:
    """The whole report on `envelope` as of `today`."""
    rows = _driver_rows(_loan_rows(envelope))
    reversals = _reversals(envelope)
    daily = _daily(envelope)
    consumed, drawing_lines = _consumed(envelope)

    # Charges reversed: by loan, their periods.
    reversed_periods = defaultdict(set)
    for row in reversals:
        if row.reverses__kind == Kind.CHARGE:
            reversed_periods[row.loan_id].add(row.reverses__period)

    first = month_number(envelope.start_date)
    last = month_number(min(today, envelope.end_date))
    if daily:
        # Widened to every month the ledger has a line in, so that the table adds up to it
        # all (a loan that runs on after the envelope's end still draws on it).
        days = [day for day, *_sums in daily]
        first = min(first, month_number(min(days)))
        last = max(last, month_number(max(days)))
    months = [
        Month(
            month=month_first_day(number),
            in_period=envelope.start_date <= month_last_day(number)
            and month_first_day(number) <= envelope.end_date,
        )
        for number in range(first, last + 1)
    ]

    def month_of(day: date) -> Month | None:
        index = month_number(day) - first
        return months[index] if 0 <= index < len(months) else None

    # The ledger, by month. Reversals are left out of the daily sums and counted from their
    # own rows, in the column of the line they cancel.
    balance = drawn_in_ledger = ZERO
    wrong_draws = own_drawing_lines = 0
    for day, kind, amount, drawn, count, wrong, drawing in daily:
        balance += amount
        drawn_in_ledger += drawn or ZERO
        wrong_draws += wrong
        own_drawing_lines += drawing
        month = month_of(day)
        if kind == Kind.CHARGE:
            month.charged += amount
            month.periods_started += count
            month.drawn += drawn or ZERO
        elif kind == Kind.PAYMENT:
            month.paid -= amount
        elif kind == Kind.WAIVER:
            month.waived -= amount
    for row in reversals:
        month = month_of(row.entry_date)
        if row.reverses__kind == Kind.CHARGE:
            month.charged += row.amount
            # The period no longer counts as charged, in the month it began.
            started = month_of(row.reverses__entry_date)
            if started is not None:
                started.periods_started -= 1
        elif row.reverses__kind == Kind.PAYMENT:
            month.paid -= row.amount
        elif row.reverses__kind == Kind.WAIVER:
            month.waived -= row.amount
        if row.envelope_id == envelope.pk:
            month.drawn += row.envelope_amount

    # The loans, by month: active (handed over by the month's last day, not back before its
    # first), and the periods their dates say have begun.
    now = max(month_number(today), month_number(envelope.start_date))  # the forecast's start
    scan = _scan(
        rows, today=today, first=first, last=last, now=now, reversed_periods=reversed_periods
    )
    active_from, expected_from = scan.active_from, scan.expected_from
    active = sum(delta for number, delta in active_from.items() if number < first)
    expected = sum(delta for number, delta in expected_from.items() if number < first)

    charged = paid = waived = drawn = ZERO
    for number, month in enumerate(months, start=first):
        active += active_from.get(number, 0)
        expected += expected_from.get(number, 0)
        month.loans_active = active
        month.periods_expected = expected
        charged += month.charged
        paid += month.paid
        waived += month.waived
        drawn += month.drawn
        month.outstanding = charged - paid - waived
        month.cumulative_drawn = drawn
        month.remaining = envelope.amount - drawn
    totals = Line(
        loans_active=scan.in_table,
        periods_started=sum(month.periods_started for month in months),
        periods_expected=sum(month.periods_expected for month in months),
        charged=charged,
        paid=paid,
        waived=waived,
        outstanding=charged - paid - waived,
        drawn=drawn,
        cumulative_drawn=drawn,
        remaining=envelope.amount - drawn,
    )

    # The envelope's figures as its page shows them (loans.envelopes.figures), from the rows
    # already read: committed = the planned periods of open loans not charged yet.
    figures = envelopes.Figures(
        envelope=envelope,
        consumed=consumed,
        committed=envelope.funder_share * scan.committed_periods,
    )
    checks = _checks(
        envelope,
        today=today,
        to_check=scan.to_check,
        reversals=reversals,
        reversed_periods=reversed_periods,
        daily=daily,
        wrong_draws=wrong_draws,
        foreign_lines=drawing_lines - own_drawing_lines,
        months=months,
        totals=totals,
        balance=balance,
        drawn_in_ledger=drawn_in_ledger,
        consumed=consumed,
    )
    forecast = _forecast(
        envelope,
        today=today,
        now=now,
        scan=scan,
        reversed_periods=reversed_periods,
        months=months,
        figures=figures,
    )
    return Report(
        envelope=envelope,
        today=today,
        months=months,
        totals=totals,
        checks=checks,
        forecast=forecast,
        figures=figures,
        balance=balance,
    )


# --- The checks -------------------------------------------------------------------------------


def _periods_text(periods) -> str:
    return ", ".join(str(period) for period in sorted(periods))


def _charged_periods(to_check: list[LoanRow], reversed_periods) -> tuple[dict, dict]:
    """(a) and (c): the periods charged and not reversed must be exactly 1..due. The scan
    passed over the loans whose charges number as many as their highest period and their
    months begun, none reversed. Periods of a loan are distinct (a unique constraint), so
    when a loan's charges number as many as its highest period they are 1..highest, and
    what is missing or in excess follows from the reversed ones; otherwise that loan's
    charges are read (those of the first loans only, when there are many: the others are
    counted)."""
    missing, excess, unread = {}, {}, []

    def compare(loan, charged):
        reversed_here = reversed_periods.get(loan.pk, set())
        standing = charged - reversed_here
        gaps = set(range(1, loan.due + 1)) - standing
        beyond = {period for period in standing if period > loan.due}
        if gaps:
            missing[loan.pk] = (gaps, loan.due, reversed_here & gaps)
        if beyond:
            excess[loan.pk] = (beyond, loan.due)

    for loan in to_check:
        if loan.charges == loan.last_period:
            compare(loan, set(range(1, loan.last_period + 1)))
        else:
            unread.append(loan)
    if unread:
        listed = unread[: SHOWN * 2]
        charged = defaultdict(set)
        for loan_id, period in FeeEntry.objects.filter(
            loan_id__in=[loan.pk for loan in listed], kind=Kind.CHARGE
        ).values_list("loan_id", "period"):
            charged[loan_id].add(period)
        for loan in listed:
            compare(loan, charged[loan.pk])
        for loan in unread[SHOWN * 2 :]:
            missing[loan.pk] = (None, loan.due, set())
    return missing, excess


def _checks(
    envelope,
    *,
    today,
    to_check,
    reversals,
    reversed_periods,
    daily,
    wrong_draws,
    foreign_lines,
    months,
    totals,
    balance,
    drawn_in_ledger,
    consumed,
) -> list[Check]:
    share = envelope.funder_share
    one_charge = Check(
        "one_charge",
        _("Every month begun is charged once"),
        _(
            "Every month begun up to today of every loan handed over has exactly one "
            "charge that was not reversed."
        ),
    )
    draws = Check(
        "draws",
        _("Every charge draws the funder’s share"),
        _(
            "Every charge draws %(share)s from this envelope, and only the charges of its "
            "own loans do; the reversal of a charge draws it back."
        )
        % {"share": format_euros(share)},
    )
    not_begun = Check(
        "not_begun",
        _("No charge for a month not begun"),
        _("No charge for a month that begins in the future or after the laptop came back."),
    )
    ties_out = Check(
        "ties_out",
        _("The figures tie out"),
        _(
            "The ledger’s balance equals the fees charged less the payments and the "
            "waivers; the months add up to the totals; the amount drawn is the envelope’s "
            "consumed amount."
        ),
    )

    missing, excess = _charged_periods(to_check, reversed_periods)

    # Charges dated in the future, whatever their period says (those already counted as
    # beyond the loan's months are not counted twice).
    future, future_unread = [], 0
    if any(kind == Kind.CHARGE and day > today for day, kind, *_sums in daily):
        dated_later = FeeEntry.objects.filter(
            loan__envelope=envelope,
            kind=Kind.CHARGE,
            entry_date__gt=today,
            reversed_by__isnull=True,
        ).order_by("entry_date", "pk")
        read = list(dated_later.values_list("loan_id", "period", "entry_date")[: SHOWN * 2])
        future = [
            (loan_id, period, day)
            for loan_id, period, day in read
            if period not in excess.get(loan_id, ((), 0))[0]
        ]
        if len(read) == SHOWN * 2:
            future_unread = dated_later.count() - len(read)

    # (b) The charges of the envelope's loans that draw wrongly (counted by day in SQL), and
    # the lines of other envelopes' loans that draw on this one (told by counting the lines
    # that draw on it). Listed only when there are some.
    wrong = []
    if wrong_draws or foreign_lines:
        right_draw = Q(envelope=envelope, envelope_amount=share)
        wrong = list(
            FeeEntry.objects.filter(
                (Q(loan__envelope=envelope, kind=Kind.CHARGE) & ~right_draw)
                | (Q(envelope=envelope) & ~Q(loan__envelope=envelope))
            )
            .order_by("loan_id", "pk")
            .values_list(
                "loan_id",
                "loan__envelope_id",
                "period",
                "envelope_id",
                "envelope__name",
                "envelope_amount",
            )[:SHOWN]
        )

    def add(check, loan_id, text, count=1):
        check.count += count
        if len(check.problems) < SHOWN:
            check.problems.append(Problem(text=text, loan_id=loan_id))

    for pk, (gaps, due, reversed_gaps) in missing.items():
        if gaps is None:
            text = _("%(due)s months begun: the charges do not match them.") % {"due": due}
        else:
            text = ngettext(
                "Month %(periods)s begun but not charged.",
                "Months %(periods)s begun but not charged.",
                len(gaps),
            ) % {"periods": _periods_text(gaps)}
            if reversed_gaps:
                text += " " + _(
                    "A reversed charge is not charged again (one charge per month): "
                    "waive the fee rather than reverse the charge."
                )
        add(one_charge, pk, text)

    for pk, (beyond, due) in excess.items():
        text = ngettext(
            "Month %(periods)s charged, but only %(due)s months have begun.",
            "Months %(periods)s charged, but only %(due)s months have begun.",
            len(beyond),
        ) % {"periods": _periods_text(beyond), "due": due}
        add(not_begun, pk, text)
    for loan_id, period, day in future:
        add(
            not_begun,
            loan_id,
            _("Month %(period)s charged on %(date)s, in the future.")
            % {"period": period, "date": _day(day)},
        )
    not_begun.count += future_unread

    for loan_id, loan_envelope_id, period, envelope_id, envelope_name, amount in wrong:
        if loan_envelope_id != envelope.pk:
            text = _("A line of a loan of another envelope draws %(amount)s on this one.") % {
                "amount": format_euros(amount)
            }
        elif envelope_id is None:
            text = _("Month %(period)s draws on no envelope.") % {"period": period}
        elif envelope_id != envelope.pk:
            text = _("Month %(period)s draws on another envelope (%(name)s).") % {
                "period": period,
                "name": envelope_name,
            }
        else:
            text = _("Month %(period)s draws %(amount)s instead of %(share)s.") % {
                "period": period,
                "amount": format_euros(amount),
                "share": format_euros(share),
            }
        add(draws, loan_id, text, count=0)
    draws.count += wrong_draws + foreign_lines

    for row in reversals:
        loan_id, day, amount, drawn = row.loan_id, row.entry_date, row.amount, row.envelope_amount
        period, reversed_amount = row.reverses__period, row.reverses__amount
        reversed_envelope, reversed_drawn = row.reverses__envelope_id, row.reverses__envelope_amount
        if row.reverses__kind == Kind.CHARGE and (
            row.envelope_id != reversed_envelope or drawn != -reversed_drawn
        ):
            add(
                draws,
                loan_id,
                _(
                    "The reversal of month %(period)s on %(date)s draws back %(drawn)s "
                    "instead of %(expected)s."
                )
                % {
                    "period": period,
                    "date": _day(day),
                    "drawn": format_euros(-drawn),
                    "expected": format_euros(reversed_drawn),
                },
            )
        if amount != -reversed_amount:
            add(
                ties_out,
                loan_id,
                _(
                    "The reversal of %(date)s is %(amount)s: it does not cancel the "
                    "%(reversed)s of the line it reverses."
                )
                % {
                    "date": _day(day),
                    "amount": format_euros(amount),
                    "reversed": format_euros(reversed_amount),
                },
            )

    # (d) The arithmetic.
    comparisons = [
        (
            balance,
            totals.charged - totals.paid - totals.waived,
            _(
                "The ledger’s balance is %(left)s; the fees charged less the payments and "
                "the waivers make %(right)s."
            ),
        ),
        (
            drawn_in_ledger,
            totals.cumulative_drawn,
            _("The ledger draws %(left)s on the envelope; the table adds up to %(right)s."),
        ),
        (
            totals.cumulative_drawn,
            consumed,
            _("The table draws %(left)s; the envelope’s page says %(right)s consumed."),
        ),
        (
            totals.outstanding,
            months[-1].outstanding if months else ZERO,
            _("The outstanding total is %(left)s; the last month ends with %(right)s."),
        ),
        *(
            (
                sum((getattr(month, name) for month in months), ZERO),
                getattr(totals, name),
                _("The months add up to %(left)s; the total says %(right)s."),
            )
            for name in ("charged", "paid", "waived", "drawn")
        ),
    ]
    for left, right, message in comparisons:
        if left != right:
            ties_out.count += 1
            ties_out.problems.append(
                Problem(text=message % {"left": format_euros(left), "right": format_euros(right)})
            )
    checks = [one_charge, draws, not_begun, ties_out]
    # The numbers of the loans named: one query for all the problems listed.
    listed = [problem for check in checks for problem in check.problems if problem.loan_id]
    if listed:
        numbers = dict(
            Loan.objects.filter(pk__in={problem.loan_id for problem in listed}).values_list(
                "pk", "number"
            )
        )
        for problem in listed:
            problem.loan_number = numbers.get(problem.loan_id, "")
    return checks


# --- The forecast -----------------------------------------------------------------------------


def _forecast(envelope, *, today, now, scan, reversed_periods, months, figures) -> Forecast:
    """From this month to the envelope's end: the planned periods of the open loans, in the
    months they begin (those already begun but not charged yet, this month), and, as a
    second line, new loans starting at the pace of the last complete months."""
    share = envelope.funder_share
    end = month_number(envelope.end_date)
    ended = today > envelope.end_date

    catch_up = 0  # periods begun and not charged yet: drawn at the next billing
    starts = defaultdict(int)  # periods to come, as +1 / -1 at the ends of each loan's run
    last_committed = now
    for loan in scan.open_loans:
        begins = month_number(loan.start)
        charged = loan.charges - len(reversed_periods.get(loan.pk, ()))
        # Periods charged + 1 .. planned begin in months begins + charged .. begins +
        # planned - 1.
        first, last = begins + charged, begins + loan.planned - 1
        if first > last:
            continue
        if first < now:
            catch_up += min(last, now - 1) - first + 1
            first = now
        if first <= last:
            starts[first] += 1
            starts[last + 1] -= 1
            last_committed = max(last_committed, last)

    recent, recent_periods = scan.recent, scan.recent_periods
    per_month = Decimal(recent) / TREND_MONTHS
    length = Decimal(recent_periods) / recent if recent else ZERO
    # This month's new loans are already in the ledger or among the open loans.
    cohorts_from, cohorts_to = now + 1, end
    if ended:
        # Only what open loans still commit is left to draw.
        last_month = last_committed if (catch_up or starts) else now - 1
    else:
        last_month = max(end, last_committed)
    ceiling = int(length.to_integral_value(rounding=ROUND_CEILING))
    if recent and cohorts_from <= cohorts_to:
        last_month = max(last_month, cohorts_to + ceiling - 1)

    rows = []
    running = 0
    cumulative_committed = cumulative_new = figures.consumed
    run_out_committed = run_out_with_new = None
    for number in range(now, last_month + 1):
        running += starts.get(number, 0)
        periods = running + (catch_up if number == now else 0)
        committed = share * periods
        # Each month's new loans draw the share in each of their first `length` months
        # (a fraction of it in the last one when the average length is not whole): only
        # the cohorts begun less than `length` months ago still draw.
        cohorts = ZERO
        if recent:
            youngest = min(number, cohorts_to)
            oldest = max(cohorts_from, number - ceiling + 1)
            for cohort in range(oldest, youngest + 1):
                cohorts += max(min(length - (number - cohort), Decimal(1)), ZERO)
        new = _euros(per_month * share * cohorts)
        cumulative_committed += committed
        cumulative_new += committed + new
        day = month_first_day(number)
        if run_out_committed is None and cumulative_committed > envelope.amount:
            run_out_committed = day
        if run_out_with_new is None and cumulative_new > envelope.amount:
            run_out_with_new = day
        rows.append(
            ForecastMonth(
                month=day,
                committed=committed,
                new_loans=new,
                cumulative_committed=cumulative_committed,
                cumulative_with_new=cumulative_new,
                after_end=number > end,
            )
        )
    ran_out = next(
        (month.month for month in months if month.cumulative_drawn > envelope.amount), None
    )
    return Forecast(
        months=rows,
        amount=envelope.amount,
        consumed=figures.consumed,
        committed=figures.committed,
        trend_loans=recent,
        new_loans_per_month=per_month.quantize(Decimal("0.1")),
        new_loan_months=length.quantize(Decimal("0.1")),
        run_out_committed=None if ran_out else run_out_committed,
        run_out_with_new=None if ran_out else run_out_with_new,
        ran_out=ran_out,
        ended=ended,
    )
