"""{% audit_trail record %}: the record's change history, at the bottom of its page, for the
Défis team only (coordinators see nothing of it)."""

from django import template
from django.urls import NoReverseMatch, reverse

from defis import audit
from defis.permissions import is_staff_member

register = template.Library()


@register.inclusion_tag("includes/audit_trail.html", takes_context=True)
def audit_trail(context, record):
    user = context["request"].user
    if not is_staff_member(user):
        return {"show": False}
    opts = record._meta
    admin_url = None
    if user.is_staff and user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        try:
            admin_url = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_history", args=[record.pk]
            )
        except NoReverseMatch:  # a model without an admin page
            admin_url = None
    return {"show": True, "trail": audit.trail(record), "admin_url": admin_url}
