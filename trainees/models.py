from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from defis.permissions import VisibleToQuerySet


class Territory(models.Model):
    """One of the areas the programme covers (Pays de Lorient, de Vannes, d'Auray)."""

    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("territory")
        verbose_name_plural = _("territories")

    def __str__(self):
        return self.name


class TrainingBodyQuerySet(VisibleToQuerySet):
    training_body_lookup = "id"

    def active(self):
        return self.filter(active=True)


class TrainingBody(models.Model):
    """A partner training organisation (organisme de formation) whose trainees borrow laptops."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(
        _("short name"),
        max_length=40,
        unique=True,
        help_text=_("Used in lists and on labels, e.g. “AFPA”."),
    )
    street = models.CharField(_("street address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    town = models.CharField(_("town"), max_length=100)
    territory = models.ForeignKey(
        Territory,
        on_delete=models.PROTECT,
        related_name="training_bodies",
        verbose_name=_("territory"),
    )
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = PhoneNumberField(_("contact phone"), blank=True)
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("An inactive training body keeps its history but takes no new requests."),
    )

    objects = TrainingBodyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("training body")
        verbose_name_plural = _("training bodies")

    def __str__(self):
        return self.name

    @property
    def address_lines(self) -> list[str]:
        return [line for line in (self.street, f"{self.postal_code} {self.town}".strip()) if line]


class CoordinatorQuerySet(VisibleToQuerySet):
    training_body_lookup = "training_body_id"


class Coordinator(models.Model):
    """The profile that makes a user a coordinator of one training body.

    A coordinator is never `is_staff`: they reach the portal, not the staff pages nor the admin.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="coordinator",
        verbose_name=_("user"),
    )
    training_body = models.ForeignKey(
        TrainingBody,
        on_delete=models.PROTECT,
        related_name="coordinators",
        verbose_name=_("training body"),
    )
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)

    objects = CoordinatorQuerySet.as_manager()

    class Meta:
        ordering = ["training_body__name", "user__last_name", "user__first_name"]
        verbose_name = _("coordinator")
        verbose_name_plural = _("coordinators")

    def __str__(self):
        return f"{self.user} ({self.training_body.short_name})"

    def clean(self):
        user = getattr(self, "user", None)
        if user is not None and (user.is_staff or user.is_superuser):
            raise ValidationError(
                {
                    "user": _(
                        "A member of staff or an administrator cannot be a coordinator: "
                        "use a separate account."
                    )
                }
            )
