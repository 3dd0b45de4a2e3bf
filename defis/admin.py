from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from defis.forms import AdminIdsMixin
from defis.models import Association, User

admin.site.site_header = _("Défis · administration")
admin.site.site_title = _("Défis administration")
admin.site.index_title = _("Bulk edits, imports and exports")
admin.site.site_url = "/"


class UserChangeForm(DjangoUserAdmin.form):
    def clean(self):
        cleaned = super().clean()
        is_coordinator = self.instance.pk and hasattr(self.instance, "coordinator")
        if is_coordinator and (cleaned.get("is_staff") or cleaned.get("is_superuser")):
            raise ValidationError(
                _(
                    "This account is a coordinator: it cannot be staff or an administrator. "
                    "Remove its coordinator profile first, or use a separate account."
                )
            )
        return cleaned


@admin.register(User)
class UserAdmin(AdminIdsMixin, DjangoUserAdmin):
    form = UserChangeForm
    list_display = (
        "username",
        "last_name",
        "first_name",
        "email",
        "is_staff",
        "is_superuser",
        "coordinator_of",
        "is_active",
        "last_login",
    )
    list_filter = (
        "is_staff",
        "is_superuser",
        "is_active",
        "groups",
        ("coordinator__training_body", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("username", "first_name", "last_name", "email")
    list_select_related = ("coordinator__training_body",)
    ordering = ("last_name", "first_name", "username")

    @admin.display(description=_("coordinator of"), ordering="coordinator__training_body__name")
    def coordinator_of(self, user):
        coordinator = getattr(user, "coordinator", None)
        return coordinator.training_body.short_name if coordinator else "—"


@admin.register(Association)
class AssociationAdmin(AdminIdsMixin, admin.ModelAdmin):
    list_display = ("name", "town", "phone", "website")

    def has_add_permission(self, request):
        # One identity only: once entered, it is edited, never added again.
        return super().has_add_permission(request) and not Association.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
