"""Forms of the workshop pages: the workshop itself, who was expected and who came, and the
filters shared by the list and the hours report."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from defis.forms import IdsChoiceField
from trainees.models import Course, TrainingBody, Workshop

# HTML date and time inputs send and expect ISO values, whatever the language of the page.
DATE_INPUT = {"attrs": {"type": "date"}, "format": "%Y-%m-%d"}


def courses_to_choose():
    # Courses are named after their training body (see Course.__str__): fetch it with them.
    return Course.objects.select_related("training_body")


class WorkshopForm(forms.ModelForm):
    class Meta:
        model = Workshop
        fields = [
            "date",
            "start_time",
            "duration_minutes",
            "topic",
            "place",
            "facilitator",
            "course",
            "notes",
        ]
        widgets = {
            "date": forms.DateInput(**DATE_INPUT),
            "start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            # The model checks 15 to 480; the browser's arrows stay in the same range.
            "duration_minutes": forms.NumberInput(attrs={"min": 15, "max": 480}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "duration_minutes": _("From 15 to 480: 90 for 1 h 30."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        course = self.fields["course"]
        course.queryset = courses_to_choose()
        course.empty_label = _("None: trainees of several courses")


class AttendanceForm(forms.Form):
    """Who was expected (`trainees`) and who came (`present`), among `candidates`.

    A trainee ticked as present counts as expected even if the first box was left empty:
    someone who came was obviously on the list.
    """

    OFF_THE_LIST = _(
        "A ticked trainee is not on this workshop’s list any more. Reload the page and tick again."
    )

    trainees = IdsChoiceField(
        label=_("Expected"),
        queryset=None,
        required=False,
        error_messages={"invalid_choice": OFF_THE_LIST, "invalid_pk_value": OFF_THE_LIST},
    )
    present = IdsChoiceField(
        label=_("Present"),
        queryset=None,
        required=False,
        error_messages={"invalid_choice": OFF_THE_LIST, "invalid_pk_value": OFF_THE_LIST},
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trainees"].queryset = candidates
        self.fields["present"].queryset = candidates

    def clean(self):
        cleaned = super().clean()
        if "trainees" in cleaned and "present" in cleaned:
            cleaned["trainees"] = {*cleaned["trainees"], *cleaned["present"]}
            cleaned["present"] = set(cleaned["present"])
        return cleaned

    def ticked(self, name) -> set[str]:
        """The ids ticked in field `name`, as the page shows them (submitted or initial)."""
        return {str(value) for value in self[name].value() or ()}


class WorkshopFilter(django_filters.FilterSet):
    """The filters of the workshop list; the hours report uses the same form."""

    training_body = django_filters.ModelChoiceFilter(
        label=_("Training body"),
        field_name="course__training_body",
        queryset=TrainingBody.objects.all(),
        empty_label=_("All training bodies"),
    )
    course = django_filters.ModelChoiceFilter(
        label=_("Course"), queryset=courses_to_choose(), empty_label=_("All courses")
    )
    date_from = django_filters.DateFilter(
        label=_("From"), field_name="date", lookup_expr="gte", widget=forms.DateInput(**DATE_INPUT)
    )
    date_to = django_filters.DateFilter(
        label=_("To"), field_name="date", lookup_expr="lte", widget=forms.DateInput(**DATE_INPUT)
    )

    class Meta:
        model = Workshop
        fields = ["training_body", "course", "date_from", "date_to"]
