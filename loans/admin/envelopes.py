"""Budget envelopes in the admin: added and edited here (funder, amount, dates, rates, the
territories or training bodies they fund), with their figures in the list.

An envelope that a loan or a ledger line uses is never deleted (the foreign keys PROTECT it):
the admin does not offer it. Loans change envelope through their page (loans.lending).
"""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from defis.audit import AuditTrailAdmin
from defis.money import format_euros

from ..envelope_stats import figures_of, with_figures
from ..models import BudgetEnvelope


@admin.register(BudgetEnvelope)
class BudgetEnvelopeAdmin(AuditTrailAdmin):
    list_display = (
        "name",
        "funder",
        "amount_shown",
        "start_date",
        "end_date",
        "fee_shown",
        "share_shown",
        "consumed",
        "committed",
        "available",
    )
    list_filter = ("funder",)
    search_fields = ("name", "funder")
    date_hierarchy = "start_date"
    autocomplete_fields = ("territories", "training_bodies")
    readonly_fields = ("figures", "page", "created_at")
    fieldsets = (
        (None, {"fields": ("funder", "name", "amount", "start_date", "end_date")}),
        (_("Rates"), {"fields": ("trainee_fee", "funder_share")}),
        (
            _("What it funds"),
            {
                "fields": ("territories", "training_bodies"),
                "description": _(
                    "A loan is funded by the most specific envelope that covers its training "
                    "body on its start date: one naming the body, then one naming its "
                    "territory, then one naming neither."
                ),
            },
        ),
        (None, {"fields": ("notes",)}),
        (_("Figures"), {"fields": ("figures", "page", "created_at")}),
    )

    # Once loans or ledger lines use the envelope, what they were charged and drawn under
    # stays as it is: the rates, the dates and the scope. Its amount may still change (a
    # top-up), never below what was consumed.
    FROZEN_ONCE_USED = (
        "start_date",
        "end_date",
        "trainee_fee",
        "funder_share",
        "territories",
        "training_bodies",
    )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and (obj.loans.exists() or obj.entries.exists()):
            fields += [name for name in self.FROZEN_ONCE_USED if name not in fields]
        return fields

    def get_queryset(self, request):
        # Consumed and committed in the same query as the envelopes.
        return with_figures(super().get_queryset(request))

    def get_actions(self, request):
        # No bulk deletion: an envelope in use is protected, one not in use goes one at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.loans.exists() or obj.entries.exists()):
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=_("amount"), ordering="amount")
    def amount_shown(self, envelope):
        return format_euros(envelope.amount)

    @admin.display(description=_("fee per month"), ordering="trainee_fee")
    def fee_shown(self, envelope):
        return format_euros(envelope.trainee_fee)

    @admin.display(description=_("funder share"), ordering="funder_share")
    def share_shown(self, envelope):
        return format_euros(envelope.funder_share)

    @admin.display(description=_("consumed"), ordering="drawn_total")
    def consumed(self, envelope):
        return format_euros(figures_of(envelope).consumed)

    @admin.display(description=_("committed"))
    def committed(self, envelope):
        return format_euros(figures_of(envelope).committed)

    @admin.display(description=_("available"))
    def available(self, envelope):
        return format_euros(figures_of(envelope).available)

    @admin.display(description=_("figures"))
    def figures(self, envelope):
        if envelope.pk is None:
            return "—"
        figures = figures_of(envelope)
        return gettext(
            "%(consumed)s consumed, %(committed)s committed, %(available)s available"
        ) % {
            "consumed": format_euros(figures.consumed),
            "committed": format_euros(figures.committed),
            "available": format_euros(figures.available),
        }

    @admin.display(description=_("page"))
    def page(self, envelope):
        if envelope.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', envelope.get_absolute_url(), gettext("The envelope’s page")
        )
