"""Distribution day: the laptops of one course handed over together.

Staff prepare a loan for each approved request of the course, print every agreement in one
PDF, have them signed, then hand the ticked loans over in one go: all of them, or none, so
that a refused loan never leaves the day half-recorded.
"""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from defis.forms import is_id
from defis.pdf import pdf_response
from defis.permissions import staff_required
from trainees.models import Course

from . import agreements, lending
from .forms import DateInput
from .models import Loan, LoanRequest


class HandOverDateForm(forms.Form):
    on = forms.DateField(
        label=gettext_lazy("Handover date"),
        widget=DateInput(),
        help_text=gettext_lazy("The day the trainees signed and took their laptops."),
        error_messages={"required": gettext_lazy("Give the handover date.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = timezone.localdate()


def _course(request, course_pk) -> Course:
    return get_object_or_404(
        Course.objects.visible_to(request.user).select_related("training_body"), pk=course_pk
    )


def _prepared(course):
    return Loan.objects.filter(course=course, status=Loan.Status.PREPARED)


def _ticked(data, course):
    """The course's loans named by the ticked `loan` boxes; None when one of them is not a
    loan of this course."""
    values = data.getlist("loan")
    if not all(is_id(value) for value in values):
        return None
    ids = {int(value) for value in values}
    loans = list(Loan.objects.filter(course=course, pk__in=ids))
    return loans if len(loans) == len(ids) else None


def _today_bounds():
    """The start and end of today, local time: what was recorded today."""
    start = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    return start, start + timedelta(days=1)


@staff_required
def distribution(request, course_pk):
    course = _course(request, course_pk)
    prepared = agreements.loans_for_documents(_prepared(course)).order_by(
        "trainee__last_name", "trainee__first_name", "pk"
    )
    to_prepare = (
        LoanRequest.objects.filter(
            trainee__course=course, status=LoanRequest.Status.APPROVED, loan__isnull=True
        )
        .select_related("trainee", "laptop")
        .order_by("trainee__last_name", "trainee__first_name", "pk")
    )
    start, end = _today_bounds()
    handed_over_today = (
        Loan.objects.filter(course=course, handed_over_at__gte=start, handed_over_at__lt=end)
        .select_related("trainee", "laptop")
        .order_by("trainee__last_name", "trainee__first_name", "pk")
    )
    context = {
        "course": course,
        "prepared": prepared,
        "to_prepare": to_prepare,
        "handed_over_today": handed_over_today,
        "form": HandOverDateForm(),
    }
    return render(request, "loans/distribution.html", context)


@staff_required
@require_http_methods(["GET", "POST"])
def distribution_agreements(request, course_pk):
    """The agreements of the course's prepared loans in one PDF, to print at once: all of
    them, or those named by `?loan=<id>` (or ticked on the page and posted)."""
    course = _course(request, course_pk)
    data = request.POST if request.method == "POST" else request.GET
    loans = _prepared(course)
    if request.method == "POST" and "loan" not in data:
        messages.error(request, _("Tick at least one loan to print its agreement."))
        return redirect("loans:distribution", course_pk=course.pk)
    if "loan" in data:
        ticked = _ticked(data, course)
        if ticked is None:
            messages.error(request, _("Some of the loans asked for are not loans of this course."))
            return redirect("loans:distribution", course_pk=course.pk)
        loans = loans.filter(pk__in=[loan.pk for loan in ticked])
    loans = list(
        agreements.loans_for_documents(loans).order_by(
            "trainee__last_name", "trainee__first_name", "pk"
        )
    )
    if not loans:
        messages.error(request, _("No prepared loan to print: prepare the loans first."))
        return redirect("loans:distribution", course_pk=course.pk)
    pdf = agreements.combined_agreements(loans)
    return pdf_response(pdf, f"conventions-{course.pk}-{timezone.localdate():%Y-%m-%d}.pdf")


@staff_required
@require_POST
def distribution_hand_over(request, course_pk):
    course = _course(request, course_pk)
    form = HandOverDateForm(request.POST)
    loans = _ticked(request.POST, course)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    elif loans is None:
        messages.error(request, _("Some of the ticked loans are not loans of this course."))
    elif not loans:
        messages.error(request, _("Tick at least one loan to hand over."))
    else:
        try:
            done = lending.loans_hand_over(loans=loans, on=form.cleaned_data["on"], by=request.user)
        except ValidationError as error:
            # A reason shared by every loan (a date in the future) is said once.
            for message in dict.fromkeys(error.messages):
                messages.error(request, message)
        else:
            messages.success(
                request,
                ngettext("%(count)d loan handed over.", "%(count)d loans handed over.", len(done))
                % {"count": len(done)},
            )
    return redirect("loans:distribution", course_pk=course.pk)
