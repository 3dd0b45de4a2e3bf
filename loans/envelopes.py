"""The funder's budget envelopes: which one funds a loan, what is spent and committed, and the
guard that refuses a loan the envelope cannot fund.

DESIGN.md: Money. Every charged period draws the funder's share. Consumed = what was drawn;
committed = the planned periods of open loans not charged yet; available = amount - consumed
- committed. The figures are SQL aggregates: the same few queries whatever the number of
loans.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext as _

from defis.money import format_euros

from .models import BudgetEnvelope, FeeEntry, Loan

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# "How many more loans": counted in loans of the length of a PRÉPA course.
TYPICAL_LOAN_MONTHS = 5


class EnvelopeError(ValidationError):
    """A loan the envelope cannot fund."""


def envelope_for(training_body, day: date) -> BudgetEnvelope | None:
    """The envelope that funds a loan of this training body starting on `day`: the most
    specific one (naming the body, then its territory, then the whole programme), the most
    recent first."""
    candidates = list(
        BudgetEnvelope.objects.covering(training_body, day).prefetch_related(
            "training_bodies", "territories"
        )
    )

    def specificity(envelope):
        if any(body.pk == training_body.pk for body in envelope.training_bodies.all()):
            return 0
        if any(t.pk == training_body.territory_id for t in envelope.territories.all()):
            return 1
        return 2

    candidates.sort(key=lambda envelope: (specificity(envelope), -envelope.start_date.toordinal()))
    return candidates[0] if candidates else None


def charged_periods():
    """Per loan: how many of its periods are charged (a subquery, for annotations). A charge
    reversed still counts: its period is settled, and billing never charges it again."""
    return Coalesce(
        Subquery(
            FeeEntry.objects.filter(loan=OuterRef("pk"), kind=FeeEntry.Kind.CHARGE)
            .order_by()
            .values("loan")
            .annotate(count=Count("pk"))
            .values("count"),
            output_field=IntegerField(),
        ),
        Value(0),
    )


def remaining_planned_periods(loans):
    """The planned periods not charged yet of these loans, summed in SQL."""
    total = (
        loans.order_by()
        .annotate(charged_periods=charged_periods())
        .aggregate(remaining=Sum(Greatest(F("planned_periods") - F("charged_periods"), Value(0))))[
            "remaining"
        ]
    )
    return total or 0


@dataclass(frozen=True)
class Figures:
    envelope: BudgetEnvelope
    consumed: Decimal
    committed: Decimal

    @property
    def amount(self) -> Decimal:
        return self.envelope.amount

    @property
    def available(self) -> Decimal:
        return self.amount - self.consumed - self.committed

    @property
    def loan_cost(self) -> Decimal:
        return self.envelope.funder_share * TYPICAL_LOAN_MONTHS

    @property
    def more_loans(self) -> int:
        """How many more five-month loans the envelope can fund."""
        if self.loan_cost <= 0:
            return 0
        return max(int(self.available // self.loan_cost), 0)

    @property
    def consumed_percent(self) -> Decimal:
        return (self.consumed * 100 / self.amount).quantize(Decimal("0.1"))

    @property
    def committed_percent(self) -> Decimal:
        return (self.committed * 100 / self.amount).quantize(Decimal("0.1"))


def figures(envelope: BudgetEnvelope) -> Figures:
    """Amount, consumed, committed and available: two queries."""
    consumed = (
        FeeEntry.objects.filter(envelope=envelope).aggregate(total=Sum("envelope_amount"))["total"]
        or ZERO
    )
    remaining = remaining_planned_periods(Loan.objects.open().filter(envelope=envelope))
    # SQLite sums decimals without their scale (1050, not 1050.00): give them back their cents.
    return Figures(
        envelope=envelope,
        consumed=Decimal(consumed).quantize(CENT),
        committed=(envelope.funder_share * remaining).quantize(CENT),
    )


def check_room(
    envelope: BudgetEnvelope | None,
    *,
    periods: int,
    what: str,
    override_reason: str = "",
) -> str:
    """Refuse `periods` more loan months the envelope cannot fund, with the figures, unless
    staff give a reason to overrun it. Return the note to record ("" when it fits).

    The caller holds the envelope's row lock (`lock`), so that two loans cannot both take
    the last of it."""
    if envelope is None or periods <= 0:
        return ""
    current = figures(envelope)
    needed = envelope.funder_share * periods
    if needed <= current.available:
        return ""
    numbers = {
        "envelope": str(envelope),
        "available": format_euros(current.available),
        "amount": format_euros(current.amount),
        "consumed": format_euros(current.consumed),
        "committed": format_euros(current.committed),
        "what": what,
        "needed": format_euros(needed),
        "periods": periods,
    }
    if not override_reason.strip():
        if current.available < 0:
            message = _(
                "The envelope “%(envelope)s” is already over by %(over)s (%(amount)s, less "
                "%(consumed)s consumed and %(committed)s committed): %(what)s needs "
                "%(needed)s more (%(periods)s months). Give a reason to go over the envelope."
            )
        else:
            message = _(
                "The envelope “%(envelope)s” has %(available)s left (%(amount)s, less "
                "%(consumed)s consumed and %(committed)s committed): %(what)s needs "
                "%(needed)s (%(periods)s months). Give a reason to go over the envelope."
            )
        raise EnvelopeError(
            message % {**numbers, "over": format_euros(-current.available)},
            code="envelope_overrun",
        )
    return _(
        "Over the envelope “%(envelope)s” by %(over)s (%(available)s left, %(needed)s "
        "needed): %(reason)s"
    ) % {
        **numbers,
        "over": format_euros(needed - max(current.available, ZERO)),
        "reason": override_reason.strip(),
    }


def lock(envelope: BudgetEnvelope | None) -> None:
    if envelope is not None:
        BudgetEnvelope.objects.select_for_update().filter(pk=envelope.pk).first()
