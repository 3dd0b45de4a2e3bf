from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from defis.forms import IdsChoiceField
from inventory.models import Laptop

from .models import LoanRequest
from .services import ready_laptops


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class RequestForm(forms.Form):
    needed_by = forms.DateField(
        label=_("Needed by"),
        widget=DateInput(),
        help_text=_("The day the trainee needs the laptop, usually the first day of the course."),
    )
    justification = forms.CharField(
        label=_("Justification"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=LoanRequest._meta.get_field("justification").help_text,
    )

    def __init__(self, *args, course=None, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        start = course.start_date if course else today + timedelta(days=7)
        self.fields["needed_by"].initial = max(start, today)


class CourseRequestForm(RequestForm):
    trainees = IdsChoiceField(
        label=_("Trainees"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick at least one trainee.")},
    )

    field_order = ["trainees", "needed_by", "justification"]

    def __init__(self, *args, trainees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trainees"].queryset = trainees
        self.fields["trainees"].label_from_instance = lambda t: f"{t.last_name} {t.first_name}"


class ApproveForm(forms.Form):
    laptop = forms.ModelChoiceField(
        label=_("Laptop to reserve"),
        queryset=Laptop.objects.none(),
        required=False,
        empty_label=_("The suggested one (ready the longest)"),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["laptop"].queryset = ready_laptops()
        self.fields["laptop"].label_from_instance = lambda laptop: (
            f"{laptop.asset_tag} · {laptop.name}"
            + (f" · {laptop.get_grade_display()}" if laptop.grade else "")
        )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the rejection"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Sent to the coordinator."),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=1000)
