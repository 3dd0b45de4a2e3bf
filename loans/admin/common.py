"""What the loans admin modules share: read-only history inlines and the intermediate
page of a bulk action that asks for more."""

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from defis.forms import AdminIdsMixin


class ReadOnlyInline(AdminIdsMixin, admin.TabularInline):
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
