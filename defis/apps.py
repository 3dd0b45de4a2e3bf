from axes.apps import AppConfig as AxesConfig
from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class DefisConfig(AppConfig):
    default = True
    name = "defis"
    verbose_name = _("Défis")

    def ready(self):
        from defis.accounts import end_sessions_when_deactivated
        from defis.permissions import sync_staff_group

        # Permissions only exist once every app has migrated, so the staff group is
        # brought up to date after each migrate rather than in a migration.
        post_migrate.connect(sync_staff_group, dispatch_uid="defis.sync_staff_group")
        # A deactivated account loses its open sessions (see defis.accounts).
        post_save.connect(
            end_sessions_when_deactivated,
            sender=self.get_model("User"),
            dispatch_uid="defis.end_sessions_when_deactivated",
        )


class LoginThrottlingConfig(AxesConfig):
    """django-axes under a name the association understands in the admin."""

    verbose_name = _("Login throttling")
