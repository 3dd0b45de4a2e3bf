"""Money: the funder's budget envelopes and the append-only ledger of the trainees' fees.

Amounts are `Decimal` in euros with two places, never floats (DESIGN.md: Money).

The ledger (`FeeEntry`) is written, never rewritten: a mistake is corrected by a reversal,
which cancels exactly one earlier line, once. The model, its queryset, the admin and, on
PostgreSQL, a database trigger all refuse to update or delete a line. Lines are written by
loans.ledger only.

One exception, for the anonymisation only: `FeeEntry.objects.scrub_free_text()` empties the
free text of lines (their reference and reason, which may name the person), and nothing
else. On PostgreSQL the trigger lets that UPDATE through only inside the transaction that
asks for it (migration 0009), and only when every other column stays as it was.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from defis.models import ChoiceLabels
from defis.money import format_euros
from defis.permissions import VisibleToQuerySet
from trainees.models import Territory, TrainingBody

from .loans import DEFAULT_MONTHLY_FEE, Loan


class BudgetEnvelopeQuerySet(models.QuerySet):
    def active_on(self, day: date):
        return self.filter(start_date__lte=day, end_date__gte=day)

    def covering(self, training_body: TrainingBody, day: date):
        """The envelopes that fund a loan of this training body starting on `day`: those that
        name the body, or its territory, or name neither (the whole programme)."""
        return (
            self.active_on(day)
            .filter(
                Q(training_bodies=training_body)
                | Q(territories=training_body.territory_id)
                | Q(training_bodies__isnull=True, territories__isnull=True)
            )
            .distinct()
        )


class BudgetEnvelope(models.Model):
    """What a funder grants for the programme: the Région Bretagne's 15,000 € in the demo.

    Every loan month charged to a trainee draws the funder's share from the envelope.
    """

    funder = models.CharField(_("funder"), max_length=200)
    name = models.CharField(_("name"), max_length=200)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    trainee_fee = models.DecimalField(
        _("trainee fee per month"),
        max_digits=6,
        decimal_places=2,
        default=DEFAULT_MONTHLY_FEE,
        help_text=_("The participation aux frais each trainee pays for every month begun."),
    )
    funder_share = models.DecimalField(
        _("funder share per loan month"),
        max_digits=8,
        decimal_places=2,
        help_text=_("What the envelope pays for every loan month charged."),
    )
    territories = models.ManyToManyField(
        Territory,
        blank=True,
        related_name="envelopes",
        verbose_name=_("territories"),
        help_text=_("Leave empty, with the training bodies, for an envelope that funds them all."),
    )
    training_bodies = models.ManyToManyField(
        TrainingBody,
        blank=True,
        related_name="envelopes",
        verbose_name=_("training bodies"),
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = BudgetEnvelopeQuerySet.as_manager()
    # The audit trail: who changed what, and when (django-simple-history).
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "name"]
        verbose_name = _("budget envelope")
        verbose_name_plural = _("budget envelopes")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="envelope_amount_positive"),
            models.CheckConstraint(
                condition=Q(trainee_fee__gte=0) & Q(funder_share__gte=0),
                name="envelope_rates_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="envelope_ends_after_it_starts",
                violation_error_message=_("The end date is before the start date."),
            ),
        ]

    def __str__(self):
        return f"{self.funder} · {self.name}"

    def get_absolute_url(self):
        return reverse("loans:envelope", args=[self.pk])

    def clean(self):
        super().clean()
        if self.pk is None or self.amount is None:
            return
        consumed = self.entries.aggregate(total=models.Sum("envelope_amount"))["total"] or 0
        if self.amount < consumed:
            raise ValidationError(
                {
                    "amount": _(
                        "%(consumed)s has already been drawn from this envelope: its amount "
                        "cannot be less."
                    )
                    % {"consumed": format_euros(consumed)}
                }
            )


# The free text of a ledger line, which the anonymisation empties (and nothing else).
SCRUBBED_FIELDS = ("reference", "reason")
# The PostgreSQL setting under which the ledger's trigger lets that one UPDATE through.
SCRUB_SETTING = "defis.scrub_free_text"
SCRUB_BATCH = 500


class FeeEntryQuerySet(VisibleToQuerySet):
    training_body_lookup = "loan__course__training_body_id"

    # The ledger is append-only: no bulk rewrite either.
    def update(self, **kwargs):
        raise LedgerIsAppendOnly(_("A ledger line is never changed: record a reversal."))

    def delete(self):
        raise LedgerIsAppendOnly(_("A ledger line is never deleted: record a reversal."))

    def scrub_free_text(self) -> int:
        """Empty the reference and the reason of these lines, which may name the person, and
        change nothing else: the amounts, dates and links stay (loans.anonymisation). Return
        how many lines were changed.

        The one write the append-only ledger allows. A raw UPDATE of these two columns only;
        on PostgreSQL, after `SET LOCAL defis.scrub_free_text = 'on'`, the only case in which
        the ledger's trigger lets an UPDATE through (migration 0009), and switched off again
        before the transaction goes on."""
        ids = list(self.exclude(reference="", reason="").order_by().values_list("pk", flat=True))
        if not ids:
            return 0
        meta = self.model._meta
        connection = connections[self.db]
        quote = connection.ops.quote_name
        columns = ", ".join(
            f"{quote(meta.get_field(name).column)} = ''" for name in SCRUBBED_FIELDS
        )
        with transaction.atomic(using=self.db), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"SET LOCAL {SCRUB_SETTING} = 'on'")
            for start in range(0, len(ids), SCRUB_BATCH):
                batch = ids[start : start + SCRUB_BATCH]
                cursor.execute(
                    f"UPDATE {quote(meta.db_table)} SET {columns} "
                    f"WHERE {quote(meta.pk.column)} IN ({', '.join(['%s'] * len(batch))})",
                    batch,
                )
            if connection.vendor == "postgresql":
                cursor.execute(f"SET LOCAL {SCRUB_SETTING} = 'off'")
        return len(ids)


class LedgerIsAppendOnly(Exception):
    """An attempt to change or delete a ledger line."""


class FeeEntry(ChoiceLabels, models.Model):
    """One line of a loan's ledger. Balance = the sum of the amounts: a charge is positive,
    a payment or a waiver negative, a reversal the opposite of the line it cancels."""

    class Kind(models.TextChoices):
        CHARGE = "charge", pgettext_lazy("ledger line", "Charge")
        PAYMENT = "payment", pgettext_lazy("ledger line", "Payment")
        WAIVER = "waiver", pgettext_lazy("ledger line", "Waiver")
        REVERSAL = "reversal", pgettext_lazy("ledger line", "Reversal")

    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        CHEQUE = "cheque", _("Cheque")
        TRANSFER = "transfer", _("Bank transfer")
        CARD = "card", _("Card")
        TRAINING_BODY = "training_body", _("Paid by the training body")

    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, related_name="fee_entries", verbose_name=_("loan")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=9, decimal_places=2)
    period = models.PositiveSmallIntegerField(
        _("period"), null=True, blank=True, help_text=_("1 for the loan’s first month.")
    )
    entry_date = models.DateField(
        _("date"), help_text=_("The first day of the period charged, or the day paid.")
    )
    envelope = models.ForeignKey(
        BudgetEnvelope,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name=_("envelope"),
    )
    envelope_amount = models.DecimalField(
        _("drawn from the envelope"),
        max_digits=9,
        decimal_places=2,
        default=Decimal("0.00"),
        help_text=_("The funder’s share of a loan month charged (negative on its reversal)."),
    )
    method = models.CharField(
        _("payment method"), max_length=20, choices=Method.choices, blank=True
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    reverses = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        verbose_name=_("reverses"),
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("received by"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    objects = FeeEntryQuerySet.as_manager()

    class Meta:
        ordering = ["loan_id", "entry_date", "pk"]
        verbose_name = _("ledger line")
        verbose_name_plural = _("ledger lines")
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "period"],
                condition=Q(kind="charge"),
                name="one_charge_per_loan_period",
            ),
            models.CheckConstraint(
                condition=(Q(kind="charge") & Q(period__isnull=False) & Q(period__gte=1))
                | (~Q(kind="charge") & Q(period__isnull=True)),
                name="fee_entry_period_only_on_charges",
            ),
            models.CheckConstraint(
                condition=(Q(kind="charge") & Q(amount__gte=0))
                | (Q(kind__in=["payment", "waiver"]) & Q(amount__lt=0))
                | (Q(kind="reversal") & ~Q(amount=0)),
                name="fee_entry_amount_sign",
            ),
            models.CheckConstraint(
                condition=(Q(kind="reversal") & Q(reverses__isnull=False))
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="fee_entry_reversal_names_its_line",
            ),
            models.CheckConstraint(
                condition=~Q(kind="payment") | ~Q(method=""),
                name="fee_entry_payment_has_method",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["charge", "reversal"]) | Q(envelope_amount=0),
                name="fee_entry_draws_only_on_charges",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "entry_date"]),
            models.Index(fields=["envelope", "entry_date"]),
        ]

    def __str__(self):
        return f"{self.loan.number} · {self.get_kind_display()} · {format_euros(self.amount)}"

    def save(self, *args, **kwargs):
        # Append-only: a line is inserted once and never written again.
        if not self._state.adding:
            raise LedgerIsAppendOnly(_("A ledger line is never changed: record a reversal."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly(_("A ledger line is never deleted: record a reversal."))
