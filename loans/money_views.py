"""Payments, waivers, reversals, receipts and the arrears list.

Staff record what a trainee paid, waive what Défis forgoes and reverse a line typed in
error; each is one loans.ledger function, whose refusal is shown on the form beside the
field it is about, with nothing written. Coordinators read their own trainees' accounts
(on the loan page), receipts and arrears: everything is fetched through
`visible_to(request.user)`, so that another body's line answers 404.
"""

import csv
from collections import defaultdict

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from defis.importing import spreadsheet_text
from defis.money import format_euros, to_euros
from defis.pdf import pdf_response
from defis.permissions import is_staff_member, staff_or_coordinator_required, staff_required

from . import balances, ledger, receipts
from .models import FeeEntry, Loan
from .money_forms import ArrearsFilter, PaymentForm, ReverseForm, WaiverForm

Kind = FeeEntry.Kind
PAGE_SIZE = 50
CSV_CHUNK = 2000
# What the export reads of a loan (after its id and balance), and of its ledger lines.
CSV_LOAN_FIELDS = (
    "number",
    "trainee__last_name",
    "trainee__first_name",
    "course__training_body__short_name",
    "course__title",
    "laptop__asset_tag",
)
CSV_LINE_FIELDS = ("pk", "kind", "amount", "period", "entry_date", "reverses_id")

# Which field a refusal of loans.ledger is about (its code); the others go on top of the form.
FIELD_OF_REFUSAL = {
    "amount": "amount",
    "overpaid": "amount",
    "more_than_owed": "amount",
    "method": "method",
    "date": "paid_on",
    "reason": "reason",
}


def _day(value) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


def _loan(request, pk) -> Loan:
    return get_object_or_404(
        Loan.objects.visible_to(request.user).select_related(
            "trainee", "course__training_body", "laptop"
        ),
        pk=pk,
    )


def _show_refusal(form, error: ledger.LedgerError) -> None:
    for refusal in error.error_list:
        field = FIELD_OF_REFUSAL.get(refusal.code)
        form.add_error(field if field in form.fields else None, " ".join(refusal.messages))


def _money_page(
    request, loan, *, form, run, success, title, submit, intro="", template=None, account=None
):
    """A money form: on POST, one ledger function, then back to the loan with a message; or
    the form again with the ledger's reasons, nothing written."""
    if request.method == "POST" and form.is_valid():
        try:
            done = run(form.cleaned_data)
        except ledger.LedgerError as error:
            _show_refusal(form, error)
        else:
            messages.success(request, success(done))
            return redirect(loan)
    context = {
        "loan": loan,
        # Nothing was written when the form is shown again: the account read first still holds.
        "account": account or ledger.statement(loan),
        "form": form,
        "title": title,
        "submit": submit,
        "intro": intro,
    }
    return render(request, template or "loans/money_form.html", context)


def _not_handed_over(request, loan):
    messages.error(
        request,
        _("Loan %(number)s has not been handed over: nothing is owed yet.")
        % {"number": loan.number},
    )
    return redirect(loan)


@staff_required
def payment_new(request, pk):
    """Record what a trainee (or their training body) paid; it settles the oldest months."""
    loan = _loan(request, pk)
    if loan.handed_over_at is None and request.method != "POST":
        return _not_handed_over(request, loan)
    account = ledger.statement(loan)
    form = PaymentForm(request.POST or None, user=request.user, suggested=account.owed)

    def run(data):
        return ledger.payment_record(loan=loan, by=request.user, **data)

    def success(payment):
        return format_html(
            _(
                'Payment of {amount} recorded for loan {number}. <a href="{receipt}">Print '
                "the receipt</a>."
            ),
            amount=format_euros(-payment.amount),
            number=loan.number,
            receipt=reverse("loans:payment_receipt", args=[payment.pk]),
        )

    return _money_page(
        request,
        loan,
        form=form,
        run=run,
        success=success,
        title=_("Record a payment for %(number)s") % {"number": loan.number},
        submit=_("Record the payment"),
        account=account,
        intro=_(
            "A payment settles the oldest months first. Paying ahead is accepted, up to what "
            "the whole loan will cost."
        ),
    )


@staff_required
def waiver_new(request, pk):
    """Forgo part of what is owed, with a reason."""
    loan = _loan(request, pk)
    if loan.handed_over_at is None and request.method != "POST":
        return _not_handed_over(request, loan)
    account = ledger.statement(loan)
    owed = account.owed
    if owed <= 0 and request.method != "POST":
        messages.info(
            request,
            _("Nothing is owed on loan %(number)s: nothing to waive.") % {"number": loan.number},
        )
        return redirect(loan)
    form = WaiverForm(request.POST or None, owed=owed)
    return _money_page(
        request,
        loan,
        form=form,
        run=lambda data: ledger.waiver_record(loan=loan, by=request.user, **data),
        success=lambda waiver: (
            _("%(amount)s waived on loan %(number)s.")
            % {"amount": format_euros(-waiver.amount), "number": loan.number}
        ),
        title=_("Waive what %(name)s owes") % {"name": loan.trainee.full_name},
        submit=_("Record the waiver"),
        account=account,
        intro=_(
            "Défis forgoes part or all of what is owed today, for example for a trainee in "
            "hardship. The reason is kept in the ledger."
        ),
    )


def describe(entry: FeeEntry) -> str:
    """One ledger line in words, as the confirmation page and the messages name it."""
    amount = format_euros(abs(entry.amount))
    if entry.kind == Kind.CHARGE:
        return _("Month %(period)s (from %(date)s) charged: %(amount)s") % {
            "period": entry.period,
            "date": _day(entry.entry_date),
            "amount": amount,
        }
    if entry.kind == Kind.PAYMENT:
        return _("Payment of %(amount)s on %(date)s (%(method)s)") % {
            "amount": amount,
            "date": _day(entry.entry_date),
            "method": entry.get_method_display(),
        }
    if entry.kind == Kind.WAIVER:
        return _("Waiver of %(amount)s on %(date)s") % {
            "amount": amount,
            "date": _day(entry.entry_date),
        }
    return _("Reversal of %(amount)s on %(date)s") % {
        "amount": amount,
        "date": _day(entry.entry_date),
    }


@staff_required
def entry_reverse(request, pk):
    """Cancel one payment or waiver (a cheque typed twice, a waiver on the wrong loan), once."""
    entry = get_object_or_404(
        FeeEntry.objects.visible_to(request.user).select_related(
            "loan__trainee", "loan__course__training_body", "loan__laptop", "received_by"
        ),
        pk=pk,
    )
    loan = entry.loan
    reversal = FeeEntry.objects.filter(reverses=entry).first()
    refused = entry.kind in (Kind.REVERSAL, Kind.CHARGE) or reversal is not None
    if request.method != "POST" and refused:
        if entry.kind == Kind.CHARGE:
            messages.error(
                request,
                _("Month %(period)s has begun: it stays charged. Record a waiver instead.")
                % {"period": entry.period},
            )
        elif entry.kind == Kind.REVERSAL:
            messages.error(
                request, _("A reversal cannot be reversed: record the line again instead.")
            )
        else:
            messages.error(request, _("This line was already reversed."))
        return redirect(loan)
    form = ReverseForm(request.POST or None)
    line = describe(entry)
    return _money_page(
        request,
        loan,
        form=form,
        run=lambda data: ledger.entry_reverse(entry=entry, by=request.user, **data),
        success=lambda done: _("Reversed: %(line)s.") % {"line": line},
        title=_("Reverse a ledger line of %(number)s") % {"number": loan.number},
        submit=_("Reverse the line"),
        intro=line,
        template="loans/money_reverse.html",
    )


@staff_or_coordinator_required
def payment_receipt(request, pk):
    """The receipt of one payment, for staff and the coordinator of the trainee's body."""
    payment = get_object_or_404(
        FeeEntry.objects.visible_to(request.user)
        .filter(kind=Kind.PAYMENT)
        .select_related(
            "loan__trainee", "loan__course__training_body", "loan__laptop", "received_by"
        ),
        pk=pk,
    )
    content = receipts.render_receipt(payment)
    return pdf_response(content, f"recu-{receipts.receipt_number(payment)}.pdf")


# --- Arrears ----------------------------------------------------------------------------------


def _without_jit() -> None:
    """PostgreSQL compiles a query to machine code (JIT) when its estimated cost is high, and
    sorting by "owed since" is estimated as a subquery for every loan in arrears: at the
    design scale, compiling took 1 s for a query that runs in 0.1 s. Off until the end of
    this request's transaction (a request is one), for the arrears queries only."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")


def _arrears(request, today):
    """The filtered loans in arrears (sorted), and the filters. Plain loans with their
    balance: the rows shown are read apart (`_shown`), so that sorting them all carries
    their ids only."""
    _without_jit()
    loans = Loan.objects.visible_to(request.user)
    filterset = ArrearsFilter(request.GET, queryset=loans, user=request.user, today=today)
    # A filter that cannot be read shows its error and no row.
    queryset = filterset.qs if filterset.is_valid() else balances.owing(loans).none()
    return filterset, queryset


def _shown(rows):
    """The loans of `rows` (id and balance, in the list's order), with what a row shows and
    their ledger lines: two queries, whatever the number of rows."""
    by_pk = (
        Loan.objects.select_related("trainee", "course__training_body", "laptop")
        .prefetch_related("fee_entries")
        .in_bulk([pk for pk, _balance in rows])
    )
    loans = []
    for pk, balance in rows:
        loan = by_pk[pk]
        loan.balance = balance
        loans.append(loan)
    return _with_accounts(loans)


def _figures(loan, lines):
    """What the list shows of a loan's ledger lines (FeeEntry objects, or rows with the same
    names): its statement, the months unpaid, since when, and the last payment not
    reversed."""
    account = ledger.statement(loan, lines)
    months_unpaid = sum(1 for line in account.periods if not line.is_paid)
    oldest = account.oldest_unpaid
    reversed_ids = {line.reverses_id for line in lines if line.kind == Kind.REVERSAL}
    last_paid_on = max(
        (
            line.entry_date
            for line in lines
            if line.kind == Kind.PAYMENT and line.pk not in reversed_ids
        ),
        default=None,
    )
    return account, months_unpaid, oldest.start if oldest else None, last_paid_on


def _with_accounts(loans):
    """Each loan's figures (`_figures`) from its prefetched lines."""
    for loan in loans:
        loan.account, loan.months_unpaid, loan.owed_since, loan.last_paid_on = _figures(
            loan, list(loan.fee_entries.all())
        )
    return loans


def _arrears_page(queryset, page_number):
    """The page asked for, and the count and total owed of all the rows: the ids and
    balances of all the rows in one query, sorted there (the ledger is summed once), then
    the page's loans in two. The same queries whichever the page."""
    rows = list(queryset.values_list("pk", "balance"))
    page = Paginator(rows, PAGE_SIZE).get_page(page_number)
    page.object_list = _shown(page.object_list)
    owed = sum((balance for _pk, balance in rows), ledger.ZERO)
    return page, {"count": len(rows), "owed": to_euros(owed)}


@staff_or_coordinator_required
def arrears(request):
    """Who owes what, since when. Staff: every loan; coordinators: their trainees'."""
    today = timezone.localdate()
    filterset, queryset = _arrears(request, today)
    page, totals = _arrears_page(queryset, request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "page_obj": page,
        "page_query": query.urlencode(),
        "csv_query": query.urlencode(),
        "totals": totals,
        "is_staff": is_staff_member(request.user),
    }
    return render(request, "loans/money_arrears.html", context)


def _csv_cell(value) -> str:
    return spreadsheet_text(str(value))


def _csv_amount(value) -> str:
    # French spreadsheets read "7,00"; no thousands separator, which would make it text.
    return f"{value:.2f}".replace(".", ",")


def _csv_day(value) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


@staff_or_coordinator_required
def arrears_csv(request):
    """The same rows as the list, all of them, for a spreadsheet."""
    today = timezone.localdate()
    _filterset, queryset = _arrears(request, today)
    filename = _("arrears-%(date)s.csv") % {"date": today.isoformat()}
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The byte-order mark tells Excel the file is UTF-8, so accents survive.
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(
        [
            _("Loan"),
            _("Last name"),
            _("First name"),
            _("Training body"),
            _("Course"),
            _("Laptop"),
            _("Amount owed"),
            _("Owed since"),
            _("Months unpaid"),
            _("Last payment"),
        ]
    )
    # Plain values rather than model instances: at the design scale, building the loans,
    # their trainees, courses, laptops and 20,000 ledger lines took most of the export.
    rows = list(queryset.values_list("pk", "balance", *CSV_LOAN_FIELDS))
    for start in range(0, len(rows), CSV_CHUNK):
        chunk = rows[start : start + CSV_CHUNK]
        lines = defaultdict(list)
        for line in FeeEntry.objects.filter(loan__in=[row[0] for row in chunk]).values_list(
            "loan", *CSV_LINE_FIELDS, named=True
        ):
            lines[line.loan].append(line)
        for pk, balance, number, last_name, first_name, body, course, laptop in chunk:
            # `statement` reads the loan only when not given its lines.
            _account, months_unpaid, owed_since, last_paid_on = _figures(None, lines[pk])
            writer.writerow(
                [
                    _csv_cell(number),
                    _csv_cell(last_name),
                    _csv_cell(first_name),
                    _csv_cell(body),
                    _csv_cell(course),
                    _csv_cell(laptop),
                    _csv_amount(balance),
                    _csv_day(owed_since),
                    months_unpaid,
                    _csv_day(last_paid_on),
                ]
            )
    return response
