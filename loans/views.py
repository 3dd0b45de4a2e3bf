"""Laptop requests: coordinators ask and follow, staff decide.

Requests are fetched through `LoanRequest.objects.visible_to(request.user)`: another body's
request answers 404. Decisions are staff only; a coordinator may cancel their own request.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from defis.forms import is_id
from defis.permissions import is_staff_member, staff_or_coordinator_required, staff_required
from inventory.models import Laptop
from trainees.filters import page_of
from trainees.models import Course, Trainee

from . import services
from .filters import OPEN, RequestFilter
from .forms import ApproveForm, CancelForm, CourseRequestForm, RejectForm, RequestForm
from .models import LoanRequest

PAGE_SIZE = 50


def _requests(user):
    return LoanRequest.objects.visible_to(user).select_related(
        "trainee__course__training_body", "laptop"
    )


def _show(request, error: ValidationError):
    for message in error.messages:
        messages.error(request, message)


def _stock_summary():
    """What staff need to decide: the ready stock, the waitlist and who is next."""
    return {
        "ready_count": Laptop.objects.in_stock().count(),
        "waiting_count": LoanRequest.objects.waitlist().count(),
        "next_request": services.next_on_waitlist(),
    }


@staff_or_coordinator_required
def request_list(request):
    """The staff's request queue; a coordinator's own requests."""
    data = request.GET.copy()
    data.setdefault("status", OPEN)
    filterset = RequestFilter(data, queryset=_requests(request.user), user=request.user)
    filtered = filterset.qs if filterset.is_valid() else LoanRequest.objects.none()
    # Waitlisted first, in waitlist order; then the others, oldest first.
    page = page_of(
        filtered,
        request.GET.get("page"),
        order_by=("submitted_at", "pk"),
        rows=_requests(request.user),
        per_page=PAGE_SIZE,
    )
    waitlist = list(LoanRequest.objects.waitlist().values_list("pk", flat=True))
    positions = {pk: position for position, pk in enumerate(waitlist, start=1)}
    for item in page:
        item.position = positions.get(item.pk)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "page_obj": page,
        "page_query": query.urlencode(),
        "is_staff": is_staff_member(request.user),
    }
    if context["is_staff"]:
        # As _stock_summary, from the waitlist read above.
        context.update(
            ready_count=Laptop.objects.in_stock().count(),
            waiting_count=len(waitlist),
            next_request=services.next_on_waitlist() if waitlist else None,
        )
    return render(request, "loans/request_list.html", context)


@staff_or_coordinator_required
def request_new(request):
    trainee_id = request.GET.get("trainee", "")
    trainee = get_object_or_404(
        Trainee.objects.visible_to(request.user).select_related("course__training_body"),
        pk=int(trainee_id) if is_id(trainee_id) else 0,
    )
    form = RequestForm(request.POST or None, course=trainee.course)
    if request.method == "POST" and form.is_valid():
        try:
            made = services.request_submit(trainee=trainee, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("Request %(number)s for %(name)s is submitted.")
                % {"number": made.number, "name": trainee.full_name},
            )
            return redirect(made)
    return render(request, "loans/request_form.html", {"form": form, "trainee": trainee})


@staff_or_coordinator_required
def requests_new_for_course(request, course_pk):
    course = get_object_or_404(
        Course.objects.visible_to(request.user).select_related("training_body"), pk=course_pk
    )
    eligible = course.trainees.exclude(loan_requests__status__in=LoanRequest.OPEN).order_by(
        "last_name", "first_name"
    )
    form = CourseRequestForm(request.POST or None, course=course, trainees=eligible)
    if request.method == "POST" and form.is_valid():
        try:
            made = services.requests_submit(
                trainees=list(form.cleaned_data["trainees"]),
                needed_by=form.cleaned_data["needed_by"],
                justification=form.cleaned_data["justification"],
                by=request.user,
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                ngettext("%(count)d request submitted.", "%(count)d requests submitted.", len(made))
                % {"count": len(made)},
            )
            return redirect(f"{reverse('loans:requests')}?course={course.pk}")
    return render(
        request,
        "loans/requests_for_course.html",
        {"form": form, "course": course, "has_eligible": eligible.exists()},
    )


@staff_or_coordinator_required
def request_detail(request, pk):
    loan_request = get_object_or_404(_requests(request.user), pk=pk)
    is_staff = is_staff_member(request.user)
    context = {
        "loan_request": loan_request,
        "events": loan_request.events.select_related("by"),
        "position": services.waitlist_position(loan_request),
        "is_staff": is_staff,
        "cancel_form": CancelForm(),
    }
    if is_staff and loan_request.is_open:
        context.update(
            _stock_summary(),
            approve_form=ApproveForm(),
            reject_form=RejectForm(),
            suggested=services.suggested_laptop(),
        )
    return render(request, "loans/request_detail.html", context)


def _decide(request, pk, decide, success):
    """Run one staff decision on a request; errors come back as messages."""
    loan_request = get_object_or_404(_requests(request.user), pk=pk)
    try:
        loan_request = decide(loan_request)
    except ValidationError as error:
        _show(request, error)
    else:
        messages.success(request, success(loan_request))
    return redirect(loan_request)


@staff_required
@require_POST
def request_approve(request, pk):
    form = ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This laptop is no longer ready to lend: choose another one."))
        return redirect("loans:request", pk=pk)
    return _decide(
        request,
        pk,
        lambda r: services.request_approve(
            request=r,
            laptop=form.cleaned_data["laptop"],
            note=form.cleaned_data["note"],
            by=request.user,
        ),
        lambda r: (
            _("Request %(number)s is approved: %(tag)s is reserved.")
            % {"number": r.number, "tag": r.laptop.asset_tag}
        ),
    )


@staff_required
@require_POST
def request_waitlist(request, pk):
    return _decide(
        request,
        pk,
        lambda r: services.request_waitlist(request=r, by=request.user),
        lambda r: (
            _("Request %(number)s is on the waitlist, in position %(position)s.")
            % {"number": r.number, "position": services.waitlist_position(r)}
        ),
    )


@staff_required
@require_POST
def request_reject(request, pk):
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for the rejection."))
        return redirect("loans:request", pk=pk)
    return _decide(
        request,
        pk,
        lambda r: services.request_reject(
            request=r, reason=form.cleaned_data["reason"], by=request.user
        ),
        lambda r: _("Request %(number)s is rejected.") % {"number": r.number},
    )


@staff_or_coordinator_required
@require_POST
def request_cancel(request, pk):
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _decide(
        request,
        pk,
        lambda r: services.request_cancel(request=r, reason=reason, by=request.user),
        lambda r: _("Request %(number)s is cancelled.") % {"number": r.number},
    )


@staff_required
@require_POST
def requests_approve_in_order(request):
    """Approve the ticked requests, or the whole waitlist, in waitlist order, as far as the
    ready stock goes."""
    ids = [value for value in request.POST.getlist("requests") if is_id(value)]
    if request.POST.get("scope") == "waitlist":
        chosen = list(LoanRequest.objects.waitlist())
    else:
        chosen = list(LoanRequest.objects.open().filter(pk__in=ids))
    if not chosen:
        messages.error(request, _("Tick at least one submitted or waitlisted request."))
        return redirect("loans:requests")
    result = services.requests_approve_in_order(
        requests=[r for r in chosen if r.status != LoanRequest.Status.APPROVED],
        by=request.user,
        now=timezone.now(),
    )
    if result.approved:
        messages.success(
            request,
            ngettext(
                "%(count)d request approved, in waitlist order.",
                "%(count)d requests approved, in waitlist order.",
                len(result.approved),
            )
            % {"count": len(result.approved)},
        )
    for left, reason in result.left:
        messages.warning(
            request, _("%(number)s: %(reason)s") % {"number": left.number, "reason": reason}
        )
    return redirect("loans:requests")
