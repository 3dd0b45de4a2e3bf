"""Loans, their agreement text (versioned) and the reminders sent about them.

A loan's status changes only through loans.lending, which locks the row, checks the move
against `Loan.TRANSITIONS`, moves the laptop and writes a `LoanEvent`.
"""

import uuid
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from defis.models import ChoiceLabels
from defis.periods import months_started
from defis.permissions import VisibleToQuerySet
from inventory.models import Laptop
from trainees.models import Course, Trainee

from .requests import LoanRequest

# The trainee's participation aux frais, per month begun (DESIGN.md: Money).
DEFAULT_MONTHLY_FEE = Decimal("7.00")


def _private_name(folder: str, filename: str) -> str:
    """A random name: the file's own name never reaches the disk, and the path cannot be
    guessed. Files under MEDIA_ROOT are never served as they are, only through views that
    check who asks."""
    return f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.pdf"


def agreement_upload_to(instance, filename: str) -> str:
    return _private_name("agreements", filename)


def scan_upload_to(instance, filename: str) -> str:
    return _private_name("signed-scans", filename)


class AgreementTemplateQuerySet(models.QuerySet):
    def current(self) -> "AgreementTemplate":
        """The latest version: the one new agreements are printed with."""
        template = self.order_by("-version").first()
        if template is None:
            raise AgreementTemplate.DoesNotExist(
                _("No agreement template exists yet: create one in the administration.")
            )
        return template


class AgreementTemplate(models.Model):
    """The editable text of the loan agreement (convention de prêt). Never changed in place:
    each edit saves a new version, and a signed agreement keeps the version it was signed
    with (and a frozen copy of its PDF)."""

    version = models.PositiveIntegerField(_("version"), unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    preamble = models.TextField(
        _("preamble"), help_text=_("The opening text. Separate paragraphs with a blank line.")
    )
    obligations = models.TextField(
        _("obligations"),
        help_text=_("The borrower’s obligations, one per line."),
    )
    data_protection = models.TextField(
        _("data-protection notice"),
        help_text=_(
            "How the trainee’s personal data is used. Separate paragraphs with a blank line."
        ),
    )
    closing = models.TextField(
        _("closing text"),
        blank=True,
        help_text=_("Printed just above the signatures. Separate paragraphs with a blank line."),
    )
    created_at = models.DateTimeField(_("created at"), editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = AgreementTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("agreement template")
        verbose_name_plural = _("agreement templates")

    def __str__(self):
        return _("%(title)s (version %(version)s)") % {"title": self.title, "version": self.version}

    @staticmethod
    def paragraphs(text: str) -> list[str]:
        return [part.strip() for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]

    @property
    def preamble_paragraphs(self) -> list[str]:
        return self.paragraphs(self.preamble)

    @property
    def obligation_lines(self) -> list[str]:
        return [
            line.strip(" -•\t") for line in self.obligations.splitlines() if line.strip(" -•\t")
        ]

    @property
    def data_protection_paragraphs(self) -> list[str]:
        return self.paragraphs(self.data_protection)

    @property
    def closing_paragraphs(self) -> list[str]:
        return self.paragraphs(self.closing)


class LoanQuerySet(VisibleToQuerySet):
    training_body_lookup = "course__training_body_id"

    def open(self):
        return self.filter(status__in=Loan.OPEN)

    def active(self):
        return self.filter(status=Loan.Status.ACTIVE)

    @staticmethod
    def overdue_condition(*, today: date) -> Q:
        """Handed over, and the planned end has passed without a return."""
        return Q(status=Loan.Status.ACTIVE, planned_end_date__lt=today)

    @staticmethod
    def ending_soon_condition(*, today: date, days: int = 14) -> Q:
        """Handed over, and the planned end is within `days` days."""
        return Q(
            status=Loan.Status.ACTIVE,
            planned_end_date__gte=today,
            planned_end_date__lte=today + timedelta(days=days),
        )

    def overdue(self, *, today: date):
        return self.filter(self.overdue_condition(today=today))

    def ending_soon(self, *, today: date, days: int = 14):
        return self.filter(self.ending_soon_condition(today=today, days=days))


class Loan(ChoiceLabels, models.Model):
    """A laptop lent to a trainee for the length of their course, under a signed agreement.

    Its status changes only through loans.lending, which locks the row, checks the move
    against `Loan.TRANSITIONS`, moves the laptop and writes a `LoanEvent`.
    """

    class Status(models.TextChoices):
        PREPARED = "prepared", pgettext_lazy("loan status", "Prepared")
        ACTIVE = "active", pgettext_lazy("loan status", "On loan")
        CLOSED = "closed", pgettext_lazy("loan status", "Closed")
        CANCELLED = "cancelled", pgettext_lazy("loan status", "Cancelled")

    class Outcome(models.TextChoices):
        RETURNED = "returned", pgettext_lazy("loan outcome", "Returned")
        LOST = "lost", pgettext_lazy("loan outcome", "Lost")
        STOLEN = "stolen", pgettext_lazy("loan outcome", "Stolen")
        WRITTEN_OFF = "written_off", pgettext_lazy("loan outcome", "Written off")

    class Accessory(models.TextChoices):
        # The same accessories as a laptop's has_charger, has_bag, has_mouse.
        CHARGER = "charger", _("charger")
        BAG = "bag", _("bag")
        MOUSE = "mouse", _("mouse")

    TRANSITIONS = {
        Status.PREPARED: {Status.ACTIVE, Status.CANCELLED},
        Status.ACTIVE: {Status.CLOSED},
        Status.CLOSED: set(),
        Status.CANCELLED: set(),
    }
    OPEN = (Status.PREPARED, Status.ACTIVE)

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    request = models.OneToOneField(
        LoanRequest,
        on_delete=models.PROTECT,
        related_name="loan",
        verbose_name=_("request"),
    )
    laptop = models.ForeignKey(
        Laptop, on_delete=models.PROTECT, related_name="loans", verbose_name=_("laptop")
    )
    trainee = models.ForeignKey(
        Trainee, on_delete=models.PROTECT, related_name="loans", verbose_name=_("trainee")
    )
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="loans", verbose_name=_("course")
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.PREPARED,
        editable=False,
        db_index=True,
    )
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, blank=True, editable=False
    )
    start_date = models.DateField(
        _("start date"), help_text=_("The handover day (planned, until the laptop is handed over).")
    )
    planned_end_date = models.DateField(_("planned end date"))
    return_date = models.DateField(_("return date"), null=True, blank=True, editable=False)
    monthly_fee = models.DecimalField(
        _("monthly fee"), max_digits=6, decimal_places=2, default=DEFAULT_MONTHLY_FEE
    )
    accessories_out = models.JSONField(_("accessories handed over"), default=list, blank=True)
    condition_out = models.TextField(_("condition at handover"), blank=True)
    accessories_back = models.JSONField(_("accessories returned"), default=list, blank=True)
    condition_back = models.TextField(_("condition at return"), blank=True)
    damage = models.TextField(_("damage"), blank=True)
    left_course_on = models.DateField(_("left the course on"), null=True, blank=True)
    police_report_reference = models.CharField(
        _("police report reference"), max_length=100, blank=True
    )
    agreement_template = models.ForeignKey(
        AgreementTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="loans",
        verbose_name=_("agreement version"),
    )
    agreement_pdf = models.FileField(
        _("signed agreement (frozen copy)"),
        upload_to=agreement_upload_to,
        blank=True,
        editable=False,
    )
    agreement_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    signed_scan = models.FileField(
        _("signed scan"), upload_to=scan_upload_to, blank=True, editable=False
    )
    signed_scan_uploaded_at = models.DateTimeField(null=True, blank=True, editable=False)
    envelope = models.ForeignKey(
        "loans.BudgetEnvelope",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loans",
        verbose_name=_("budget envelope"),
    )
    planned_periods = models.PositiveSmallIntegerField(
        _("planned months"),
        default=0,
        editable=False,
        help_text=_("The fee periods from the start to the planned end: what the loan commits."),
    )
    envelope_override_reason = models.TextField(
        _("reason for overrunning the envelope"), blank=True, editable=False
    )
    notes = models.TextField(_("notes"), blank=True)
    prepared_at = models.DateTimeField(_("prepared at"), editable=False)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        editable=False,
        related_name="+",
        verbose_name=_("prepared by"),
    )
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, editable=False)

    objects = LoanQuerySet.as_manager()
    # The audit trail: who changed what, and when (django-simple-history).
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "-pk"]
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        constraints = [
            models.UniqueConstraint(
                fields=["laptop"],
                condition=Q(status__in=["prepared", "active"]),
                name="one_open_loan_per_laptop",
                violation_error_message=_("This laptop is already on an open loan."),
            ),
            models.UniqueConstraint(
                fields=["trainee"],
                condition=Q(status__in=["prepared", "active"]),
                name="one_open_loan_per_trainee",
                violation_error_message=_("This trainee already has an open loan."),
            ),
            models.CheckConstraint(
                condition=Q(planned_end_date__gte=models.F("start_date")),
                name="loan_ends_after_it_starts",
                violation_error_message=_("The planned end date is before the start date."),
            ),
            models.CheckConstraint(
                condition=(Q(status="closed") & ~Q(outcome=""))
                | (~Q(status="closed") & Q(outcome="")),
                name="closed_loan_has_outcome",
            ),
            models.CheckConstraint(condition=Q(monthly_fee__gte=0), name="loan_fee_not_negative"),
        ]
        indexes = [models.Index(fields=["status", "planned_end_date"])]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("loans:loan", args=[self.pk])

    def count_planned_periods(self) -> int:
        """What `planned_periods` holds: kept in a column so that the envelope's commitments
        add up in SQL. Set by loans.lending whenever the dates change."""
        return months_started(self.start_date, self.planned_end_date)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def is_overdue(self, *, today: date) -> bool:
        return self.status == self.Status.ACTIVE and self.planned_end_date < today

    @property
    def months(self) -> int:
        """The fee periods of the loan: every month begun is owed. Until the laptop is back,
        those of the planned loan; once closed, those begun before the return."""
        if self.return_date is not None:
            return self.periods_due(until=self.return_date)
        return self.planned_periods

    def periods_due(self, *, until: date) -> int:
        """The fee periods owed by `until` (DESIGN.md: Money). Period k starts on the start
        date plus k - 1 months; it is owed once it has begun, on or before `until`, and
        before the loan ended: a laptop back on the first day of a period does not begin
        it. A loan handed over owes its first period, even when returned the same day."""
        if self.handed_over_at is None or until < self.start_date:
            return 0
        last_day = until
        if self.return_date is not None:
            last_day = min(last_day, self.return_date - timedelta(days=1))
        return max(1, months_started(self.start_date, last_day))

    @property
    def planned_total(self) -> Decimal:
        return self.monthly_fee * self.months

    @property
    def trainee_is_minor(self) -> bool:
        """Under 18 on the first day of the loan: the legal guardian co-signs."""
        return self.trainee.age_on(self.start_date) < 18

    @classmethod
    def accessory_labels(cls, keys) -> list[str]:
        labels = dict(cls.Accessory.choices)
        return [str(labels[key]) for key in keys if key in labels]

    @property
    def accessories_out_labels(self) -> list[str]:
        return self.accessory_labels(self.accessories_out)

    @property
    def accessories_back_labels(self) -> list[str]:
        return self.accessory_labels(self.accessories_back)

    @property
    def missing_accessories(self) -> list[str]:
        return self.accessory_labels(
            [key for key in self.accessories_out if key not in self.accessories_back]
        )


class LoanEvent(ChoiceLabels, models.Model):
    """One row per move of a loan: the timeline on the loan's page."""

    class Kind(models.TextChoices):
        PREPARED = "prepared", pgettext_lazy("loan event", "Prepared")
        HANDED_OVER = "handed_over", pgettext_lazy("loan event", "Handed over")
        EXTENDED = "extended", pgettext_lazy("loan event", "Extended")
        LEFT_COURSE = "left_course", pgettext_lazy("loan event", "Left the course")
        RETURNED = "returned", pgettext_lazy("loan event", "Returned")
        LOST = "lost", pgettext_lazy("loan event", "Reported lost")
        STOLEN = "stolen", pgettext_lazy("loan event", "Reported stolen")
        WRITTEN_OFF = "written_off", pgettext_lazy("loan event", "Written off")
        CANCELLED = "cancelled", pgettext_lazy("loan event", "Cancelled")
        SCAN_ATTACHED = "scan_attached", pgettext_lazy("loan event", "Signed scan attached")
        ENVELOPE_CHANGED = "envelope_changed", pgettext_lazy("loan event", "Envelope changed")

    loan = models.ForeignKey(
        Loan, on_delete=models.CASCADE, related_name="events", verbose_name=_("loan")
    )
    kind = models.CharField(_("event"), max_length=20, choices=Kind.choices)
    on = models.DateField(_("date"), help_text=_("The day it happened."))
    at = models.DateTimeField(_("recorded at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("loan event")
        verbose_name_plural = _("loan events")

    def __str__(self):
        return f"{self.loan.number}: {self.get_kind_display()}"


class ReminderLog(ChoiceLabels, models.Model):
    """What send_reminders has sent: the unique key makes every reminder go once, even when
    the command runs twice, or on two servers at the same time."""

    class Kind(models.TextChoices):
        ENDS_IN_14_DAYS = "ends_in_14", _("Loan ends in 14 days")
        ENDS_IN_3_DAYS = "ends_in_3", _("Loan ends in 3 days")
        OVERDUE = "overdue", _("Return overdue")
        STAFF_DIGEST = "staff_digest", _("Daily digest for staff")

    kind = models.CharField(_("reminder"), max_length=20, choices=Kind.choices)
    key = models.CharField(_("key"), max_length=100)
    loan = models.ForeignKey(
        Loan,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("loan"),
    )
    recipients = models.TextField(_("recipients"), blank=True)
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        ordering = ["-sent_at", "-pk"]
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="one_reminder_per_key"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.key}"
