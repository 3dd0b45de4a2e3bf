from axes.apps import AppConfig as AxesConfig
from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class DefisConfig(AppConfig):
    default = True
    name = "defis"
    verbose_name = _("Défis")

    def ready(self):
        from defis.permissions import sync_staff_group

        # Permissions only exist once every app has migrated, so the staff group is
        # brought up to date after each migrate rather than in a migration.
        post_migrate.connect(sync_staff_group, dispatch_uid="defis.sync_staff_group")


class LoginThrottlingConfig(AxesConfig):
    """django-axes under a name the association understands in the admin."""

    verbose_name = _("Login throttling")
