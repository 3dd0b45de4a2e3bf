"""The trainees' fee ledger: billing, payments, waivers and reversals, and what each loan owes.

DESIGN.md: Money. Period k of a loan starts on its start date plus k - 1 months; it is owed
once it has begun and it began before the loan ended ("tout mois commencé est dû",
`Loan.periods_due`). Billing is a catch-up: one charge per (loan, period), guaranteed by a
unique constraint, so that running it twice, or twice at the same time, writes each charge
once. Every charge draws the funder's share from the loan's envelope.

Lines are never changed nor deleted (`FeeEntry`): a mistake is corrected by a reversal, which
cancels exactly one earlier line, once. A payment settles the oldest months first.

Amounts are `Decimal` with two places; a float never comes near them.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from defis.money import format_euros
from defis.periods import add_months

from .models import FeeEntry, Loan

Kind = FeeEntry.Kind
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# A payment or a waiver larger than this is a typing mistake, not a trainee's fee.
LARGEST_AMOUNT = Decimal("10000.00")
BILLING_BATCH = 2000
# The same payment recorded twice within this time is a form sent twice.
DUPLICATE_WINDOW = timedelta(minutes=2)


class LedgerError(ValidationError):
    """A ledger line refused, with the reason."""


def _day(value: date) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


def period_start(loan: Loan, period: int) -> date:
    return add_months(loan.start_date, period - 1)


# --- Billing ----------------------------------------------------------------------------------


def _billable(until: date):
    """Loans that may owe a period not yet charged: handed over and begun by `until`."""
    return Loan.objects.filter(
        handed_over_at__isnull=False,
        start_date__lte=until,
        status__in=[Loan.Status.ACTIVE, Loan.Status.CLOSED],
    )


def bill_fees(*, until: date, loans: Iterable[Loan] | None = None, now: datetime | None = None):
    """Charge every period begun by `until` and not charged yet, for every loan (or those
    given). Return how many charges were written by this run.

    Safe to run again and on two servers at once: the missing periods are worked out from
    what is charged, and the unique constraint on (loan, period) drops a charge that another
    run wrote in the meantime.
    """
    now = now or timezone.now()
    queryset = _billable(until)
    counted = FeeEntry.objects.filter(kind=Kind.CHARGE)
    if loans is not None:
        ids = [loan.pk for loan in loans]
        queryset = queryset.filter(pk__in=ids)
        counted = counted.filter(loan_id__in=ids)
    rows = queryset.annotate(
        charged=Count("fee_entries", filter=Q(fee_entries__kind=Kind.CHARGE))
    ).values_list(
        "pk",
        "start_date",
        "return_date",
        "handed_over_at",
        "monthly_fee",
        "envelope_id",
        "envelope__funder_share",
        "charged",
    )
    missing = {}
    for pk, start, returned, handed_over_at, fee, envelope_id, share, charged in rows:
        loan = Loan(pk=pk, start_date=start, return_date=returned, handed_over_at=handed_over_at)
        due = loan.periods_due(until=until)
        if due > charged:
            missing[pk] = (loan, due, fee, envelope_id, share or ZERO)
    if not missing:
        return 0
    existing = defaultdict(set)
    ids = list(missing)
    for start in range(0, len(ids), BILLING_BATCH):
        batch = ids[start : start + BILLING_BATCH]
        for loan_id, period in FeeEntry.objects.filter(
            loan_id__in=batch, kind=Kind.CHARGE
        ).values_list("loan_id", "period"):
            existing[loan_id].add(period)
    charges = []
    for pk, (loan, due, fee, envelope_id, share) in missing.items():
        for period in range(1, due + 1):
            if period in existing[pk]:
                continue
            charges.append(
                FeeEntry(
                    loan_id=pk,
                    kind=Kind.CHARGE,
                    amount=fee,
                    period=period,
                    entry_date=period_start(loan, period),
                    envelope_id=envelope_id,
                    envelope_amount=share if envelope_id else ZERO,
                    recorded_at=now,
                )
            )
    before = counted.count()
    for start in range(0, len(charges), BILLING_BATCH):
        with transaction.atomic():
            FeeEntry.objects.bulk_create(
                charges[start : start + BILLING_BATCH], ignore_conflicts=True
            )
    # What this run added (another run at the same time may have added some of them).
    return max(0, counted.count() - before)


def bill_loan(loan: Loan, *, until: date, now: datetime | None = None) -> int:
    """Charge the periods of one loan begun by `until` (at a handover, at a return)."""
    return bill_fees(until=until, loans=[loan], now=now)


# --- What a loan owes -------------------------------------------------------------------------


@dataclass
class PeriodLine:
    period: int
    start: date
    amount: Decimal
    paid: Decimal = ZERO

    @property
    def is_paid(self) -> bool:
        return self.paid >= self.amount

    @property
    def is_part_paid(self) -> bool:
        return ZERO < self.paid < self.amount

    @property
    def due(self) -> Decimal:
        return self.amount - self.paid


@dataclass
class Statement:
    """A loan's account: its charges month by month, settled oldest first by what was paid
    or waived, and the totals."""

    periods: list[PeriodLine] = field(default_factory=list)
    charged: Decimal = ZERO
    paid: Decimal = ZERO
    waived: Decimal = ZERO
    balance: Decimal = ZERO  # positive: owed by the trainee; negative: paid in advance

    @property
    def owed(self) -> Decimal:
        return max(self.balance, ZERO)

    @property
    def in_advance(self) -> Decimal:
        return max(-self.balance, ZERO)

    @property
    def oldest_unpaid(self) -> PeriodLine | None:
        return next((line for line in self.periods if not line.is_paid), None)


def statement(loan: Loan, entries: Iterable[FeeEntry] | None = None) -> Statement:
    """The loan's account from its ledger lines (given, when already fetched)."""
    if entries is None:
        entries = loan.fee_entries.all()
    entries = list(entries)
    reversed_ids = {entry.reverses_id for entry in entries if entry.kind == Kind.REVERSAL}
    result = Statement()
    credit = ZERO
    for entry in entries:
        result.balance += entry.amount
        if entry.kind == Kind.REVERSAL or entry.pk in reversed_ids:
            continue  # a line and its reversal cancel out
        if entry.kind == Kind.CHARGE:
            result.charged += entry.amount
            result.periods.append(PeriodLine(entry.period, entry.entry_date, entry.amount))
        elif entry.kind == Kind.PAYMENT:
            result.paid -= entry.amount
            credit -= entry.amount
        elif entry.kind == Kind.WAIVER:
            result.waived -= entry.amount
            credit -= entry.amount
    result.periods.sort(key=lambda line: line.period)
    for line in result.periods:  # the oldest months first
        line.paid = min(line.amount, credit)
        credit -= line.paid
    return result


def expected_total(loan: Loan) -> Decimal:
    """What the loan will have cost the trainee in all: its months so far, or those planned
    while it runs."""
    return loan.monthly_fee * loan.months


# --- Payments, waivers, reversals ---------------------------------------------------------------


def _lock(loan: Loan) -> Loan:
    return Loan.objects.select_for_update(of=("self",)).select_related("trainee").get(pk=loan.pk)


def _clean_amount(value) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ".").replace("€", "").strip())
    except (InvalidOperation, ValueError) as error:
        raise LedgerError(_("Enter an amount in euros, such as 7,00."), code="amount") from error
    if not amount.is_finite() or amount <= 0:
        raise LedgerError(_("The amount must be more than 0,00 €."), code="amount")
    if amount != amount.quantize(CENT):
        raise LedgerError(_("The amount has at most two decimals (cents)."), code="amount")
    if amount > LARGEST_AMOUNT:
        raise LedgerError(
            _("The amount is more than %(max)s: check it.") % {"max": format_euros(LARGEST_AMOUNT)},
            code="amount",
        )
    return amount.quantize(CENT)


def _check_handed_over(loan: Loan) -> None:
    if loan.handed_over_at is None:
        raise LedgerError(
            _("Loan %(number)s has not been handed over: nothing is owed yet.")
            % {"number": loan.number},
            code="not_handed_over",
        )


def _check_not_anonymised(loan: Loan) -> None:
    """Nothing is recorded any more on the loans of a trainee whose personal data was
    anonymised (loans.anonymisation): a reference or a reason could name them again. Read
    afresh once the loan is locked, so that an anonymisation committed meanwhile counts."""
    if Loan.objects.filter(pk=loan.pk, trainee__anonymised_at__isnull=False).exists():
        raise LedgerError(
            _(
                "The trainee of loan %(number)s was anonymised: nothing more is recorded in "
                "this loan’s ledger."
            )
            % {"number": loan.number},
            code="anonymised",
        )


def _check_day(day: date, *, today: date, loan: Loan) -> None:
    if day > today:
        raise LedgerError(_("The date cannot be in the future."), code="date")
    if day < add_months(loan.start_date, -12):
        raise LedgerError(
            _("The date is long before the loan began (%(date)s).")
            % {"date": _day(loan.start_date)},
            code="date",
        )


@transaction.atomic
def payment_record(
    *,
    loan: Loan,
    amount,
    method: str,
    paid_on: date,
    by,
    received_by=None,
    reference: str = "",
    now: datetime | None = None,
) -> FeeEntry:
    """A trainee (or their training body) pays. It settles the oldest months first; paying
    ahead is accepted up to what the whole loan will cost."""
    now = now or timezone.now()
    amount = _clean_amount(amount)
    if method not in FeeEntry.Method.values:
        raise LedgerError(_("Choose how it was paid."), code="method")
    loan = _lock(loan)
    _check_not_anonymised(loan)
    _check_handed_over(loan)
    _check_day(paid_on, today=timezone.localdate(now), loan=loan)
    recent = now - DUPLICATE_WINDOW
    if FeeEntry.objects.filter(
        loan=loan,
        kind=Kind.PAYMENT,
        amount=-amount,
        method=method,
        entry_date=paid_on,
        reference=reference.strip(),
        recorded_at__gte=recent,
        reversed_by__isnull=True,
    ).exists():
        # A form sent twice (a double click, a page reloaded): the same payment once.
        raise LedgerError(
            _(
                "The same payment of %(amount)s was recorded a moment ago for loan %(number)s: "
                "it is not recorded twice. Check the ledger on the loan’s page."
            )
            % {"amount": format_euros(amount), "number": loan.number},
            code="duplicate",
        )
    account = statement(loan)
    # An overdue loan goes on being charged past its planned months: what is charged counts.
    room = max(expected_total(loan), account.charged) - (account.paid + account.waived)
    if amount > room:
        raise LedgerError(
            _(
                "%(amount)s is more than what is left to pay for loan %(number)s (%(room)s "
                "for the whole loan)."
            )
            % {
                "amount": format_euros(amount),
                "number": loan.number,
                "room": format_euros(max(room, ZERO)),
            },
            code="overpaid",
        )
    return FeeEntry.objects.create(
        loan=loan,
        kind=Kind.PAYMENT,
        amount=-amount,
        entry_date=paid_on,
        method=method,
        reference=reference.strip(),
        received_by=received_by or by,
        recorded_by=by,
        recorded_at=now,
    )


@transaction.atomic
def waiver_record(
    *, loan: Loan, amount, reason: str, by, on: date | None = None, now: datetime | None = None
) -> FeeEntry:
    """Défis forgoes part of what is owed, with a reason (hardship, a laptop that failed…)."""
    now = now or timezone.now()
    on = on or timezone.localdate(now)
    amount = _clean_amount(amount)
    if not reason.strip():
        raise LedgerError(_("Give the reason for the waiver."), code="reason")
    loan = _lock(loan)
    _check_not_anonymised(loan)
    _check_handed_over(loan)
    _check_day(on, today=timezone.localdate(now), loan=loan)
    if FeeEntry.objects.filter(
        loan=loan,
        kind=Kind.WAIVER,
        amount=-amount,
        reason=reason.strip(),
        recorded_at__gte=now - DUPLICATE_WINDOW,
        reversed_by__isnull=True,
    ).exists():
        raise LedgerError(
            _(
                "The same waiver of %(amount)s was recorded a moment ago for loan %(number)s: "
                "it is not recorded twice. Check the ledger on the loan’s page."
            )
            % {"amount": format_euros(amount), "number": loan.number},
            code="duplicate",
        )
    owed = statement(loan).owed
    if amount > owed:
        raise LedgerError(
            _("Only %(owed)s is owed on loan %(number)s: a waiver cannot be larger.")
            % {"owed": format_euros(owed), "number": loan.number},
            code="more_than_owed",
        )
    return FeeEntry.objects.create(
        loan=loan,
        kind=Kind.WAIVER,
        amount=-amount,
        entry_date=on,
        reason=reason.strip(),
        recorded_by=by,
        recorded_at=now,
    )


@transaction.atomic
def entry_reverse(*, entry: FeeEntry, reason: str, by, now: datetime | None = None) -> FeeEntry:
    """Cancel one earlier payment or waiver (a cheque typed twice, a waiver on the wrong
    loan), once."""
    now = now or timezone.now()
    if not reason.strip():
        raise LedgerError(_("Give the reason for the reversal."), code="reason")
    _check_not_anonymised(_lock(entry.loan))
    entry = FeeEntry.objects.get(pk=entry.pk)
    if entry.kind == Kind.REVERSAL:
        raise LedgerError(
            _("A reversal cannot be reversed: record the line again instead."),
            code="reversal_of_reversal",
        )
    if FeeEntry.objects.filter(reverses=entry).exists():
        raise LedgerError(_("This line was already reversed."), code="already_reversed")
    if entry.kind == Kind.CHARGE:
        # A month begun is owed ("tout mois commencé est dû") and billing charges only those:
        # a charge is never a mistake to undo. Forgoing it is a waiver, which keeps the month
        # charged and drawn from the envelope.
        raise LedgerError(
            _("Month %(period)s has begun: it stays charged. Record a waiver instead.")
            % {"period": entry.period},
            code="charge_due",
        )
    return FeeEntry.objects.create(
        loan_id=entry.loan_id,
        kind=Kind.REVERSAL,
        amount=-entry.amount,
        entry_date=timezone.localdate(now),
        envelope_id=entry.envelope_id,
        envelope_amount=-entry.envelope_amount,
        reverses=entry,
        reason=reason.strip(),
        recorded_by=by,
        recorded_at=now,
    )
