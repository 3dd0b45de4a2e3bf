from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from trainees.models import Coordinator, Territory, TrainingBody


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ("name", "training_body_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_training_body_count=Count("training_bodies"))

    @admin.display(description=_("training bodies"), ordering="_training_body_count")
    def training_body_count(self, territory):
        return territory._training_body_count


class CoordinatorInline(admin.TabularInline):
    model = Coordinator
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "job_title", "phone")


@admin.register(TrainingBody)
class TrainingBodyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "short_name",
        "territory",
        "town",
        "contact_email",
        "contact_phone",
        "coordinator_count",
        "active",
    )
    list_filter = ("active", "territory")
    search_fields = ("name", "short_name", "town", "contact_email")
    list_select_related = ("territory",)
    list_editable = ("active",)
    inlines = [CoordinatorInline]
    fieldsets = (
        (None, {"fields": ("name", "short_name", "territory", "active")}),
        (_("Address"), {"fields": ("street", "postal_code", "town")}),
        (_("Contact"), {"fields": ("contact_email", "contact_phone")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_coordinator_count=Count("coordinators"))

    @admin.display(description=_("coordinators"), ordering="_coordinator_count")
    def coordinator_count(self, training_body):
        return training_body._coordinator_count


@admin.register(Coordinator)
class CoordinatorAdmin(admin.ModelAdmin):
    list_display = ("user", "email", "training_body", "territory", "job_title", "phone", "active")
    list_filter = ("training_body__territory", "training_body", "user__is_active")
    search_fields = (
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "training_body__name",
        "training_body__short_name",
    )
    list_select_related = ("user", "training_body__territory")
    autocomplete_fields = ("user", "training_body")

    @admin.display(description=_("email"), ordering="user__email")
    def email(self, coordinator):
        return coordinator.user.email

    @admin.display(description=_("territory"), ordering="training_body__territory__name")
    def territory(self, coordinator):
        return coordinator.training_body.territory

    @admin.display(description=_("active"), boolean=True, ordering="user__is_active")
    def active(self, coordinator):
        return coordinator.user.is_active
