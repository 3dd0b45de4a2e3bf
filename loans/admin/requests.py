"""Requests in the admin: searched, filtered, and decided in bulk through loans.services.

Requests are made from the portal, never added here, and never deleted (their history is
what the coordinator follows). A request's status, laptop and decision are shown, never
edited: every move goes through loans.services, which checks it, locks the rows, reserves
or releases the laptop and writes the event; the bulk actions here call it request by
request and report what it refused.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from defis.audit import AuditTrailAdmin

from .. import lending, services
from ..models import Loan, LoanRequest, LoanRequestEvent
from .common import DecisionForm, ReadOnlyInline, confirmation_page

Status = LoanRequest.Status


class EventInline(ReadOnlyInline):
    """The request's history."""

    model = LoanRequestEvent
    fields = ("at", "from_status", "to_status", "by", "note")


class PrepareForm(forms.Form):
    """The intermediate page of "Prepare loans": the handover day."""

    start_date = forms.DateField(
        label=_("Handover day"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_(
            "The day the trainees come to sign the agreement and take their laptop. Each "
            "loan’s planned end is the last day of the trainee’s course."
        ),
    )


@admin.register(LoanRequest)
class LoanRequestAdmin(AuditTrailAdmin):
    list_display = (
        "number",
        "trainee",
        "training_body",
        "status",
        "needed_by",
        "submitted_at",
        "laptop",
    )
    list_display_links = ("number", "trainee")
    list_filter = (
        "status",
        ("trainee__course__training_body", admin.RelatedOnlyFieldListFilter),
        "trainee__course__training_body__territory",
    )
    search_fields = (
        "trainee__first_name",
        "trainee__last_name",
        "laptop__asset_tag",
        "laptop__serial_number",
    )
    search_help_text = _("A trainee’s name, a laptop’s asset tag or a request number (D-00012).")
    list_select_related = ("trainee__course__training_body", "laptop")
    date_hierarchy = "submitted_at"
    actions = ("approve_in_order", "waitlist", "prepare_loans", "reject", "cancel")
    # Status, laptop and decision move through the services only: shown, never sent.
    readonly_fields = (
        "number",
        "trainee",
        "status",
        "laptop",
        "submitted_at",
        "submitted_by",
        "decided_at",
        "decision_reason",
        "loan",
    )
    fieldsets = (
        (None, {"fields": ("number", "trainee", "needed_by", "justification")}),
        (
            _("Decision"),
            {"fields": ("status", "laptop", "decided_at", "decision_reason", "loan")},
        ),
        (_("Submission"), {"fields": ("submitted_at", "submitted_by")}),
    )
    inlines = (EventInline,)

    @admin.display(description=_("number"), ordering="pk")
    def number(self, loan_request):
        return loan_request.number

    @admin.display(
        description=_("training body"), ordering="trainee__course__training_body__short_name"
    )
    def training_body(self, loan_request):
        return loan_request.trainee.course.training_body.short_name

    @admin.display(description=_("loan"))
    def loan(self, loan_request):
        if loan_request.status == Status.FULFILLED:
            loan = Loan.objects.filter(request=loan_request).first()
            if loan is not None:
                url = reverse("admin:loans_loan_change", args=[loan.pk])
                return format_html('<a href="{}">{}</a>', url, loan.number)
        if loan_request.status == Status.APPROVED:
            return format_html(
                '<a href="{}">{}</a>',
                loan_request.get_absolute_url(),
                gettext("Prepare the loan from the request’s page, or with the bulk action."),
            )
        return "—"

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = re.fullmatch(r"(?:D-?)?0*(\d{1,9})", search_term.strip(), flags=re.IGNORECASE)
        if number:
            found |= queryset.filter(pk=int(number.group(1)))
        return found, may_have_duplicates

    def has_add_permission(self, request):
        # Requests are made by coordinators from the portal.
        return False

    def has_delete_permission(self, request, obj=None):
        # A decided request stays, with its history; an open one is cancelled.
        return False

    def save_model(self, request, obj, form, change):
        # The form's fields only: a status moved meanwhile is not written back.
        obj.save(update_fields=[name for name in form.fields if name in form.cleaned_data])

    # Bulk decisions, each through the services

    @admin.action(description=_("Approve in waitlist order"), permissions=["change"])
    def approve_in_order(self, request, queryset):
        outcome = services.requests_approve_in_order(
            requests=queryset.select_related("trainee"), by=request.user
        )
        if outcome.approved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d request approved: %(numbers)s.",
                    "%(count)d requests approved: %(numbers)s.",
                    len(outcome.approved),
                )
                % {
                    "count": len(outcome.approved),
                    "numbers": ", ".join(r.number for r in outcome.approved),
                },
                level=messages.SUCCESS,
            )
        for loan_request, reason in outcome.left:
            # Still waiting for a laptop: a warning; a request that cannot be approved at all
            # (already decided): an error.
            waiting = Status.APPROVED in LoanRequest.TRANSITIONS[loan_request.status]
            self.message_user(
                request,
                gettext("%(number)s (%(name)s) not approved: %(reason)s")
                % {
                    "number": loan_request.number,
                    "name": loan_request.trainee.full_name,
                    "reason": reason,
                },
                level=messages.WARNING if waiting else messages.ERROR,
            )

    @admin.action(description=_("Put on the waitlist"), permissions=["change"])
    def waitlist(self, request, queryset):
        def move(loan_request):
            services.request_waitlist(request=loan_request, by=request.user)

        self._each(
            request,
            queryset,
            move,
            done=lambda count: ngettext(
                "%(count)d request put on the waitlist.",
                "%(count)d requests put on the waitlist.",
                count,
            ),
            refused=gettext("%(number)s not put on the waitlist: %(reason)s"),
        )

    @admin.action(description=_("Prepare loans…"), permissions=["change"])
    def prepare_loans(self, request, queryset):
        """A loan for each approved request, to hand over on the day chosen."""
        form = PrepareForm(
            request.POST if "apply" in request.POST else None,
            initial={"start_date": timezone.localdate()},
        )
        if form.is_valid():
            start_date = form.cleaned_data["start_date"]
            prepared = []
            for loan_request in queryset.select_related("trainee").order_by("submitted_at", "pk"):
                try:
                    # Each in its own transaction (a savepoint of the request's).
                    loan = lending.loan_prepare(
                        request=loan_request, by=request.user, start_date=start_date
                    )
                except ValidationError as error:
                    self.message_user(
                        request,
                        gettext("%(number)s (%(name)s): no loan prepared. %(reason)s")
                        % {
                            "number": loan_request.number,
                            "name": loan_request.trainee.full_name,
                            "reason": " ".join(error.messages),
                        },
                        level=messages.ERROR,
                    )
                else:
                    prepared.append(loan.number)
            if prepared:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d loan prepared: %(numbers)s.",
                        "%(count)d loans prepared: %(numbers)s.",
                        len(prepared),
                    )
                    % {"count": len(prepared), "numbers": ", ".join(prepared)},
                    level=messages.SUCCESS,
                )
            return None
        return confirmation_page(
            self,
            request,
            form=form,
            objects=queryset.select_related("trainee__course__training_body", "laptop"),
            action="prepare_loans",
            title=gettext("Prepare loans"),
            intro=gettext(
                "A loan is prepared for each approved request below, with the laptop reserved "
                "for it: its agreement can then be printed, and the laptop handed over on the "
                "day you choose."
            ),
            submit=gettext("Prepare the loans"),
            template="admin/loans/loanrequest/decide.html",
        )

    @admin.action(description=_("Reject…"), permissions=["change"])
    def reject(self, request, queryset):
        return self._decide(
            request,
            queryset,
            action="reject",
            title=gettext("Reject requests"),
            intro=gettext(
                "The requests below are rejected with the reason you give, which the "
                "coordinator receives by email. An approved request’s laptop goes back to "
                "the ready stock."
            ),
            submit=gettext("Reject"),
            reason_required=True,
            move=lambda loan_request, reason: services.request_reject(
                request=loan_request, reason=reason, by=request.user
            ),
            done=lambda count: ngettext(
                "%(count)d request rejected.", "%(count)d requests rejected.", count
            ),
            refused=gettext("%(number)s not rejected: %(reason)s"),
        )

    @admin.action(description=_("Cancel…"), permissions=["change"])
    def cancel(self, request, queryset):
        return self._decide(
            request,
            queryset,
            action="cancel",
            title=gettext("Cancel requests"),
            intro=gettext(
                "The requests below are cancelled, for example when the trainee has left the "
                "course or no longer needs a laptop. An approved request’s laptop goes back "
                "to the ready stock."
            ),
            submit=gettext("Cancel the requests"),
            reason_required=False,
            move=lambda loan_request, reason: services.request_cancel(
                request=loan_request, reason=reason, by=request.user
            ),
            done=lambda count: ngettext(
                "%(count)d request cancelled.", "%(count)d requests cancelled.", count
            ),
            refused=gettext("%(number)s not cancelled: %(reason)s"),
        )

    def _decide(self, request, queryset, *, action, title, intro, submit, reason_required, **how):
        """An action that asks for a reason on an intermediate page, then moves each
        request through the service."""
        form = DecisionForm(
            request.POST if "apply" in request.POST else None, reason_required=reason_required
        )
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            move = how.pop("move")
            self._each(request, queryset, lambda loan_request: move(loan_request, reason), **how)
            return None
        return confirmation_page(
            self,
            request,
            form=form,
            objects=queryset.select_related("trainee__course__training_body", "laptop"),
            action=action,
            title=title,
            intro=intro,
            submit=submit,
            template="admin/loans/loanrequest/decide.html",
        )

    def _each(self, request, queryset, move, *, done, refused):
        """Each request moved by its own service call (its own transaction): those the
        service refuses stay as they were and are reported with the reason."""
        moved = 0
        refusals = []
        for loan_request in queryset.order_by("submitted_at", "pk"):
            try:
                move(loan_request)
            except ValidationError as error:  # RequestError, or the laptop's own refusal
                refusals.append(
                    refused % {"number": loan_request.number, "reason": " ".join(error.messages)}
                )
            else:
                moved += 1
        if moved:
            self.message_user(request, done(moved) % {"count": moved}, level=messages.SUCCESS)
        for message in refusals:
            self.message_user(request, message, level=messages.ERROR)
