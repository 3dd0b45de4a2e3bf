"""Loans in the admin: read, their notes edited (not once the trainee is anonymised), their
agreements printed and prepared ones cancelled through loans.lending; never added or deleted
(they are records). The reminders sent, read only."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from defis.audit import AuditTrailAdmin
from defis.forms import AdminIdsMixin
from defis.pdf import pdf_response

from .. import agreements, lending
from ..models import Loan, LoanEvent, ReminderLog
from .common import ReadOnlyInline, confirmation_page

# Agreements printed in one go by the admin action: a distribution day is one course.
MAX_PRINTED_AGREEMENTS = 60


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
    "envelope",
    "planned_periods",
    "envelope_override_reason",
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
class LoanAdmin(AuditTrailAdmin):
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
        "envelope",
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
        # Changed on the loan's page, through loans.lending (issue 6).
        (
            _("Budget envelope"),
            {"fields": ("envelope", "planned_periods", "envelope_override_reason")},
        ),
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

    def get_readonly_fields(self, request, obj=None):
        # Once the trainee is anonymised, the notes are not written again: they could name
        # the person, whose data is gone (loans.anonymisation).
        if obj is not None and obj.trainee.is_anonymised:
            return (*LOAN_RECORD, "notes")
        return super().get_readonly_fields(request, obj)

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


# --- Reminders --------------------------------------------------------------------------------


@admin.register(ReminderLog)
class ReminderLogAdmin(AdminIdsMixin, admin.ModelAdmin):
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
