from functools import cache

from django.contrib.auth.models import AbstractUser
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.encoding import force_str
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


@cache
def _choice_labels(field, language) -> dict:
    """A field's choices as {value: label} in `language`, worked out once per process."""
    return {value: force_str(label) for value, label in field.flatchoices}


class ChoiceLabels:
    """`get_<field>_display()` from labels translated once per language and process.

    Django's own hashes every lazy label of the field at each call (a translation lookup
    each): about 40 µs a call, so several milliseconds for a list of 50 rows showing a few
    such fields. Mixed into the models whose choices the lists show."""

    def _get_FIELD_display(self, field):
        value = getattr(self, field.attname)
        try:
            label = _choice_labels(field, get_language()).get(value, value)
        except TypeError:  # an unhashable value: Django's own way
            return super()._get_FIELD_display(field)
        return force_str(label, strings_only=True)


class User(AbstractUser):
    """An account: a member of the Défis team, a coordinator or an administrator.

    The role is not stored here: staff are `is_staff`, a coordinator has a
    `trainees.Coordinator` profile (see defis.permissions).
    """

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # Password reset goes by email: one address, one account.
            models.UniqueConstraint(
                Lower("email"),
                condition=~Q(email=""),
                name="user_email_unique_when_set",
                violation_error_message=_("Another account already uses this email address."),
            ),
        ]

    def __str__(self):
        return self.get_full_name() or self.username


class AssociationQuerySet(models.QuerySet):
    def current(self) -> "Association":
        """The association's identity; an unsaved blank one before it is entered."""
        return self.first() or Association()


class Association(models.Model):
    """Défis' own identity, printed on documents and shown to users. One row only."""

    singleton = models.BooleanField(default=True, editable=False, unique=True)
    name = models.CharField(_("name"), max_length=200)
    street = models.CharField(_("street address"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=10)
    town = models.CharField(_("town"), max_length=100)
    phone = PhoneNumberField(_("phone"), blank=True)
    email = models.EmailField(_("email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    director = models.CharField(_("director"), max_length=200, blank=True)

    objects = AssociationQuerySet.as_manager()

    class Meta:
        verbose_name = _("association identity")
        verbose_name_plural = _("association identity")
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="association_single_row"),
        ]

    def __str__(self):
        return self.name

    @property
    def address_lines(self) -> list[str]:
        return [line for line in (self.street, f"{self.postal_code} {self.town}".strip()) if line]


class CounterQuerySet(models.QuerySet):
    def take(self, name: str, count: int = 1) -> list[int]:
        """Reserve `count` consecutive numbers of the counter `name` and return them.

        The counter row is locked until the surrounding transaction ends, so two requests
        numbering at the same time wait for each other instead of taking the same numbers.
        Must run inside a transaction.
        """
        if count < 1:
            return []
        try:
            # The row is created on first use; when two transactions create it at once, the
            # unique name makes the second fail, and it then finds the first one's row.
            with transaction.atomic():
                self.get_or_create(name=name)
        except IntegrityError:
            pass
        counter = self.select_for_update().get(name=name)
        first = counter.value + 1
        counter.value += count
        counter.save(update_fields=["value"])
        return list(range(first, first + count))


class Counter(models.Model):
    """A named sequence for human-readable numbers (asset tags, loan numbers)."""

    name = models.CharField(max_length=50, unique=True)
    value = models.PositiveIntegerField(default=0)

    objects = CounterQuerySet.as_manager()

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")

    def __str__(self):
        return f"{self.name}: {self.value}"
