"""The forms of the loan pages. They only read what was typed; the rules of the loan
lifecycle (dates in order, nothing in the future, the state the loan is in) are checked by
loans.lending, whose errors the views show on the form."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import lending
from .envelope_forms import OverrideReasonMixin, prepare_envelope_field
from .forms import DateInput
from .models import Loan


def _accessories_field(**kwargs):
    return forms.MultipleChoiceField(
        label=_("Accessories"),
        choices=Loan.Accessory.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        **kwargs,
    )


def _today_field(label, **kwargs):
    return forms.DateField(label=label, widget=DateInput(), initial=timezone.localdate, **kwargs)


class PrepareForm(OverrideReasonMixin, forms.Form):
    start_date = _today_field(
        _("Handover date"),
        help_text=_("The day the trainee comes to sign the agreement and take the laptop."),
    )
    planned_end_date = forms.DateField(
        label=_("Planned end date"),
        widget=DateInput(),
        help_text=_("The end of the course, unless the laptop is needed for less time."),
    )
    accessories = _accessories_field(help_text=_("What goes with the laptop."))
    condition = forms.CharField(label=_("Condition at handover"), required=False, max_length=500)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, loan_request, **kwargs):
        super().__init__(*args, **kwargs)
        laptop = loan_request.laptop
        self.fields["planned_end_date"].initial = loan_request.trainee.course.end_date
        self.fields["accessories"].initial = lending.laptop_accessories(laptop)
        self.fields["condition"].initial = laptop.get_grade_display()
        # The budget envelope (issue 6): automatic by default, and the reason to go over it.
        course = loan_request.trainee.course
        self.fields["envelope"] = prepare_envelope_field(
            course.training_body, start_date=timezone.localdate(), last_day=course.end_date
        )
        self.add_override_reason()


class HandOverForm(forms.Form):
    on = _today_field(_("Handover date"), help_text=_("Today, or an earlier day."))
    accessories = _accessories_field()
    condition = forms.CharField(label=_("Condition at handover"), required=False, max_length=500)

    def __init__(self, *args, loan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accessories"].initial = loan.accessories_out
        self.fields["condition"].initial = loan.condition_out


class ExtendForm(OverrideReasonMixin, forms.Form):
    until = forms.DateField(label=_("New planned end date"), widget=DateInput())
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: course extended, exam taken later."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_override_reason()  # issue 6: to go over the budget envelope


class ReturnForm(forms.Form):
    on = _today_field(_("Return date"))
    accessories = _accessories_field(help_text=_("Untick what did not come back."))
    condition = forms.CharField(label=_("Condition at return"), required=False, max_length=500)
    damage = forms.CharField(
        label=_("Damage"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Leave empty when the laptop came back as it left."),
    )

    def __init__(self, *args, loan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accessories"].initial = loan.accessories_out


class LossForm(forms.Form):
    OUTCOMES = [
        (Loan.Outcome.LOST, Loan.Outcome.LOST.label),
        (Loan.Outcome.STOLEN, Loan.Outcome.STOLEN.label),
        (Loan.Outcome.WRITTEN_OFF, Loan.Outcome.WRITTEN_OFF.label),
    ]

    outcome = forms.ChoiceField(
        label=_("What happened"), choices=OUTCOMES, widget=forms.RadioSelect
    )
    on = _today_field(_("Date"), help_text=_("The day it was lost, stolen or given up on."))
    police_report_reference = forms.CharField(
        label=_("Police report reference"),
        required=False,
        max_length=100,
        help_text=_("Required for a theft."),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required for a write-off: why the laptop will not come back."),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the cancellation"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give the reason for the cancellation.")},
    )


class DepartureForm(forms.Form):
    left_on = _today_field(_("Left the course on"))
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: found a job, moved away. Défis then arranges the return."),
    )


class ScanForm(forms.Form):
    scan = forms.FileField(
        label=_("Signed scan (PDF, 10 MB at most)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
        error_messages={"required": _("Choose the PDF of the signed agreement.")},
    )
