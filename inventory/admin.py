"""The inventory in the admin: bulk edits, imports and exports for the Défis team.

Every change of a laptop's lifecycle goes through inventory.services, here as on the staff
pages: a laptop added here is registered (asset tag, first history row), the bulk status
change is the service's all-or-nothing move, and imports register new laptops the same way.
Laptops are never deleted (they leave by retirement); wipes and repairs are recorded from the
laptop's page, where the service checks them, and are only read and annotated here.
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin
from import_export.forms import SelectableFieldsExportForm

from defis.audit import AuditTrailAdmin
from defis.forms import AdminIdsMixin
from defis.importing import CSV, XLSX, AllOrNothingImportMixin

from . import services
from .labels import MAX_LABELS, too_many_labels
from .models import Donation, Donor, Laptop, LaptopStatusChange, Location, Repair, WipeRecord
from .resources import LaptopResource


@admin.register(Donor)
class DonorAdmin(AdminIdsMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "contact_name", "email", "phone", "town", "donation_count")
    list_filter = ("kind",)
    search_fields = ("name", "contact_name", "town")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_donation_count=Count("donations"))

    @admin.display(description=_("donations"), ordering="_donation_count")
    def donation_count(self, donor):
        return donor._donation_count


@admin.register(Donation)
class DonationAdmin(AdminIdsMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "donor",
        "received_on",
        "laptops_announced",
        "laptop_count",
        "recorded_by",
    )
    list_display_links = ("number", "donor")
    list_filter = ("donor__kind",)
    search_fields = ("donor__name", "notes")
    list_select_related = ("donor", "recorded_by")
    autocomplete_fields = ("donor",)
    date_hierarchy = "received_on"
    readonly_fields = ("recorded_by", "created_at")

    def get_queryset(self, request):
        # The donor too: a donation is named after it, in the laptops' autocomplete as well.
        return (
            super()
            .get_queryset(request)
            .select_related("donor")
            .annotate(_laptop_count=Count("laptops"))
        )

    # The number an import file gives in the "donation" column.
    @admin.display(description=_("number"), ordering="pk")
    def number(self, donation):
        return donation.pk

    @admin.display(description=_("laptops received"), ordering="_laptop_count")
    def laptop_count(self, donation):
        return donation._laptop_count

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Location)
class LocationAdmin(AdminIdsMixin, admin.ModelAdmin):
    list_display = ("name", "laptop_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_laptop_count=Count("laptops"))

    @admin.display(description=_("laptops"), ordering="_laptop_count")
    def laptop_count(self, location):
        return location._laptop_count


class ReadOnlyInline(AdminIdsMixin, admin.TabularInline):
    """Records written by the services: shown on the laptop's page, never edited there."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StatusChangeInline(ReadOnlyInline):
    model = LaptopStatusChange
    fields = ("changed_at", "from_status", "to_status", "changed_by", "note")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


class WipeInline(ReadOnlyInline):
    model = WipeRecord
    fields = ("wiped_on", "method", "verified", "operator", "certificate_reference", "notes")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("operator")


class RepairInline(ReadOnlyInline):
    model = Repair
    fields = ("repaired_on", "work_done", "parts", "cost", "repaired_by")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("repaired_by")


class ChangeStatusForm(forms.Form):
    """The intermediate page of the bulk status change: the workshop moves only. Loans
    move laptops through their own steps, retirement has its own form."""

    to_status = forms.ChoiceField(
        label=_("New status"),
        choices=[(status.value, status.label) for status in Laptop.WORKSHOP_TARGETS],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Written in the history of each laptop."),
    )


class LaptopExportForm(SelectableFieldsExportForm):
    """The export form, its boxes labelled with the columns' headers ("Numéro de série")."""

    def _get_field_label(self, resource, field_name):
        return resource.fields[field_name].column_name


@admin.register(Laptop)
class LaptopAdmin(AllOrNothingImportMixin, AuditTrailAdmin, ImportExportModelAdmin):
    list_display = (
        "asset_tag",
        "brand",
        "model",
        "serial_number",
        "status",
        "grade",
        "operating_system",
        "location",
        "donation",
        "replacement_value",
    )
    list_filter = (
        "status",
        "grade",
        "operating_system",
        "storage_type",
        "keyboard_layout",
        "location",
        ("donation__donor", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("asset_tag", "serial_number", "brand", "model")
    # A donation is named after its donor.
    list_select_related = ("location", "donation__donor")
    autocomplete_fields = ("donation", "location")
    actions = ("change_status", "print_labels")
    # Not editable on the model: shown, never sent by the form.
    readonly_fields = ("asset_tag", "status", "status_changed_at", "retirement_reason")
    fieldsets = (
        (
            _("Lifecycle"),
            {"fields": ("asset_tag", "status", "status_changed_at", "retirement_reason")},
        ),
        (
            _("Description"),
            {
                "fields": (
                    ("brand", "model"),
                    "serial_number",
                    "processor",
                    ("ram_gb", "storage_gb", "storage_type"),
                    "screen_inches",
                    ("operating_system", "keyboard_layout"),
                    "grade",
                    ("has_charger", "has_bag", "has_mouse"),
                )
            },
        ),
        (_("Origin and storage"), {"fields": ("donation", "location", "replacement_value")}),
        (None, {"fields": ("notes",)}),
    )
    inlines = (StatusChangeInline, WipeInline, RepairInline)

    # Import and export
    resource_classes = (LaptopResource,)
    import_formats = (CSV, XLSX)
    export_formats = (CSV, XLSX)
    # With a byte order mark, Excel reads the accents of a UTF-8 CSV right.
    to_encoding = "utf-8-sig"
    import_template_name = "admin/inventory/laptop/import.html"
    export_form_class = LaptopExportForm

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            # A new laptop gets its tag and its status from the registration.
            return self.fieldsets[1:]
        return self.fieldsets

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        # Laptops leave the inventory by retirement, which keeps their history.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            # The form's fields only: a status moved meanwhile is not written back.
            obj.save(update_fields=[name for name in form.fields if name in form.cleaned_data])
        else:
            services.laptops_register(
                laptops=[obj], by=request.user, note=gettext("Added in the administration.")
            )

    @admin.action(
        description=_("Change the status of the selected laptops"), permissions=["change"]
    )
    def change_status(self, request, queryset):
        form = ChangeStatusForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            to_status = form.cleaned_data["to_status"]
            try:
                moved = services.laptops_change_status(
                    laptops=queryset,
                    to_status=to_status,
                    by=request.user,
                    note=form.cleaned_data["note"],
                )
            except services.LaptopMoveError as error:
                self.message_user(
                    request,
                    gettext("No laptop was moved, because of these laptops:"),
                    level=messages.ERROR,
                )
                for message in error.messages:
                    self.message_user(request, message, level=messages.ERROR)
                return None
            self.message_user(
                request,
                ngettext(
                    "%(count)d laptop moved to “%(status)s”.",
                    "%(count)d laptops moved to “%(status)s”.",
                    len(moved),
                )
                % {"count": len(moved), "status": Laptop.Status(to_status).label},
                level=messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Change the status of laptops"),
            "opts": self.opts,
            "form": form,
            "objects": queryset.order_by("asset_tag"),
            "action": "change_status",
            "submit": gettext("Change the status"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/inventory/laptop/change_status.html", context)

    @admin.action(description=_("Print labels"), permissions=["view"])
    def print_labels(self, request, queryset):
        ids = sorted(queryset.values_list("pk", flat=True)[: MAX_LABELS + 1])
        if len(ids) > MAX_LABELS:
            self.message_user(request, too_many_labels(queryset.count()), messages.ERROR)
            return None
        query = urlencode([("laptop", pk) for pk in ids])
        return HttpResponseRedirect(f"{reverse('inventory:labels')}?{query}")

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_import_context_data(self, **kwargs):
        return {**super().get_import_context_data(**kwargs), **self._import_help()}

    def _import_help(self):
        return {"accepted_values": LaptopResource.accepted_values()}

    def add_success_message(self, result, request):
        totals = result.totals
        messages.success(
            request,
            gettext("Import finished. Laptops added: %(new)s; updated: %(updated)s.")
            % {"new": totals["new"], "updated": totals["update"]},
        )


class RecordAdmin(AdminIdsMixin, admin.ModelAdmin):
    """Wipes and repairs: recorded from the laptop's page, through the services that check
    them. Here they are listed, searched and annotated, never added or deleted."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WipeRecord)
class WipeRecordAdmin(RecordAdmin):
    list_display = (
        "laptop",
        "wiped_on",
        "method",
        "verified",
        "operator",
        "certificate_reference",
        "recorded_at",
    )
    list_filter = ("method", "verified", "wiped_on")
    search_fields = ("laptop__asset_tag", "certificate_reference")
    list_select_related = ("laptop", "operator")
    date_hierarchy = "wiped_on"
    # What the wipe rule relies on stays as recorded.
    readonly_fields = ("laptop", "wiped_on", "method", "verified", "operator", "recorded_at")
    fields = (*readonly_fields, "certificate_reference", "notes")


@admin.register(Repair)
class RepairAdmin(RecordAdmin):
    list_display = ("laptop", "repaired_on", "work_done", "parts", "cost", "repaired_by")
    list_filter = ("repaired_on", ("repaired_by", admin.RelatedOnlyFieldListFilter))
    search_fields = ("laptop__asset_tag", "work_done", "parts")
    list_select_related = ("laptop", "repaired_by")
    date_hierarchy = "repaired_on"
    readonly_fields = ("laptop", "repaired_on", "repaired_by", "recorded_at")
    fields = (*readonly_fields, "work_done", "parts", "cost")
