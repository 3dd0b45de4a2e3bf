import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from defis.models import ChoiceLabels
from defis.periods import months_started
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


# Dates outside these years are typing mistakes (0206 for 2026, 9999 for an unknown end).
FIRST_COURSE_YEAR, LAST_COURSE_YEAR = 2000, 2100
FIRST_BIRTH_YEAR = 1900


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on `day` (a birthday on 29 February counts from 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def address_lines(street: str, postal_code: str, town: str) -> list[str]:
    return [line for line in (street, f"{postal_code} {town}".strip()) if line]


class CourseQuerySet(VisibleToQuerySet):
    training_body_lookup = "training_body_id"

    def current_or_coming(self, *, today: date):
        return self.filter(end_date__gte=today)


class Course(models.Model):
    """A training session (action de formation) of one training body."""

    training_body = models.ForeignKey(
        TrainingBody,
        on_delete=models.PROTECT,
        related_name="courses",
        verbose_name=_("training body"),
    )
    title = models.CharField(_("title"), max_length=200)
    programme = models.CharField(
        _("programme"),
        max_length=100,
        blank=True,
        help_text=_("The funded programme, for example “PRÉPA Avenir Jeunes”."),
    )
    town = models.CharField(_("town"), max_length=100)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    min_age = models.PositiveSmallIntegerField(
        _("minimum age"),
        null=True,
        blank=True,
        validators=[MinValueValidator(14), MaxValueValidator(99)],
        help_text=_("On the first day of the course; leave empty when there is no limit."),
    )
    max_age = models.PositiveSmallIntegerField(
        _("maximum age"),
        null=True,
        blank=True,
        validators=[MinValueValidator(14), MaxValueValidator(99)],
        help_text=_("On the first day of the course; leave empty when there is no limit."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "title"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="course_ends_after_it_starts",
                violation_error_message=_("The course cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(min_age__isnull=True)
                | Q(max_age__isnull=True)
                | Q(max_age__gte=models.F("min_age")),
                name="course_age_limits_in_order",
                violation_error_message=_("The maximum age cannot be below the minimum age."),
            ),
        ]

    def __str__(self):
        return f"{self.title} ({self.training_body.short_name}, {self.start_date:%m/%Y})"

    def get_absolute_url(self):
        return reverse("trainees:course", args=[self.pk])

    def clean(self):
        super().clean()
        errors = {}
        for name in ("start_date", "end_date"):
            day = getattr(self, name)
            if day and not FIRST_COURSE_YEAR <= day.year <= LAST_COURSE_YEAR:
                errors[name] = _(
                    "Check this date: a course runs between %(first)s and %(last)s."
                ) % {
                    "first": FIRST_COURSE_YEAR,
                    "last": LAST_COURSE_YEAR,
                }
        if errors:
            raise ValidationError(errors)

    def is_current_or_coming(self, *, today: date) -> bool:
        return self.end_date >= today

    @property
    def length_in_months(self) -> int:
        """Monthly periods begun between the first and the last day: 5 from 12 October to
        11 March, as the fee rule counts them (defis.periods)."""
        return months_started(self.start_date, self.end_date)


class DigitalLevel(models.TextChoices):
    BEGINNER = "beginner", _("Beginner: has rarely used a computer")
    BASIC = "basic", _("Basic: email, web browsing")
    INDEPENDENT = "independent", _("Independent: office software, online procedures")
    CONFIDENT = "confident", _("Confident")


class TraineeQuerySet(VisibleToQuerySet):
    training_body_lookup = "course__training_body_id"

    def search(self, text: str):
        text = text.strip()
        if not text:
            return self
        query = Q()
        for word in text.split():
            query &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(town__icontains=word)
            )
        return self.filter(query)


class Trainee(ChoiceLabels, models.Model):
    """A person enrolled on a course, who may borrow a laptop. Personal data: kept only for
    the programme, shown only to Défis and to the trainee's own training body."""

    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="trainees", verbose_name=_("course")
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    birth_date = models.DateField(_("birth date"))
    email = models.EmailField(_("email"), blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    street = models.CharField(_("street address"), max_length=200)
    postal_code = models.CharField(
        _("postal code"),
        max_length=5,
        validators=[
            RegexValidator(r"^\d{5}$", _("A French postal code has five digits, e.g. 56600."))
        ],
    )
    town = models.CharField(_("town"), max_length=100)
    digital_level = models.CharField(
        _("digital skills"), max_length=20, choices=DigitalLevel.choices, blank=True
    )
    support_needs = models.TextField(
        _("support needs"),
        blank=True,
        help_text=_("What would help this trainee use the laptop: workshops, a first set-up…"),
    )
    notes = models.TextField(_("notes"), blank=True)

    guardian_name = models.CharField(_("legal guardian’s name"), max_length=200, blank=True)
    guardian_relationship = models.CharField(
        _("relationship to the trainee"),
        max_length=100,
        blank=True,
        help_text=_("Mother, father, guardian…"),
    )
    guardian_phone = PhoneNumberField(_("guardian’s phone"), blank=True)
    guardian_email = models.EmailField(_("guardian’s email"), blank=True)
    guardian_street = models.CharField(_("guardian’s street address"), max_length=200, blank=True)
    guardian_postal_code = models.CharField(
        _("guardian’s postal code"),
        max_length=5,
        blank=True,
        validators=[
            RegexValidator(r"^\d{5}$", _("A French postal code has five digits, e.g. 56600."))
        ],
    )
    guardian_town = models.CharField(_("guardian’s town"), max_length=100, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Set by anonymise_expired: the personal data is gone, this code stays for statistics.
    pseudonym = models.CharField(_("pseudonymous code"), max_length=20, blank=True, editable=False)
    anonymised_at = models.DateTimeField(_("anonymised on"), null=True, blank=True, editable=False)

    objects = TraineeQuerySet.as_manager()
    # The audit trail: who changed what, and when (django-simple-history).
    history = HistoricalRecords()

    GUARDIAN_FIELDS = (
        "guardian_name",
        "guardian_relationship",
        "guardian_phone",
        "guardian_email",
        "guardian_street",
        "guardian_postal_code",
        "guardian_town",
    )
    # The open statuses of loans.Loan; trainees reads loans through the reverse relation
    # only, it never imports the loans app.
    OPEN_LOAN_STATUSES = ("prepared", "active")

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("trainee")
        verbose_name_plural = _("trainees")
        indexes = [models.Index(fields=["last_name", "first_name"])]
        constraints = [
            # One person, one enrolment per course, however the name is typed.
            models.UniqueConstraint(
                "course",
                Lower("first_name"),
                Lower("last_name"),
                "birth_date",
                name="trainee_enrolled_once_per_course",
                violation_error_message=_(
                    "A trainee with this name and birth date is already enrolled on this course."
                ),
            ),
        ]

    def __str__(self):
        return self.full_name

    def get_absolute_url(self):
        return reverse("trainees:trainee", args=[self.pk])

    @property
    def full_name(self) -> str:
        # Once anonymised, the record names nobody: its pseudonymous code stands in.
        if self.is_anonymised:
            return self.pseudonym
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_anonymised(self) -> bool:
        """Its personal data was removed by anonymise_expired (loans.anonymisation)."""
        return self.anonymised_at is not None

    def names_held(self) -> set[str]:
        """The names ("first last") the record has had: now, and before each change (its
        history). What the anonymisation and the erasure look for in free text and logs."""
        rows = Trainee.history.filter(id=self.pk).values_list("first_name", "last_name")
        names = {f"{first} {last}".strip() for first, last in rows}
        names.add(f"{self.first_name} {self.last_name}".strip())
        return {name for name in names if name}

    @property
    def address_lines(self) -> list[str]:
        return address_lines(self.street, self.postal_code, self.town)

    @property
    def guardian_address_lines(self) -> list[str]:
        return address_lines(self.guardian_street, self.guardian_postal_code, self.guardian_town)

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)

    @property
    def age_at_course_start(self) -> int | None:
        course = self._course_or_none()
        return self.age_on(course.start_date) if course and self.birth_date else None

    @property
    def is_minor(self) -> bool:
        """Under 18 on the first day of the course: a legal guardian co-signs."""
        age = self.age_at_course_start
        return age is not None and age < 18

    def _course_or_none(self):
        return self.course if self.course_id else None

    def clean(self):
        if self.pk is not None and self.is_anonymised:
            # Nothing is filled in again on a record whose personal data has gone.
            raise ValidationError(
                _(
                    "This trainee’s personal data was anonymised: the record can no longer be "
                    "changed."
                )
            )
        super().clean()
        self.first_name = self.first_name.strip()
        self.last_name = self.last_name.strip()
        errors = {}
        course = self._course_or_none()
        if self.birth_date and self.birth_date >= timezone.localdate():
            errors["birth_date"] = _("The birth date must be in the past.")
        elif self.birth_date and self.birth_date.year < FIRST_BIRTH_YEAR:
            errors["birth_date"] = _("Check the birth date: the year is before %(year)s.") % {
                "year": FIRST_BIRTH_YEAR
            }
        elif course and self.birth_date:
            age = self.age_on(course.start_date)
            if course.min_age and age < course.min_age:
                errors["birth_date"] = _(
                    "%(name)s will be %(age)s on the first day of the course; it is open from "
                    "%(min)s years."
                ) % {"name": self.full_name, "age": age, "min": course.min_age}
            elif course.max_age and age > course.max_age:
                errors["birth_date"] = _(
                    "%(name)s will be %(age)s on the first day of the course; it is open up to "
                    "%(max)s years."
                ) % {"name": self.full_name, "age": age, "max": course.max_age}
            elif age < 18:
                for name in self.GUARDIAN_FIELDS:
                    if not getattr(self, name):
                        errors[name] = _(
                            "Required: the trainee is under 18 on the first day of the course."
                        )
        if "course" not in errors and self._changes_course_during_a_loan():
            errors["course"] = _(
                "%(name)s has a laptop loan on the present course: close or cancel it before "
                "moving the trainee to another course."
            ) % {"name": self.full_name}
        if errors:
            raise ValidationError(errors)

    def _changes_course_during_a_loan(self) -> bool:
        """A loan belongs to its course (its agreement names it, its training body sees it):
        the trainee stays on that course while a loan is open."""
        if self.pk is None or not self.course_id:
            return False
        saved = type(self).objects.filter(pk=self.pk).values_list("course_id", flat=True).first()
        if saved is None or saved == self.course_id:
            return False
        return self.loans.filter(status__in=self.OPEN_LOAN_STATUSES).exists()


def _replace_names(text: str, names: list[str], replacement: str) -> str:
    for name in names:
        text = text.replace(name, replacement)
    return text


def _replace_in_json(value, names: list[str], replacement: str):
    if isinstance(value, str):
        return _replace_names(value, names, replacement)
    if isinstance(value, list):
        return [_replace_in_json(item, names, replacement) for item in value]
    if isinstance(value, dict):
        return {key: _replace_in_json(item, names, replacement) for key, item in value.items()}
    return value


def rename_in_admin_log(names: Iterable[str], replacement: str) -> int:
    """The admin's log (`LogEntry`) keeps what records were called when they were changed: a
    trainee's name, and in a workshop's change message the attendances ("Léa Kerbrat ·
    Premiers pas (03/03/2023)"). `replacement` takes each name's place in the name and the
    change message of every entry that contains one, whatever the kind of record. Return how
    many entries were rewritten.

    Change messages are JSON, where "é" is written "\u00e9": both spellings are looked for,
    and a JSON message is rewritten value by value so that it stays valid."""
    from django.contrib.admin.models import LogEntry

    names = sorted({name for name in names if name}, key=len, reverse=True)
    if not names:
        return 0
    containing = Q()
    for name in names:
        escaped = json.dumps(name)[1:-1]
        containing |= Q(object_repr__contains=name) | Q(change_message__contains=name)
        if escaped != name:
            containing |= Q(change_message__contains=escaped)
    repr_length = LogEntry._meta.get_field("object_repr").max_length
    changed = []
    for entry in LogEntry.objects.filter(containing).order_by("pk"):
        object_repr = _replace_names(entry.object_repr, names, replacement)[:repr_length]
        try:
            message = json.loads(entry.change_message)
        except ValueError:
            change_message = _replace_names(entry.change_message, names, replacement)
        else:
            renamed = _replace_in_json(message, names, replacement)
            change_message = json.dumps(renamed) if renamed != message else entry.change_message
        if (object_repr, change_message) != (entry.object_repr, entry.change_message):
            entry.object_repr, entry.change_message = object_repr, change_message
            changed.append(entry)
    LogEntry.objects.bulk_update(changed, ["object_repr", "change_message"])
    return len(changed)


@receiver(post_delete, sender=Trainee, dispatch_uid="trainees.trainee_erased")
def trainee_erased(sender, instance: Trainee, **kwargs) -> None:
    """A trainee deleted (in the admin, one by one or a selection) is erased (GDPR, article
    17): the change history of their record, which holds every value it had, is deleted (the
    audit trail of a deleted record is lost, by design), and the admin's log calls them
    "Trainee no. 12 (deleted)" instead of their name. Connected after django-simple-history's
    own receiver, which writes the "deleted" row of the history first; this one removes it
    with the others."""
    names = instance.names_held()
    Trainee.history.filter(id=instance.pk).delete()
    with translation.override(settings.LANGUAGE_CODE):
        label = gettext("Trainee no. %(pk)s (deleted)") % {"pk": instance.pk}
    rename_in_admin_log(names, label)

    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Trainee), object_id=str(instance.pk)
    ).update(object_repr=label)


class WorkshopQuerySet(VisibleToQuerySet):
    training_body_lookup = "course__training_body_id"


class Workshop(models.Model):
    """A support session on using the laptop (the other half of the programme)."""

    course = models.ForeignKey(
        Course,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="workshops",
        verbose_name=_("course"),
        help_text=_("The course whose trainees it is for, if only one."),
    )
    date = models.DateField(_("date"))
    start_time = models.TimeField(_("start time"), null=True, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(15), MaxValueValidator(480)]
    )
    topic = models.CharField(_("topic"), max_length=200)
    place = models.CharField(_("place"), max_length=200)
    facilitator = models.CharField(_("facilitator"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    attendees = models.ManyToManyField(
        Trainee,
        through="Attendance",
        related_name="workshops",
        verbose_name=_("attendees"),
    )

    objects = WorkshopQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-start_time"]
        verbose_name = _("workshop")
        verbose_name_plural = _("workshops")

    def __str__(self):
        return f"{self.topic} ({self.date:%d/%m/%Y})"

    def get_absolute_url(self):
        return reverse("trainees:workshop", args=[self.pk])

    @property
    def duration_hours(self) -> Decimal:
        return (Decimal(self.duration_minutes) / 60).quantize(Decimal("0.01"))


class AttendanceQuerySet(VisibleToQuerySet):
    training_body_lookup = "trainee__course__training_body_id"


class Attendance(models.Model):
    """A trainee expected at a workshop, and whether they came."""

    workshop = models.ForeignKey(
        Workshop, on_delete=models.CASCADE, related_name="attendances", verbose_name=_("workshop")
    )
    trainee = models.ForeignKey(
        Trainee, on_delete=models.CASCADE, related_name="attendances", verbose_name=_("trainee")
    )
    present = models.BooleanField(_("present"), default=True)

    objects = AttendanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        constraints = [
            models.UniqueConstraint(fields=["workshop", "trainee"], name="attendance_once"),
        ]

    def __str__(self):
        return f"{self.trainee} · {self.workshop}"
