"""Requests, loans, agreement versions and reminders in the admin: searched, filtered, and
moved in bulk through the services.

Requests are made from the portal, never added here, and never deleted (their history is
what the coordinator follows). A request's status, laptop and decision are shown, never
edited: every move goes through loans.services, which checks it, locks the rows, reserves
or releases the laptop and writes the event; the bulk actions here call it request by
request and report what it refused.

Loans are prepared from an approved request and move through loans.lending only: here they
are read, their notes edited, their agreements printed and prepared ones cancelled, never
added or deleted (they are records). The agreement's text is never changed in place: each
save in the admin is a new version, and a signed agreement keeps its own.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from defis.pdf import pdf_response

from . import agreements, lending, services
from .models import AgreementTemplate, Loan, LoanEvent, LoanRequest, LoanRequestEvent, ReminderLog

Status = LoanRequest.Status

# Agreements printed in one go by the admin action: a distribution day is one course.
MAX_PRINTED_AGREEMENTS = 60


class ReadOnlyInline(admin.TabularInline):
    """A history written by the services: read, never edited."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyInline):
    """The request's history."""

    model = LoanRequestEvent
    fields = ("at", "from_status", "to_status", "by", "note")


def confirmation_page(
    model_admin, request, *, form, objects, action, title, intro, submit, template
):
    """The intermediate page of a bulk action that asks for more (a reason, a date)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "submit": submit,
        "opts": model_admin.opts,
        "form": form,
        "action": action,
        "objects": objects,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media + form.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, template, context)


class DecisionForm(forms.Form):
    """The intermediate page of a rejection (reason required) or a cancellation."""

    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Written in the history of each request; a rejection’s reason is emailed."),
    )

    def __init__(self, *args, reason_required=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required


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
class LoanRequestAdmin(admin.ModelAdmin):
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


# --- Loans ----------------------------------------------------------------------------------


class PlannedEndFilter(admin.SimpleListFilter):
    """Loans to chase: the return is overdue, or the planned end is near."""

    title = _("planned end")
    parameter_name = "planned_end"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("ending_soon", _("Ending within 14 days")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.overdue(today=today)
        if self.value() == "ending_soon":
            return queryset.ending_soon(today=today, days=14)
        return queryset


def _short(day) -> str:
    return date_format(day, "SHORT_DATE_FORMAT") if day else "—"


class LoanEventInline(ReadOnlyInline):
    """The loan's timeline."""

    model = LoanEvent
    fields = ("on", "kind", "note", "by", "at")


class CancelLoansForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Written in the history of each loan."),
    )


# What a loan records, shown and never edited here: it moves through loans.lending only.
LOAN_RECORD = (
    "number",
    "request",
    "trainee",
    "course",
    "laptop",
    "status",
    "outcome",
    "start_date",
    "planned_end_date",
    "return_date",
    "left_course_on",
    "monthly_fee",
    "accessories_handed_over",
    "condition_out",
    "accessories_returned",
    "condition_back",
    "damage",
    "police_report_reference",
    "agreement_template",
    "agreement",
    "scan",
    "prepared_at",
    "prepared_by",
    "handed_over_at",
    "closed_at",
)


@admin.register(Loan)
class LoanAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "trainee",
        "training_body",
        "laptop_tag",
        "status",
        "start",
        "planned_end",
        "returned_on",
        "outcome",
    )
    list_display_links = ("number", "trainee")
    list_filter = (
        "status",
        "outcome",
        ("course__training_body", admin.RelatedOnlyFieldListFilter),
        "course__training_body__territory",
        PlannedEndFilter,
    )
    search_fields = (
        "number",
        "trainee__first_name",
        "trainee__last_name",
        "laptop__asset_tag",
        "laptop__serial_number",
    )
    search_help_text = _(
        "A loan number (PRET-2026-0012), a trainee’s name, a laptop’s asset tag or serial number."
    )
    list_select_related = ("trainee", "course__training_body", "laptop")
    date_hierarchy = "start_date"
    actions = ("print_agreements", "cancel_prepared")
    readonly_fields = LOAN_RECORD
    fieldsets = (
        (
            None,
            {"fields": ("number", "request", "trainee", "course", "laptop", "status", "outcome")},
        ),
        (
            _("Dates"),
            {"fields": ("start_date", "planned_end_date", "return_date", "left_course_on")},
        ),
        (
            _("Handover and return"),
            {
                "fields": (
                    "accessories_handed_over",
                    "condition_out",
                    "accessories_returned",
                    "condition_back",
                    "damage",
                    "police_report_reference",
                )
            },
        ),
        (_("Agreement"), {"fields": ("agreement_template", "agreement", "scan", "monthly_fee")}),
        (
            _("History"),
            {"fields": ("prepared_at", "prepared_by", "handed_over_at", "closed_at")},
        ),
        (None, {"fields": ("notes",)}),
    )
    inlines = (LoanEventInline,)

    @admin.display(description=_("training body"), ordering="course__training_body__short_name")
    def training_body(self, loan):
        return loan.course.training_body.short_name

    @admin.display(description=_("laptop"), ordering="laptop__asset_tag")
    def laptop_tag(self, loan):
        return loan.laptop.asset_tag

    # Short dates: the list has many columns.
    @admin.display(description=_("start date"), ordering="start_date")
    def start(self, loan):
        return _short(loan.start_date)

    @admin.display(description=_("planned end date"), ordering="planned_end_date")
    def planned_end(self, loan):
        return _short(loan.planned_end_date)

    @admin.display(description=_("return date"), ordering="return_date")
    def returned_on(self, loan):
        return _short(loan.return_date)

    @admin.display(description=_("accessories handed over"))
    def accessories_handed_over(self, loan):
        return ", ".join(loan.accessories_out_labels) or "—"

    @admin.display(description=_("accessories returned"))
    def accessories_returned(self, loan):
        if loan.status != Loan.Status.CLOSED:
            return "—"
        return ", ".join(loan.accessories_back_labels) or gettext("none")

    @admin.display(description=_("agreement"))
    def agreement(self, loan):
        # Served by the loan pages, which check who asks: the stored file never is.
        if loan.status == Loan.Status.CANCELLED:
            return "—"
        label = (
            gettext("Signed agreement (PDF)")
            if loan.agreement_pdf
            else gettext("Agreement to print (PDF)")
        )
        return format_html(
            '<a href="{}">{}</a>', reverse("loans:loan_agreement", args=[loan.pk]), label
        )

    @admin.display(description=_("signed scan"))
    def scan(self, loan):
        if not loan.signed_scan:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("loans:loan_scan", args=[loan.pk]),
            gettext("Scan of the signed agreement (PDF)"),
        )

    def has_add_permission(self, request):
        # A loan is prepared from an approved request (its page, or the requests' bulk action).
        return False

    def has_delete_permission(self, request, obj=None):
        # Loans are records: a prepared loan is cancelled, an active one closed.
        return False

    def save_model(self, request, obj, form, change):
        # The notes only: the rest moves through loans.lending.
        obj.save(update_fields=[name for name in form.fields if name in form.cleaned_data])

    @admin.action(description=_("Print the agreements (one PDF)"), permissions=["view"])
    def print_agreements(self, request, queryset):
        """The agreements of prepared loans, to print for a distribution day. A handed-over
        loan's signed copy is on its own page."""
        prepared = queryset.filter(status=Loan.Status.PREPARED)
        others = list(
            queryset.exclude(status=Loan.Status.PREPARED)
            .order_by("number")
            .values_list("number", flat=True)
        )
        if others:
            self.message_user(
                request,
                ngettext(
                    "%(count)d loan not printed: %(numbers)s. Only prepared loans are printed "
                    "together; the agreement a trainee signed is on the page of their loan.",
                    "%(count)d loans not printed: %(numbers)s. Only prepared loans are printed "
                    "together; the agreement a trainee signed is on the page of their loan.",
                    len(others),
                )
                % {
                    "count": len(others),
                    "numbers": ", ".join(others[:10]) + (" …" if len(others) > 10 else ""),
                },
                level=messages.WARNING,
            )
        count = prepared.count()
        if count == 0:
            self.message_user(
                request, gettext("No prepared loan selected: nothing to print."), messages.ERROR
            )
            return None
        if count > MAX_PRINTED_AGREEMENTS:
            self.message_user(
                request,
                gettext(
                    "%(count)s agreements selected: print at most %(max)s at once, for example "
                    "one course at a time."
                )
                % {"count": count, "max": MAX_PRINTED_AGREEMENTS},
                messages.ERROR,
            )
            return None
        loans = agreements.loans_for_documents(prepared).order_by(
            "course__title", "trainee__last_name", "trainee__first_name", "pk"
        )
        pdf = agreements.combined_agreements(loans)
        return pdf_response(pdf, f"conventions-{timezone.localdate():%Y-%m-%d}.pdf")

    @admin.action(description=_("Cancel prepared loans…"), permissions=["change"])
    def cancel_prepared(self, request, queryset):
        form = CancelLoansForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return confirmation_page(
                self,
                request,
                form=form,
                objects=queryset.select_related("trainee", "course__training_body", "laptop"),
                action="cancel_prepared",
                title=gettext("Cancel prepared loans"),
                intro=gettext(
                    "The prepared loans below are cancelled with the reason you give, and "
                    "their laptops go back to the ready stock. A loan already handed over is "
                    "not cancelled: record its return instead."
                ),
                submit=gettext("Cancel the loans"),
                template="admin/loans/loan/confirm.html",
            )
        reason = form.cleaned_data["reason"]
        cancelled = []
        for loan in queryset.order_by("pk"):
            try:
                # Each in its own transaction (a savepoint of the request's).
                lending.loan_cancel(loan=loan, reason=reason, by=request.user)
            except ValidationError as error:
                self.message_user(
                    request,
                    gettext("%(number)s: not cancelled. %(reason)s")
                    % {"number": loan.number, "reason": " ".join(error.messages)},
                    level=messages.ERROR,
                )
            else:
                cancelled.append(loan.number)
        if cancelled:
            self.message_user(
                request,
                ngettext(
                    "%(count)d loan cancelled: %(numbers)s.",
                    "%(count)d loans cancelled: %(numbers)s.",
                    len(cancelled),
                )
                % {"count": len(cancelled), "numbers": ", ".join(cancelled)},
                level=messages.SUCCESS,
            )
        return None


# --- Agreement versions -------------------------------------------------------------------


@admin.register(AgreementTemplate)
class AgreementTemplateAdmin(admin.ModelAdmin):
    """The agreement's text. Saving never changes a version: it adds the next one, which new
    agreements are printed with; loans signed with an earlier version keep it."""

    list_display = ("version", "title", "created_at", "created_by", "loan_count")
    list_display_links = ("version", "title")
    list_select_related = ("created_by",)
    readonly_fields = ("version", "created_at", "created_by")
    TEXT = ("title", "preamble", "obligations", "data_protection", "closing")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_loan_count=Count("loans"))

    @admin.display(description=_("loans signed with it"), ordering="_loan_count")
    def loan_count(self, template):
        return template._loan_count

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": self.TEXT}),)
        latest = AgreementTemplate.objects.aggregate(Max("version"))["version__max"]
        return (
            (
                None,
                {
                    "fields": ("version", "created_at", "created_by"),
                    "description": ngettext(
                        "Saving adds version %(next)s with the text below, and new agreements "
                        "are printed with it. Version %(version)s stays as it is: %(count)d "
                        "loan was signed with it.",
                        "Saving adds version %(next)s with the text below, and new agreements "
                        "are printed with it. Version %(version)s stays as it is: %(count)d "
                        "loans were signed with it.",
                        obj._loan_count,
                    )
                    % {"next": latest + 1, "version": obj.version, "count": obj._loan_count},
                },
            ),
            (_("Text of the agreement"), {"fields": self.TEXT}),
        )

    # Room to read the text being edited.
    ROWS = {"preamble": 8, "obligations": 12, "data_protection": 14, "closing": 3}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "title":
            kwargs["widget"] = forms.TextInput(attrs={"class": "vLargeTextField"})
        elif db_field.name in self.ROWS:
            kwargs["widget"] = forms.Textarea(
                attrs={"class": "vLargeTextField", "rows": self.ROWS[db_field.name]}
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # "Save and add another" would read as a blank agreement: saving here is the way to
        # a new version.
        extra_context = {**(extra_context or {}), "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request, obj=None):
        # Signed loans point to their version (PROTECT); older versions are the record of
        # what was signed.
        return False

    def save_model(self, request, obj, form, change):
        """Insert a new version, never update one. A text the same as the current version's
        adds none (an older version saved unchanged does: its text comes back)."""
        request._agreement_previous_version = obj.version if change else None
        current = AgreementTemplate.objects.current() if change else None
        if current is not None and all(
            getattr(obj, name) == getattr(current, name) for name in self.TEXT
        ):
            request._agreement_kept = current
            return
        for _attempt in range(3):
            obj.pk = None
            obj._state.adding = True
            latest = AgreementTemplate.objects.aggregate(Max("version"))["version__max"]
            obj.version = (latest or 0) + 1
            obj.created_at = timezone.now()
            obj.created_by = request.user
            try:
                with transaction.atomic():
                    obj.save(force_insert=True)
            except IntegrityError:
                # Someone saved a version at the same moment: take the next number.
                continue
            return
        raise IntegrityError("No free version number for the agreement template.")

    def response_change(self, request, obj):
        kept = getattr(request, "_agreement_kept", None)
        if kept is not None:
            self.message_user(
                request,
                gettext(
                    "Nothing was changed: the text is that of version %(version)s, which stays "
                    "the current one."
                )
                % {"version": kept.version},
                messages.INFO,
            )
            obj = kept
        else:
            self.message_user(
                request,
                gettext(
                    "Version %(version)s of the agreement was saved: new agreements are "
                    "printed with it. Version %(previous)s is kept, unchanged."
                )
                % {"version": obj.version, "previous": request._agreement_previous_version},
                messages.SUCCESS,
            )
        # The current version's page.
        return HttpResponseRedirect(reverse("admin:loans_agreementtemplate_change", args=[obj.pk]))


# --- Reminders --------------------------------------------------------------------------------


@admin.register(ReminderLog)
class ReminderLogAdmin(admin.ModelAdmin):
    """What send_reminders sent: a record, read only."""

    list_display = ("sent_at", "kind", "key", "loan", "recipients")
    list_filter = ("kind",)
    search_fields = ("key", "loan__number", "recipients")
    list_select_related = ("loan",)
    date_hierarchy = "sent_at"
    fields = ("kind", "key", "loan", "recipients", "sent_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
