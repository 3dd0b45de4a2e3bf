"""The fee ledger in the admin: read and searched, never added to, changed or deleted.

Lines are written by loans.ledger only (the loan pages record payments, waivers and
reversals); a mistake is corrected by a reversal, on the loan's page.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from defis.forms import AdminIdsMixin
from defis.money import format_euros

from ..models import FeeEntry


@admin.register(FeeEntry)
class FeeEntryAdmin(AdminIdsMixin, admin.ModelAdmin):
    list_display = (
        "day",
        "number",
        "trainee",
        "kind",
        "euros",
        "period",
        "method",
        "reference",
    )
    list_filter = ("kind", "method", ("envelope", admin.RelatedOnlyFieldListFilter))
    search_fields = (
        "loan__number",
        "loan__trainee__first_name",
        "loan__trainee__last_name",
        "reference",
    )
    search_help_text = _("A loan number (PRET-2026-0012), a trainee’s name or a payment reference.")
    list_select_related = ("loan__trainee",)
    date_hierarchy = "entry_date"
    ordering = ("-entry_date", "-pk")
    actions = None
    fields = (
        "loan_link",
        "kind",
        "euros",
        "period",
        "entry_date",
        "method",
        "reference",
        "received_by",
        "reason",
        "reverses",
        "envelope",
        "envelope_amount",
        "recorded_by",
        "recorded_at",
    )
    readonly_fields = fields

    # Short dates, and the loan number on one line (admin.css: field-number): the list has
    # many columns beside the admin's menu.
    @admin.display(description=_("date"), ordering="entry_date")
    def day(self, entry):
        return date_format(entry.entry_date, "SHORT_DATE_FORMAT")

    @admin.display(description=_("loan"), ordering="loan__number")
    def number(self, entry):
        return entry.loan.number

    @admin.display(description=_("loan"))
    def loan_link(self, entry):
        # The loan's page, where its account is read and corrected.
        return format_html(
            '<a href="{}">{}</a>', reverse("loans:loan", args=[entry.loan_id]), entry.loan.number
        )

    @admin.display(description=_("trainee"), ordering="loan__trainee__last_name")
    def trainee(self, entry):
        return entry.loan.trainee.full_name

    @admin.display(description=_("amount"), ordering="amount")
    def euros(self, entry):
        return format_euros(entry.amount)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
