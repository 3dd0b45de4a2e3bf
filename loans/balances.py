"""What each loan owes, read from the ledger: in SQL for the lists (the balance column, the
arrears list and its filters), and line by line for one loan (its account, a receipt).

The rule is loans.ledger's (`statement`): the charges of the months begun, settled oldest
first by what was paid or waived; a line and its reversal cancel out. The SQL here says the
same thing without walking the lines in Python: the months not paid are the last ones, so a
month is unpaid while the charges after it add up to less than the balance.
tests/loans/test_money_views.py checks both agree.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from .ledger import ZERO, Statement, period_start, statement
from .models import FeeEntry, Loan

Kind = FeeEntry.Kind
MONEY = DecimalField(max_digits=12, decimal_places=2)


def _total(entries) -> Subquery:
    """The sum of the amounts of `entries` (filtered on one loan), or NULL when none."""
    return Subquery(
        entries.order_by().values("loan").annotate(total=Sum("amount")).values("total")[:1],
        output_field=MONEY,
    )


def _reversed_ids():
    """The ids of the lines that were reversed, read from the reversals: few, found through
    the index on the kind, and read once per query as a set that each line is looked up in.
    (Asked of every line with a reverses id instead, PostgreSQL without statistics expects
    the whole ledger, reads it to build the set, and past its working memory reads it again
    for every line looked up.)"""
    return FeeEntry.objects.filter(kind=Kind.REVERSAL, reverses__isnull=False).values("reverses")


def _live_charges():
    """The charges not reversed."""
    return FeeEntry.objects.filter(kind=Kind.CHARGE).exclude(pk__in=_reversed_ids())


def balance():
    """The loan's balance (positive: owed; negative: paid in advance), NULL without any
    ledger line. One subquery in the list's own query."""
    return _total(FeeEntry.objects.filter(loan=OuterRef("pk")))


def with_balance(loans):
    return loans.annotate(balance=balance())


def _owing(*, owed_since_before: date | None = None):
    """The ids of the loans that owe something, found by one pass over the whole ledger
    grouped by loan, rather than by a sum for every loan. No join and no subquery per line:
    the plan stays the same whatever the planner's statistics.

    With `owed_since_before`, only those whose oldest month not fully paid began before that
    day: the months begun before it are not all paid while the balance is more than the
    charges (not reversed) from that day on, summed in the same pass."""
    owing = FeeEntry.objects.order_by().values("loan").annotate(owed=Sum("amount"))
    if owed_since_before is None:
        return owing.filter(owed__gt=0).values("loan")
    charged_from_day = Sum(
        "amount",
        filter=Q(kind=Kind.CHARGE, entry_date__gte=owed_since_before) & ~Q(pk__in=_reversed_ids()),
    )
    owing = owing.annotate(charged_from_day=Coalesce(charged_from_day, ZERO, output_field=MONEY))
    # The charges from that day on are never negative: owing more than them is owing.
    return owing.filter(owed__gt=F("charged_from_day")).values("loan")


def owing(loans, *, owed_since_before: date | None = None):
    """The loans of `loans` that owe something (see `_owing`), with their `balance`: what the
    arrears list sorts, counts and adds up. The balance is summed for those loans only."""
    return with_balance(loans.filter(pk__in=_owing(owed_since_before=owed_since_before)))


def with_owed_since(loans):
    """`owed_since` on loans with `balance`: the first day of the oldest month not fully
    paid, the charge's own date.

    Payments settle the oldest months first, so the months not paid are the last ones: the
    oldest of them is the latest charge whose charges from it on add up to the balance at
    least. Read from the latest month back, it is found after as many months as are unpaid
    (a sum over a few lines each), whatever the number paid before."""
    charged_from_here = _total(
        _live_charges().filter(loan=OuterRef("loan"), period__gte=OuterRef("period"))
    )
    oldest_unpaid = (
        _live_charges()
        .filter(loan=OuterRef("pk"))
        .alias(charged_from_here=charged_from_here)
        .filter(charged_from_here__gte=OuterRef("balance"))
        .order_by("-period")
        .values("entry_date")[:1]
    )
    return loans.annotate(owed_since=Subquery(oldest_unpaid))


def in_arrears(loans):
    """The loans that owe something, with `balance`, `owed_since` (the first day of the oldest
    month not fully paid) and `last_paid_on` (the last payment not reversed).

    The arrears list reads `owing` and `with_owed_since` (to sort) only, and the last two
    from the ledger lines of the rows it shows (loans.money_views)."""
    last_payment = (
        FeeEntry.objects.filter(loan=OuterRef("pk"), kind=Kind.PAYMENT)
        .exclude(pk__in=_reversed_ids())
        .order_by("-entry_date", "-pk")
        .values("entry_date")[:1]
    )
    return with_owed_since(owing(loans)).annotate(last_paid_on=Subquery(last_payment))


def owed_since_before(loans, day: date):
    """The loans of `in_arrears` whose oldest month not fully paid began before `day`."""
    return loans.filter(pk__in=_owing(owed_since_before=day))


# --- One loan's account ---------------------------------------------------------------------


@dataclass
class Account:
    """A loan's account as its page shows it: the statement, and the ledger lines, each
    knowing whether it was reversed (and by which line) or reverses another."""

    statement: Statement
    lines: list[FeeEntry]

    @property
    def owed(self) -> Decimal:
        return self.statement.owed


def loan_account(loan: Loan) -> Account:
    """One query: the loan's lines, with who received and who recorded them."""
    lines = list(loan.fee_entries.select_related("received_by", "recorded_by"))
    by_id = {line.pk: line for line in lines}
    for line in lines:
        line.reversal = None
        line.reversed_line = None
    for line in lines:
        if line.reverses_id in by_id:
            line.reversed_line = by_id[line.reverses_id]
            by_id[line.reverses_id].reversal = line
    return Account(statement=statement(loan, lines), lines=lines)


# --- What one payment settled ---------------------------------------------------------------


@dataclass
class Settled:
    """The share of one payment that went to one month of the loan."""

    period: int
    start: date
    end: date
    amount: Decimal
    complete: bool  # the month is paid in full with this payment
    in_advance: bool  # the month had not begun (not charged yet)


def _order(entry: FeeEntry):
    # On a given day the month's charge comes before the payment made that day.
    return (entry.entry_date, 0 if entry.kind == Kind.CHARGE else 1, entry.pk)


def settled_by(payment: FeeEntry, entries: list[FeeEntry], loan: Loan) -> list[Settled]:
    """The months a payment settled: the credits (payments and waivers not reversed) go in
    the order they were made to the months oldest first, as `ledger.statement` does; what is
    left goes to the months planned and not begun yet (paid in advance)."""
    reversed_ids = {e.reverses_id for e in entries if e.kind == Kind.REVERSAL}
    live = [e for e in entries if e.kind != Kind.REVERSAL and e.pk not in reversed_ids]
    if payment.pk in reversed_ids:
        return []
    months = [
        [c.period, c.entry_date, c.amount, False]
        for c in sorted((e for e in live if e.kind == Kind.CHARGE), key=lambda c: c.period)
    ]
    last_charged = max((e.period for e in entries if e.kind == Kind.CHARGE), default=0)
    for period in range(last_charged + 1, loan.months + 1):
        months.append([period, period_start(loan, period), loan.monthly_fee, True])
    due = [amount for _period, _start, amount, _ahead in months]
    credits = sorted((e for e in live if e.kind in (Kind.PAYMENT, Kind.WAIVER)), key=_order)
    settled = []
    index = 0
    for credit in credits:
        left = -credit.amount
        while left > 0 and index < len(months):
            applied = min(due[index], left)
            due[index] -= applied
            left -= applied
            if credit.pk == payment.pk and applied > 0:
                period, start, _amount, ahead = months[index]
                settled.append(
                    Settled(
                        period=period,
                        start=start,
                        end=period_start(loan, period + 1) - timedelta(days=1),
                        amount=applied,
                        complete=due[index] == 0,
                        in_advance=ahead,
                    )
                )
            if due[index] == 0:
                index += 1
        if credit.pk == payment.pk:
            break
    return settled


def balance_after(payment: FeeEntry, entries: list[FeeEntry]) -> Decimal:
    """The loan's balance once this payment was made: every line dated up to its day (the
    charges of the months begun by then), and the lines recorded before it on that day."""
    key = _order(payment)
    return sum((e.amount for e in entries if _order(e) <= key), ZERO)
