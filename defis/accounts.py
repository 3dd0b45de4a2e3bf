"""Account pages that differ from Django's own: the lockout page and logout with a message;
the sessions of an account that is deactivated end at once."""

from importlib import import_module

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _


class UserBackend(ModelBackend):
    """Django's backend, but the user of a session comes with their coordinator profile in
    the same query: every page asks for the role (defis.permissions.role_of), which would
    otherwise cost a second query on each request."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("coordinator")
        try:
            user = users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


def lockout_response(request, original_response=None, credentials=None):
    """What django-axes shows a client locked out after too many failed logins."""
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "registration/locked_out.html", context, status=429)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, _("You are logged out."))
        return response


def end_sessions(user) -> int:
    """Delete every open session of `user`; return how many there were.

    Sessions stored in the database (the default engine, or "cached_db") are looked through;
    with another engine nothing can be listed and this does nothing: Django's ModelBackend
    still refuses an inactive user on the next request.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        return 0
    user_id = str(user.pk)
    ended = 0
    sessions = store.get_model_class().objects.filter(expire_date__gt=timezone.now())
    for session in sessions.iterator():
        if session.get_decoded().get(SESSION_KEY) == user_id:
            store(session.session_key).delete()  # also clears the cache of "cached_db"
            ended += 1
    return ended


def end_sessions_when_deactivated(sender, instance, update_fields=None, raw=False, **kwargs):
    """post_save of the user model: an account set inactive is logged out everywhere at once,
    whatever the authentication backend (one that lets inactive users in included)."""
    if raw or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    end_sessions(instance)
