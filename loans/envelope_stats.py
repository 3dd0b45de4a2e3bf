"""The figures of the budget envelope pages: SQL aggregates, the same few queries whatever the
number of loans and ledger lines (DESIGN.md: Money; the envelope page within 300 ms at 30,000
loans and 150,000 ledger lines).

- `with_figures(queryset)`: envelopes annotated with what they drew and the loan months still
  committed, in one query for any number of envelopes; `figures_of(envelope)` turns one of them
  into `loans.envelopes.Figures`.
- `envelope_stats(envelope, today=)`: everything the envelope's page shows: the drawings per
  calendar month, the burn-down series (actual, then the committed periods of the open loans
  month by month to the envelope's end), the pace of the last months, the breakdowns per
  training body and per territory, and the names of those the envelope funds. Three queries.

Consumed = the funder's shares drawn by the charges (net of reversals); committed = the planned
periods of open loans not charged yet, times the funder's share, as in loans.envelopes.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import (
    Count,
    DateField,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest

from trainees.models import Territory, TrainingBody

from .envelopes import Figures, charged_periods
from .models import BudgetEnvelope, FeeEntry, Loan

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# The pace is the average drawn over the last complete months, at most this many.
PACE_MONTHS = 3


def _remaining_periods():
    """Per loan: its planned periods not charged yet (never below zero)."""
    return Greatest(F("planned_periods") - F("charged_periods"), Value(0))


def with_figures(queryset):
    """Envelopes annotated with `drawn_total` (what was drawn) and `committed_periods` (the
    planned loan months of open loans not charged yet): two correlated subqueries, so one
    query for a page of envelopes."""
    drawn = (
        FeeEntry.objects.filter(envelope=OuterRef("pk"))
        .order_by()
        .values("envelope")
        .annotate(total=Sum("envelope_amount"))
        .values("total")
    )
    committed = (
        Loan.objects.open()
        .filter(envelope=OuterRef("pk"))
        .order_by()
        .annotate(charged_periods=charged_periods())
        .values("envelope")
        .annotate(total=Sum(_remaining_periods()))
        .values("total")
    )
    money = DecimalField(max_digits=12, decimal_places=2)
    return queryset.annotate(
        drawn_total=Coalesce(Subquery(drawn, output_field=money), Value(ZERO), output_field=money),
        committed_periods=Coalesce(
            Subquery(committed, output_field=IntegerField()), Value(0), output_field=IntegerField()
        ),
    )


def figures_of(envelope: BudgetEnvelope) -> Figures:
    """The figures of an envelope fetched through `with_figures`."""
    return Figures(
        envelope=envelope,
        consumed=Decimal(envelope.drawn_total or 0).quantize(CENT),
        committed=envelope.funder_share * (envelope.committed_periods or 0),
    )


def percent(part: Decimal, whole: Decimal) -> Decimal:
    if not whole:
        return Decimal("0.0")
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))


# --- Months -------------------------------------------------------------------------------------


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_of(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class MonthLine:
    """One calendar month of the envelope."""

    month: date  # its first day
    drawn: Decimal  # drawn during the month (charges, net of reversals)
    consumed: Decimal | None  # drawn by the end of the month; None for the months to come
    committed: Decimal  # the committed periods of open loans that fall in the month
    forecast: Decimal | None  # consumed, plus the committed periods, from this month on
    amount: Decimal

    @property
    def left(self) -> Decimal | None:
        return None if self.consumed is None else self.amount - self.consumed

    @property
    def forecast_left(self) -> Decimal | None:
        return None if self.forecast is None else self.amount - self.forecast


@dataclass
class Breakdown:
    """One training body's, or one territory's, share of the envelope."""

    pk: int | None
    name: str
    consumed: Decimal = ZERO
    committed: Decimal = ZERO
    loans_open: int = 0
    loans_total: int = 0
    months_charged: int = 0
    territory_pk: int | None = None
    territory_name: str = ""

    def add(self, other: "Breakdown") -> None:
        self.consumed += other.consumed
        self.committed += other.committed
        self.loans_open += other.loans_open
        self.loans_total += other.loans_total
        self.months_charged += other.months_charged


@dataclass
class EnvelopeStats:
    envelope: BudgetEnvelope
    today: date
    figures: Figures
    months: list[MonthLine]
    by_training_body: list[Breakdown]
    by_territory: list[Breakdown]
    total: Breakdown
    pace: Decimal | None = None  # average drawn per month lately
    pace_months: int = 0  # over how many complete months
    current_index: int = 0
    # The names of the training bodies and territories the envelope funds, by name.
    funded_training_bodies: list[str] = field(default_factory=list)
    funded_territories: list[str] = field(default_factory=list)

    @property
    def end_month(self) -> date:
        return month_of(month_index(self.envelope.end_date))

    def chart_points(self) -> list[tuple[date, Decimal | None, Decimal | None]]:
        """What loans.charts.burndown_svg draws."""
        return [(line.month, line.consumed, line.forecast) for line in self.months]

    @property
    def overdrawn_in(self) -> date | None:
        """The month the drawings went past the amount, if they did (overrides)."""
        for line in self.months:
            if line.consumed is not None and line.consumed > self.figures.amount:
                return line.month
        return None

    @property
    def committed_runs_out_in(self) -> date | None:
        """The month the committed loans take the envelope past its amount, if they do."""
        for line in self.months:
            if line.forecast is not None and line.forecast > self.figures.amount:
                return line.month
        return None

    @property
    def pace_runs_out_in(self) -> date | None:
        """At the recent pace, the month the envelope would run out, counted from the
        current month; None when there is no pace to speak of."""
        if not self.pace:
            return None
        left = self.figures.amount - self.figures.consumed
        if left < 0:
            return self.overdrawn_in
        months = max(math.floor(left / self.pace) + 1, 1)
        return month_of(self.current_index + months)

    @property
    def pace_runs_out_before_end(self) -> bool:
        month = self.pace_runs_out_in
        return month is not None and month <= self.end_month


def _ledger(envelope):
    """The lines drawing on the envelope, summed twice in one query (a few hundred rows):
    per day (training body None), and per training body (day None) with its loan months
    charged and not reversed. Rows of (day, training body, drawn, months charged)."""
    lines = FeeEntry.objects.filter(envelope=envelope).order_by()
    # The lines reversed, as a NOT IN over the few reversals: PostgreSQL hashes them once,
    # where a join on `reversed_by` sorted every line of the envelope (on disk, at the
    # design scale).
    reversed_lines = FeeEntry.objects.filter(reverses__isnull=False).values("reverses")
    per_day = (
        lines.values("entry_date")
        .annotate(
            drawn=Sum("envelope_amount"),
            body=Value(None, output_field=IntegerField()),
            months=Value(0),
        )
        .values_list("entry_date", "body", "drawn", "months")
    )
    per_body = (
        lines.values("loan__course__training_body_id")
        .annotate(
            day=Value(None, output_field=DateField()),
            drawn=Sum("envelope_amount"),
            months=Count("pk", filter=Q(kind=FeeEntry.Kind.CHARGE) & ~Q(pk__in=reversed_lines)),
        )
        .values_list("day", "loan__course__training_body_id", "drawn", "months")
    )
    return per_day.union(per_body, all=True)


def _loans_by_body(envelope):
    """The envelope's loans, cancelled ones left out, as rows of (training body, pk, loans,
    start date, planned periods, periods charged): one row for each open loan, then one per
    training body counting its other loans (pk and the rest None)."""
    loans = Loan.objects.filter(envelope=envelope).order_by()
    nothing = Value(None, output_field=IntegerField())
    open_loans = loans.filter(status__in=Loan.OPEN).values_list(
        "course__training_body_id",
        "pk",
        Value(1),
        "start_date",
        "planned_periods",
        charged_periods(),
    )
    others = (
        loans.exclude(status__in=[*Loan.OPEN, Loan.Status.CANCELLED])
        .values("course__training_body_id")
        .annotate(count=Count("pk"))
        .values_list("course__training_body_id", nothing, "count", nothing, nothing, nothing)
    )
    return open_loans.union(others, all=True)


# The parts of `_names`, in the order they come.
FUNDED_BODY, FUNDED_TERRITORY, SHOWN_BODY = 0, 1, 2


def _names(envelope, body_ids):
    """The names the page shows, in one query: the training bodies and the territories the
    envelope names (each in their usual order, by name), and the training bodies of the
    breakdown with their territories. Rows of (part, name, pk, territory pk, territory
    name)."""

    def part(queryset, number, territory, territory_name):
        return (
            queryset.order_by()
            .annotate(
                part=Value(number),
                territory_pk=territory,
                territory_name=territory_name,
            )
            .values_list("part", "name", "pk", "territory_pk", "territory_name")
        )

    rows = part(
        TrainingBody.objects.filter(envelopes=envelope),
        FUNDED_BODY,
        F("territory_id"),
        F("territory__name"),
    ).union(
        part(Territory.objects.filter(envelopes=envelope), FUNDED_TERRITORY, F("pk"), F("name")),
        part(
            TrainingBody.objects.filter(pk__in=body_ids),
            SHOWN_BODY,
            F("territory_id"),
            F("territory__name"),
        ),
        all=True,
    )
    return list(rows.order_by("part", "name"))


def envelope_stats(envelope: BudgetEnvelope, *, today: date) -> EnvelopeStats:
    """The envelope's page: three queries (the ledger and the loans per training body, then
    the names), then arithmetic."""
    share = envelope.funder_share
    current = month_index(today)
    bodies: dict[int, Breakdown] = {}

    def body(pk) -> Breakdown:
        return bodies.setdefault(pk, Breakdown(pk=pk, name=""))

    drawn: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for day, body_id, amount, months in _ledger(envelope):
        amount = Decimal(amount or 0)
        if day is not None:
            drawn[month_index(day)] += amount
        else:
            line = body(body_id)
            line.consumed = amount
            line.months_charged = months
    drawn = dict(drawn)

    # The committed periods, month by month: a loan's remaining periods are the ones after
    # those charged; one that should have started already (billing not run yet) counts in
    # the current month. A difference array keeps this linear in the number of loans.
    steps: dict[int, int] = defaultdict(int)
    remaining_total = 0
    last_committed = None
    for body_id, open_loan, count, start, planned, charged in _loans_by_body(envelope):
        line = body(body_id)
        line.loans_total += count
        if open_loan is None:
            continue
        line.loans_open += 1
        remaining = planned - charged
        if remaining <= 0:
            continue
        remaining_total += remaining
        line.committed += share * remaining
        first = month_index(start) + charged
        last = month_index(start) + planned - 1
        late = min(last, current - 1) - first + 1
        if late > 0:
            steps[current] += late
            steps[current + 1] -= late
            first = current
        steps[first] += 1
        steps[last + 1] -= 1
        last_committed = last if last_committed is None else max(last_committed, last)

    consumed_total = sum(drawn.values(), ZERO)
    figures = Figures(envelope=envelope, consumed=consumed_total, committed=share * remaining_total)

    first_index = min([month_index(envelope.start_date), *drawn])
    last_index = max(
        [month_index(envelope.end_date), *drawn]
        + ([last_committed] if last_committed is not None else [])
    )
    months = []
    cumulative = ZERO
    running = 0
    forecast = None
    for index in range(first_index, last_index + 1):
        running += steps.get(index, 0)
        month_drawn = drawn.get(index, ZERO)
        cumulative += month_drawn
        committed = ZERO
        if index >= current:
            # From the current month on: what was drawn so far, plus the committed periods.
            committed = share * running
            forecast = (consumed_total if forecast is None else forecast) + committed
        months.append(
            MonthLine(
                month=month_of(index),
                drawn=month_drawn,
                consumed=cumulative if index <= current else None,
                committed=committed,
                forecast=forecast,
                amount=envelope.amount,
            )
        )

    # The pace: what was drawn per month over the last complete months of the envelope.
    recent = [index for index in range(current - PACE_MONTHS, current) if index >= first_index]
    pace = None
    if recent:
        average = sum((drawn.get(index, ZERO) for index in recent), ZERO) / len(recent)
        pace = average.quantize(CENT) if average > 0 else None

    funded_bodies, funded_territories = [], []
    for part, name, pk, territory_pk, territory_name in _names(envelope, list(bodies)):
        if part == FUNDED_BODY:
            funded_bodies.append(name)
        elif part == FUNDED_TERRITORY:
            funded_territories.append(name)
        else:
            line = bodies[pk]
            line.name = name
            line.territory_pk = territory_pk
            line.territory_name = territory_name
    territories: dict[int, Breakdown] = {}
    total = Breakdown(pk=None, name="")
    for line in bodies.values():
        group = territories.setdefault(
            line.territory_pk, Breakdown(pk=line.territory_pk, name=line.territory_name)
        )
        group.add(line)
        total.add(line)

    return EnvelopeStats(
        envelope=envelope,
        today=today,
        figures=figures,
        months=months,
        by_training_body=sorted(bodies.values(), key=lambda line: line.name.casefold()),
        by_territory=sorted(territories.values(), key=lambda line: line.name.casefold()),
        total=total,
        pace=pace,
        pace_months=len(recent) if pace else 0,
        current_index=current,
        funded_training_bodies=funded_bodies,
        funded_territories=funded_territories,
    )
