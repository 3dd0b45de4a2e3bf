"""The filters above the loan list."""

from datetime import date

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from defis.permissions import is_staff_member
from trainees.models import Course, Territory, TrainingBody

from .models import BudgetEnvelope, Loan

OPEN = "open"
ENDING_SOON = "ending_soon"
OVERDUE = "overdue"
# "Ending soon": the planned end falls within this many days.
ENDING_SOON_DAYS = 14


class LoanFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        widget=forms.TextInput(
            attrs={"placeholder": _("Loan number, trainee or asset tag"), "type": "search"}
        ),
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[(OPEN, _("Open (prepared, on loan)")), *Loan.Status.choices],
        method="with_status",
        empty_label=_("All"),
    )
    end = django_filters.ChoiceFilter(
        label=_("Planned end"),
        choices=[
            (ENDING_SOON, _("Ending within 14 days")),
            (OVERDUE, _("Overdue")),
        ],
        method="with_end",
        empty_label=_("Any"),
    )
    course = django_filters.ModelChoiceFilter(
        label=_("Course"),
        field_name="course",
        queryset=Course.objects.none(),
        empty_label=_("All"),
    )
    training_body = django_filters.ModelChoiceFilter(
        label=_("Training body"),
        field_name="course__training_body",
        queryset=TrainingBody.objects.all(),
        empty_label=_("All"),
    )
    territory = django_filters.ModelChoiceFilter(
        label=_("Territory"),
        field_name="course__training_body__territory",
        queryset=Territory.objects.all(),
        empty_label=_("All"),
    )

    envelope = django_filters.ModelChoiceFilter(
        label=_("Envelope"),
        field_name="envelope",
        queryset=BudgetEnvelope.objects.all(),
        empty_label=_("All"),
    )

    class Meta:
        model = Loan
        fields = ["q", "status", "end", "course", "training_body", "territory", "envelope"]

    def __init__(self, *args, user, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        if not is_staff_member(user):
            del self.filters["training_body"]
            del self.filters["territory"]
            del self.filters["envelope"]
        self.filters["course"].queryset = Course.objects.visible_to(user).select_related(
            "training_body"
        )

    def search(self, queryset, name, value):
        query = Q()
        for word in value.split():
            query &= (
                Q(number__icontains=word)
                | Q(trainee__first_name__icontains=word)
                | Q(trainee__last_name__icontains=word)
                | Q(laptop__asset_tag__icontains=word)
            )
        return queryset.filter(query)

    def with_status(self, queryset, name, value):
        if value == OPEN:
            return queryset.open()
        return queryset.filter(status=value)

    def with_end(self, queryset, name, value):
        if value == OVERDUE:
            return queryset.overdue(today=self.today)
        return queryset.ending_soon(today=self.today, days=ENDING_SOON_DAYS)
