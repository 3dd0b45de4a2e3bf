"""Loan pages: the staff's list and loan page with its actions; coordinators see their own
trainees' loans read-only and report a trainee who left the course.

Loans are fetched through `Loan.objects.visible_to(request.user)`: another body's loan
answers 404. Each action is a small view: GET shows its form, POST calls one lending
service and goes back to the loan; a refused move shows the service's message on the form
and changes nothing.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from defis.pdf import pdf_response
from defis.permissions import is_staff_member, staff_or_coordinator_required, staff_required
from trainees.filters import page_of

from . import agreements, balances, lending
from .envelope_forms import refused_by_envelope
from .loan_filters import ENDING_SOON, ENDING_SOON_DAYS, OPEN, OVERDUE, LoanFilter
from .loan_forms import (
    CancelForm,
    DepartureForm,
    ExtendForm,
    HandOverForm,
    LossForm,
    PrepareForm,
    ReturnForm,
    ScanForm,
)
from .models import Loan, LoanRequest

PAGE_SIZE = 50
Status = Loan.Status


def _loans(user):
    return Loan.objects.visible_to(user).select_related(
        "trainee", "course__training_body", "laptop"
    )


def _day(value) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


def _loan(request, pk) -> Loan:
    return get_object_or_404(_loans(request.user), pk=pk)


def allowed_actions(loan: Loan, user) -> list[str]:
    """The actions the loan page offers this user now. The lending services decide in the
    end; this only keeps buttons that could not work off the page."""
    if is_staff_member(user):
        if loan.status == Status.PREPARED:
            return ["hand_over", "cancel"]
        if loan.status == Status.ACTIVE:
            if loan.left_course_on:
                return ["return", "loss"]
            return ["extend", "return", "loss", "departure"]
        return []
    if loan.status in Loan.OPEN and not loan.left_course_on:
        return ["departure"]
    return []


# --- The list -------------------------------------------------------------------------------


def _status_counts(user, today):
    """How many loans of each kind the user may see: one query, whatever the number of loans;
    "overdue" and "ending soon" are the queryset's own definitions."""
    rows = (
        Loan.objects.visible_to(user)
        .order_by()
        .values("status")
        .annotate(
            n=Count("pk"),
            overdue=Count("pk", filter=Loan.objects.overdue_condition(today=today)),
            ending_soon=Count(
                "pk",
                filter=Loan.objects.ending_soon_condition(today=today, days=ENDING_SOON_DAYS),
            ),
        )
    )
    counts = {status.value: 0 for status in Status} | {"overdue": 0, "ending_soon": 0}
    for row in rows:
        counts[row["status"]] = row["n"]
        counts["overdue"] += row["overdue"]
        counts["ending_soon"] += row["ending_soon"]
    counts["total"] = sum(counts[status.value] for status in Status)
    return counts


def _pills(query, counts):
    """The links above the list: one per status, and the two reminders of what is due."""
    query = query.copy()
    query.pop("page", None)
    query.pop("status", None)
    query.pop("end", None)

    def link(status="", end=""):
        params = query.copy()
        params["status"] = status
        if end:
            params["end"] = end
        return params.urlencode()

    open_count = counts[Status.PREPARED] + counts[Status.ACTIVE]
    pills = [
        {"key": OPEN, "label": _("Open"), "count": open_count, "query": link(OPEN)},
        *(
            {"key": s.value, "label": s.label, "count": counts[s.value], "query": link(s.value)}
            for s in Status
        ),
        {"key": "", "label": _("All"), "count": counts["total"], "query": link()},
    ]
    due = [
        {
            "key": OVERDUE,
            "label": _("Overdue"),
            "count": counts["overdue"],
            "query": link(OPEN, OVERDUE),
        },
        {
            "key": ENDING_SOON,
            "label": _("Ending within 14 days"),
            "count": counts["ending_soon"],
            "query": link(OPEN, ENDING_SOON),
        },
    ]
    return pills, due


@staff_or_coordinator_required
def loan_list(request):
    """Staff: every loan, open ones first by default; coordinators: their trainees' loans."""
    today = timezone.localdate()
    data = request.GET.copy()
    data.setdefault("status", OPEN)
    filterset = LoanFilter(data, queryset=_loans(request.user), user=request.user, today=today)
    filtered = filterset.qs if filterset.is_valid() else Loan.objects.none()
    page = page_of(
        filtered,
        request.GET.get("page"),
        order_by=("planned_end_date", "pk") if data.get("end") else Loan._meta.ordering,
        # The balance column, in the same query, for the page's loans only.
        rows=balances.with_balance(_loans(request.user)),
        per_page=PAGE_SIZE,
    )
    for loan in page:
        loan.overdue = loan.is_overdue(today=today)
    counts = _status_counts(request.user, today)
    pills, due = _pills(request.GET, counts)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "page_obj": page,
        "page_query": query.urlencode(),
        "is_staff": is_staff_member(request.user),
        "pills": pills,
        "due": due,
        "current_status": data.get("status", ""),
        "current_end": data.get("end", ""),
    }
    return render(request, "loans/loan_list.html", context)


# --- The loan page --------------------------------------------------------------------------


@staff_or_coordinator_required
def loan_detail(request, pk):
    loan = get_object_or_404(
        _loans(request.user).select_related("agreement_template", "request", "envelope"), pk=pk
    )
    is_staff = is_staff_member(request.user)
    today = timezone.localdate()
    # Once the trainee is anonymised, nothing more is written about them: no scan, no ledger
    # line (the services refuse them; the page does not offer them).
    anonymised = loan.trainee.is_anonymised
    context = {
        "loan": loan,
        "anonymised": anonymised,
        "events": loan.events.select_related("by"),
        "is_staff": is_staff,
        "actions": allowed_actions(loan, request.user),
        "overdue": loan.is_overdue(today=today),
        "can_upload_scan": is_staff
        and not anonymised
        and loan.status in (Status.ACTIVE, Status.CLOSED),
        "scan_form": ScanForm(),
        "has_return_record": loan.outcome == Loan.Outcome.RETURNED,
        # The account (one query for the ledger lines), once the loan is handed over.
        "account": balances.loan_account(loan) if loan.handed_over_at else None,
    }
    return render(request, "loans/loan_detail.html", context)


# --- Actions --------------------------------------------------------------------------------


def _action(request, loan, *, action, form, run, success, title, submit, intro="", warning=""):
    """One action page: the form on GET; on POST, the service, then back to the loan with a
    message, or the form again with the service's reasons."""
    if action not in allowed_actions(loan, request.user) and request.method != "POST":
        messages.error(
            request,
            _("Loan %(number)s is “%(status)s”: this is not possible now.")
            % {"number": loan.number, "status": loan.get_status_display()},
        )
        return redirect(loan)
    if request.method == "POST" and form.is_valid():
        try:
            done = run(form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
            if refused_by_envelope(error) and "override_reason" in form.fields:
                form.ask_override_reason()
        else:
            messages.success(request, success(done))
            return redirect(done)
    context = {
        "loan": loan,
        "form": form,
        "title": title,
        "submit": submit,
        "intro": intro,
        "warning": warning,
        "is_staff": is_staff_member(request.user),
    }
    return render(request, "loans/loan_action.html", context)


@staff_required
def loan_prepare(request, pk):
    """Turn an approved request into a loan ready to hand over."""
    loan_request = get_object_or_404(
        LoanRequest.objects.visible_to(request.user).select_related(
            "trainee__course__training_body", "laptop"
        ),
        pk=pk,
    )
    if loan_request.status != LoanRequest.Status.APPROVED:
        messages.error(
            request,
            _("Request %(number)s is “%(status)s”: only an approved request becomes a loan.")
            % {"number": loan_request.number, "status": loan_request.get_status_display()},
        )
        return redirect(loan_request)
    form = PrepareForm(request.POST or None, loan_request=loan_request)
    if request.method == "POST" and form.is_valid():
        try:
            loan = lending.loan_prepare(request=loan_request, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
            if refused_by_envelope(error):
                form.ask_override_reason()
        else:
            messages.success(
                request,
                _("Loan %(number)s is prepared: print the agreement for the handover.")
                % {"number": loan.number},
            )
            return redirect(loan)
    return render(request, "loans/loan_prepare.html", {"loan_request": loan_request, "form": form})


@staff_required
def loan_hand_over(request, pk):
    loan = _loan(request, pk)
    form = HandOverForm(request.POST or None, loan=loan)
    return _action(
        request,
        loan,
        action="hand_over",
        form=form,
        run=lambda data: lending.loan_hand_over(loan=loan, by=request.user, **data),
        success=lambda done: (
            _(
                "Loan %(number)s is handed over. Add the scan of the signed agreement when "
                "you have it."
            )
            % {"number": done.number}
        ),
        title=_("Hand over %(number)s") % {"number": loan.number},
        submit=_("Record the handover"),
        intro=_(
            "The trainee has signed the agreement and takes the laptop. The loan starts on "
            "the handover date."
        ),
        warning=_(
            "The agreement states the handover date (%(date)s), the accessories and the "
            "condition: if any of them changes here, print the agreement again and have it "
            "signed before you hand the laptop over."
        )
        % {"date": _day(loan.start_date)},
    )


@staff_required
def loan_extend(request, pk):
    loan = _loan(request, pk)
    form = ExtendForm(request.POST or None)
    return _action(
        request,
        loan,
        action="extend",
        form=form,
        run=lambda data: lending.loan_extend(loan=loan, by=request.user, **data),
        success=lambda done: (
            _("Loan %(number)s now ends on %(date)s.")
            % {"number": done.number, "date": _day(done.planned_end_date)}
        ),
        title=_("Extend %(number)s") % {"number": loan.number},
        submit=_("Extend the loan"),
        intro=_("The loan now ends on %(date)s.") % {"date": _day(loan.planned_end_date)},
    )


@staff_required
def loan_return(request, pk):
    loan = _loan(request, pk)
    form = ReturnForm(request.POST or None, loan=loan)
    return _action(
        request,
        loan,
        action="return",
        form=form,
        run=lambda data: lending.loan_return(loan=loan, by=request.user, **data),
        success=lambda done: format_html(
            _(
                'Loan {number} is closed: print the <a href="{record}">return record</a> '
                "to sign. The laptop {tag} must be wiped before it is lent again: record the "
                'wipe on <a href="{laptop}">its page</a>.'
            ),
            number=done.number,
            record=reverse("loans:loan_return_record", args=[done.pk]),
            tag=done.laptop.asset_tag,
            laptop=done.laptop.get_absolute_url(),
        ),
        title=_("Record the return of %(number)s") % {"number": loan.number},
        submit=_("Record the return"),
        intro=_(
            "Check the laptop and its accessories with the trainee. The laptop then waits "
            "for a data wipe before it is lent again."
        ),
    )


@staff_required
def loan_loss(request, pk):
    loan = _loan(request, pk)
    form = LossForm(request.POST or None)
    return _action(
        request,
        loan,
        action="loss",
        form=form,
        run=lambda data: lending.loan_report_loss(loan=loan, by=request.user, **data),
        success=lambda done: (
            _("Loan %(number)s is closed: %(outcome)s.")
            % {"number": done.number, "outcome": done.get_outcome_display()}
        ),
        title=_("Lost, stolen or written off: %(number)s") % {"number": loan.number},
        submit=_("Close the loan"),
        intro=_(
            "The laptop will not come back. A theft is recorded with the reference of the "
            "police report; a write-off with its reason."
        ),
    )


@staff_required
def loan_cancel(request, pk):
    loan = _loan(request, pk)
    form = CancelForm(request.POST or None)
    return _action(
        request,
        loan,
        action="cancel",
        form=form,
        run=lambda data: lending.loan_cancel(loan=loan, by=request.user, **data),
        success=lambda done: (
            _("Loan %(number)s is cancelled: %(tag)s is ready to lend again.")
            % {"number": done.number, "tag": done.laptop.asset_tag}
        ),
        title=_("Cancel %(number)s") % {"number": loan.number},
        submit=_("Cancel the loan"),
        intro=_("The laptop has not been handed over: it goes back to the ready stock."),
    )


@staff_or_coordinator_required
def loan_departure(request, pk):
    """The trainee left the course: staff, or the trainee's coordinator, say so."""
    loan = _loan(request, pk)
    form = DepartureForm(request.POST or None)
    if loan.status == Status.PREPARED:
        intro = _(
            "The laptop has not been handed over yet: the loan is cancelled and the laptop "
            "goes back to the stock."
        )
    else:
        intro = _(
            "The loan then ends on the day the trainee left, and the laptop is due back. "
            "The Défis team is told by email and arranges the return."
        )
    return _action(
        request,
        loan,
        action="departure",
        form=form,
        run=lambda data: lending.loan_end_early(loan=loan, by=request.user, **data),
        success=lambda done: (
            _("The departure of %(name)s is recorded.") % {"name": done.trainee.full_name}
        ),
        title=_("Report that %(name)s left the course") % {"name": loan.trainee.full_name},
        submit=_("Report the departure"),
        intro=intro,
    )


# --- Documents ------------------------------------------------------------------------------


def _document_loan(request, pk) -> Loan:
    return get_object_or_404(
        agreements.loans_for_documents(Loan.objects.visible_to(request.user)), pk=pk
    )


@staff_or_coordinator_required
def loan_agreement(request, pk):
    """The agreement to print, or the frozen copy once signed."""
    loan = _document_loan(request, pk)
    try:
        content = agreements.agreement_pdf(loan)
    except agreements.NoAgreement as error:
        raise Http404 from error
    return pdf_response(content, f"convention-{loan.number}.pdf")


@staff_or_coordinator_required
def loan_return_record(request, pk):
    loan = _document_loan(request, pk)
    if loan.outcome != Loan.Outcome.RETURNED:
        raise Http404
    return pdf_response(agreements.render_return_record(loan), f"restitution-{loan.number}.pdf")


@staff_or_coordinator_required
def loan_scan(request, pk):
    """The scan of the signed agreement: served only here, to those who may see the loan."""
    loan = _loan(request, pk)
    if not loan.signed_scan:
        raise Http404
    try:
        file = loan.signed_scan.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(
        file, content_type="application/pdf", filename=f"convention-signee-{loan.number}.pdf"
    )
    # Personal data, often opened on shared computers: no copy kept in a cache.
    patch_cache_control(response, private=True, no_store=True)
    return response


@staff_required
@require_POST
def loan_scan_upload(request, pk):
    loan = _loan(request, pk)
    form = ScanForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect(loan)
    try:
        lending.loan_attach_scan(loan=loan, upload=form.cleaned_data["scan"], by=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("The signed scan of %(number)s is kept.") % {"number": loan.number}
        )
    return redirect(loan)
