"""Agreement versions in the admin. The text is never changed in place: each save is a new
version, and a signed agreement keeps its own."""

from django import forms
from django.contrib import admin, messages
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from defis.forms import AdminIdsMixin

from ..models import AgreementTemplate


@admin.register(AgreementTemplate)
class AgreementTemplateAdmin(AdminIdsMixin, admin.ModelAdmin):
    """The agreement's text. Saving never changes a version: it adds the next one, which new
    agreements are printed with; loans signed with an earlier version keep it."""

    list_display = ("version", "title", "created_at", "created_by", "loan_count")
    list_display_links = ("version", "title")
    list_select_related = ("created_by",)
    readonly_fields = ("version", "created_at", "created_by")
    TEXT = ("title", "preamble", "obligations", "data_protection", "closing")

    def get_queryset(self, request):
        # Signed: handed over. A prepared loan has its version too, not yet signed.
        signed = Count("loans", filter=Q(loans__handed_over_at__isnull=False))
        return super().get_queryset(request).annotate(_loan_count=signed)

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
                        "Saving adds version %(next)s with the text below: the loans prepared "
                        "from now on use it. Version %(version)s stays as it is: %(count)d "
                        "loan was signed with it.",
                        "Saving adds version %(next)s with the text below: the loans prepared "
                        "from now on use it. Version %(version)s stays as it is: %(count)d "
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
                    "Version %(version)s of the agreement was saved: the loans prepared from "
                    "now on use it. Version %(previous)s is kept, unchanged."
                )
                % {"version": obj.version, "previous": request._agreement_previous_version},
                messages.SUCCESS,
            )
        # The current version's page.
        return HttpResponseRedirect(reverse("admin:loans_agreementtemplate_change", args=[obj.pk]))
