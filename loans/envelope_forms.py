"""Choosing a loan's budget envelope, and the reason staff give to go over one.

The rules (which envelopes fund a loan, whether one has room) are loans.envelopes' and
loans.lending's; these forms only offer the envelopes that cover the loan and read the reason.
The reason's field stays out of sight until the envelope refuses: going over the budget is
the exception, asked for when it arises.
"""

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from defis.money import format_euros

from . import envelopes
from .envelope_stats import figures_of, with_figures
from .models import BudgetEnvelope

OVERRUN = "envelope_overrun"


def refused_by_envelope(error: ValidationError) -> bool:
    """Whether a service refused because the envelope would overrun."""
    if getattr(error, "code", None) == OVERRUN:
        return True
    if any(getattr(item, "code", None) == OVERRUN for item in getattr(error, "error_list", [])):
        return True
    # loans.lending re-raises the envelope's refusal: its cause says what it was.
    return isinstance(error.__cause__, envelopes.EnvelopeError)


class EnvelopeChoiceField(forms.ModelChoiceField):
    """The envelopes, each with what it has left."""

    def label_from_instance(self, envelope):
        return gettext("%(envelope)s (%(available)s available)") % {
            "envelope": envelope,
            "available": format_euros(figures_of(envelope).available),
        }


def covering_envelopes(training_body, *days: date):
    """The envelopes that fund this training body on any of these days, with their figures
    (one query)."""
    scope = Q()
    for day in days:
        scope |= Q(pk__in=BudgetEnvelope.objects.covering(training_body, day).values("pk"))
    return with_figures(BudgetEnvelope.objects.filter(scope)).order_by("-start_date", "name")


class OverrideReasonMixin:
    """The optional reason to go over the envelope, for a form whose service checks it."""

    def add_override_reason(self):
        self.fields["override_reason"] = forms.CharField(
            label=_("Reason to go over the envelope"),
            required=False,
            max_length=1000,
            widget=forms.HiddenInput,
        )
        if self.data.get(self.add_prefix("override_reason"), "").strip():
            self.ask_override_reason()

    def ask_override_reason(self):
        """Show the field: the envelope refused, staff may go over it with a reason."""
        field = self.fields["override_reason"]
        field.widget = forms.Textarea(attrs={"rows": 2, "maxlength": 1000})
        field.help_text = _(
            "Only if the loan must go ahead all the same, for example when a top-up of the "
            "envelope is agreed: the reason is recorded on the loan and in its history."
        )
        # A bound field keeps the help text it was made with: make it again.
        self._bound_fields_cache.pop("override_reason", None)


class LoanEnvelopeForm(OverrideReasonMixin, forms.Form):
    envelope = EnvelopeChoiceField(
        label=_("Budget envelope"),
        queryset=BudgetEnvelope.objects.none(),
        empty_label=None,
        help_text=_("The envelopes that fund the training body on the handover date."),
    )

    def __init__(self, *args, loan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["envelope"].queryset = covering_envelopes(
            loan.course.training_body, loan.start_date
        )
        self.fields["envelope"].initial = loan.envelope_id
        self.add_override_reason()


def prepare_envelope_field(training_body, *, start_date: date, last_day: date):
    """The envelope of a loan being prepared: automatic (the one that funds the body on the
    handover date, loans.envelopes.envelope_for) unless staff pick another."""
    default = envelopes.envelope_for(training_body, start_date)
    help_text = (
        gettext("By default, the one that funds the training body on the handover date: “%s”.")
        % default
        if default
        else gettext("No envelope funds this training body on the handover date.")
    )
    return EnvelopeChoiceField(
        label=_("Budget envelope"),
        queryset=covering_envelopes(training_body, start_date, last_day),
        required=False,
        empty_label=_("Automatic"),
        help_text=help_text,
    )
