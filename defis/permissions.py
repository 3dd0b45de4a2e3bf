"""Who may see what. The one place that decides it.

Three roles:
- staff: members of the Défis team (`is_staff`, in the "Équipe Défis" group) and superusers;
  they see everything;
- coordinator: a user with a `trainees.Coordinator` profile, tied to one training body;
  they see that body's records and nothing else, and are never `is_staff`;
- none: an account without a role yet (created but not set up); it sees nothing.

Every model whose records belong to a training body uses `VisibleToQuerySet` and names the
path from itself to the training body; every view, export and download fetches through
`Model.objects.visible_to(request.user)`, so that a record out of scope answers 404.

This module imports no app: the apps import it.
"""

from enum import StrEnum
from functools import wraps

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models

STAFF_GROUP_NAME = "Équipe Défis"

# The apps whose models the Défis team manages in full through the admin.
STAFF_APPS = ("trainees", "inventory", "loans")
# Read-only access elsewhere: staff see accounts but only superusers change them, so that
# nobody can grant themselves more rights.
STAFF_EXTRA_PERMISSIONS = (
    ("defis", "view_user"),
    ("defis", "view_association"),
)
# Permissions kept from staff inside STAFF_APPS, as (app_label, codename).
STAFF_EXCLUDED_PERMISSIONS: tuple[tuple[str, str], ...] = ()


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    NONE = "none"
    COORDINATOR = "coordinator"
    STAFF = "staff"


def coordinator_profile(user):
    """The user's Coordinator profile, or None. Django caches it on the user object."""
    if not user.is_authenticated:
        return None
    return getattr(user, "coordinator", None)


def role_of(user) -> Role:
    if not user.is_authenticated or not user.is_active:
        return Role.ANONYMOUS
    # The coordinator profile is checked first: were an account ever both, it gets the
    # narrower view.
    if coordinator_profile(user) is not None:
        return Role.COORDINATOR
    if user.is_staff or user.is_superuser:
        return Role.STAFF
    return Role.NONE


def is_staff_member(user) -> bool:
    return role_of(user) is Role.STAFF


def training_body_id_of(user) -> int | None:
    profile = coordinator_profile(user)
    return profile.training_body_id if profile is not None else None


class VisibleToQuerySet(models.QuerySet):
    """A queryset that knows which of its rows a user may see.

    Subclasses set `training_body_lookup`, the ORM path from the model to its training
    body's id ("id" for TrainingBody itself, "training_body_id", "course__training_body_id").
    """

    training_body_lookup: str = ""

    def visible_to(self, user):
        role = role_of(user)
        if role is Role.STAFF:
            return self.all()
        if role is Role.COORDINATOR:
            if not self.training_body_lookup:
                raise ImproperlyConfigured(f"{type(self).__name__} must set training_body_lookup.")
            return self.filter(**{self.training_body_lookup: training_body_id_of(user)})
        return self.none()


def staff_required(view):
    """Refuse (403) anyone but the Défis team. Anonymous visitors never get here: the
    login-required middleware has already sent them to the login page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_staff_member(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def coordinator_required(view):
    """Refuse (403) anyone but a coordinator."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if role_of(request.user) is not Role.COORDINATOR:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def staff_or_coordinator_required(view):
    """Refuse (403) accounts without a role. What each role then sees is decided by
    `visible_to(request.user)` in the view."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if role_of(request.user) not in (Role.STAFF, Role.COORDINATOR):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


class StaffRequiredMixin:
    """staff_required for class-based views."""

    def dispatch(self, request, *args, **kwargs):
        if not is_staff_member(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def sync_staff_group(sender, using="default", **kwargs):
    """Give the "Équipe Défis" group exactly the permissions listed above.

    Connected to post_migrate; acts once per migrate, when the signal for this app is sent.
    Runs after all migrations, so every model exists; permissions are created first because
    Django creates them in its own post_migrate handlers, whose order relative to this one
    is not guaranteed.
    """
    if sender.label != "defis":
        return
    from django.contrib.auth.models import Group, Permission

    for label in (*STAFF_APPS, "defis"):
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using)

    wanted = Permission.objects.using(using).filter(content_type__app_label__in=STAFF_APPS)
    for app_label, codename in STAFF_EXCLUDED_PERMISSIONS:
        wanted = wanted.exclude(content_type__app_label=app_label, codename=codename)
    extra = models.Q()
    for app_label, codename in STAFF_EXTRA_PERMISSIONS:
        extra |= models.Q(content_type__app_label=app_label, codename=codename)
    permissions = list(wanted) + list(Permission.objects.using(using).filter(extra))

    group, _created = Group.objects.using(using).get_or_create(name=STAFF_GROUP_NAME)
    group.permissions.set(permissions)
