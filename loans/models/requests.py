"""Laptop requests: a coordinator asks for a laptop for one trainee.

A request's status changes only through loans.services, which locks the row, checks the move
against `LoanRequest.TRANSITIONS` and writes a `LoanRequestEvent`.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from defis.models import ChoiceLabels
from defis.permissions import VisibleToQuerySet
from inventory.models import Laptop
from trainees.models import Trainee


class LoanRequestQuerySet(VisibleToQuerySet):
    training_body_lookup = "trainee__course__training_body_id"

    def open(self):
        return self.filter(status__in=LoanRequest.OPEN)

    def waitlist(self):
        """Waiting requests, first come first served."""
        return self.filter(status=LoanRequest.Status.WAITLISTED).order_by("submitted_at", "pk")


class LoanRequest(ChoiceLabels, models.Model):
    """A coordinator asks for a laptop for one trainee; Défis approves, waitlists or rejects."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", pgettext_lazy("request status", "Submitted")
        WAITLISTED = "waitlisted", pgettext_lazy("request status", "Waitlisted")
        APPROVED = "approved", pgettext_lazy("request status", "Approved")
        FULFILLED = "fulfilled", pgettext_lazy("request status", "Fulfilled")
        REJECTED = "rejected", pgettext_lazy("request status", "Rejected")
        CANCELLED = "cancelled", pgettext_lazy("request status", "Cancelled")

    # The lifecycle of DESIGN.md.
    TRANSITIONS = {
        Status.SUBMITTED: {Status.APPROVED, Status.WAITLISTED, Status.REJECTED, Status.CANCELLED},
        Status.WAITLISTED: {Status.APPROVED, Status.REJECTED, Status.CANCELLED},
        Status.APPROVED: {Status.FULFILLED, Status.REJECTED, Status.CANCELLED},
        # A loan prepared and then cancelled (never handed over) closes its request.
        Status.FULFILLED: {Status.CANCELLED},
        Status.REJECTED: set(),
        Status.CANCELLED: set(),
    }
    OPEN = (Status.SUBMITTED, Status.WAITLISTED, Status.APPROVED)

    trainee = models.ForeignKey(
        Trainee,
        on_delete=models.PROTECT,
        related_name="loan_requests",
        verbose_name=_("trainee"),
    )
    needed_by = models.DateField(_("needed by"))
    justification = models.TextField(
        _("justification"),
        help_text=_("Why the trainee needs a laptop: no computer at home, distance learning…"),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.SUBMITTED,
        editable=False,
        db_index=True,
    )
    laptop = models.ForeignKey(
        Laptop,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="loan_requests",
        verbose_name=_("laptop"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        editable=False,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, editable=False)
    decision_reason = models.TextField(_("reason"), blank=True, editable=False)

    objects = LoanRequestQuerySet.as_manager()
    # The audit trail: who changed what, and when (django-simple-history).
    history = HistoricalRecords()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = _("laptop request")
        verbose_name_plural = _("laptop requests")
        constraints = [
            models.UniqueConstraint(
                fields=["trainee"],
                condition=Q(status__in=["submitted", "waitlisted", "approved"]),
                name="one_open_request_per_trainee",
                violation_error_message=_("This trainee already has an open request."),
            ),
            models.UniqueConstraint(
                fields=["laptop"],
                condition=Q(status="approved"),
                name="one_approved_request_per_laptop",
                violation_error_message=_("This laptop is already reserved for another request."),
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(laptop__isnull=False),
                name="approved_request_has_laptop",
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("loans:request", args=[self.pk])

    def clean(self):
        super().clean()
        trainee = self.trainee if self.trainee_id else None
        if trainee and self.needed_by and self.needed_by > trainee.course.end_date:
            raise ValidationError(
                {
                    "needed_by": _("The needed-by date is after the end of the course (%(date)s).")
                    % {"date": date_format(trainee.course.end_date, "SHORT_DATE_FORMAT")}
                }
            )

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def number(self) -> str:
        return f"D-{self.pk:05d}" if self.pk else ""


class LoanRequestEvent(ChoiceLabels, models.Model):
    """One row per change of a request's status: what the coordinator follows."""

    request = models.ForeignKey(
        LoanRequest, on_delete=models.CASCADE, related_name="events", verbose_name=_("request")
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=LoanRequest.Status.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=LoanRequest.Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("when"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("request event")
        verbose_name_plural = _("request events")

    def __str__(self):
        return f"{self.request.number}: {self.from_status or '∅'} → {self.to_status}"
