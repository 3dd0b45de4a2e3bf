"""The filters above the loan list."""

from datetime import date

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from defis.permissions import is_staff_member
from inventory.models import Laptop
from trainees.filters import CourseChoiceFilter, ListedModelChoiceFilter
from trainees.models import Course, Territory, Trainee, TrainingBody

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
    course = CourseChoiceFilter(
        label=_("Course"),
        field_name="course",
        queryset=Course.objects.none(),
        empty_label=_("All"),
    )
    training_body = ListedModelChoiceFilter(
        label=_("Training body"),
        field_name="course__training_body",
        queryset=TrainingBody.objects.all(),
        empty_label=_("All"),
    )
    territory = ListedModelChoiceFilter(
        label=_("Territory"),
        field_name="course__training_body__territory",
        queryset=Territory.objects.all(),
        empty_label=_("All"),
    )

    envelope = ListedModelChoiceFilter(
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
        self.is_staff = is_staff_member(user)
        if not self.is_staff:
            del self.filters["training_body"]
            del self.filters["territory"]
            del self.filters["envelope"]
        self.filters["course"].queryset = Course.objects.visible_to(user).select_related(
            "training_body"
        )

    def search(self, queryset, name, value):
        query = Q()
        for word in value.split():
            if self.is_staff:
                # Every loan is searched: the trainees and laptops that match are read apart,
                # once each, rather than joined to 30,000 loans and tested loan by loan (half
                # the time). A coordinator's few hundred loans are quicker tested one by one.
                trainees = Trainee.objects.filter(
                    Q(first_name__icontains=word) | Q(last_name__icontains=word)
                )
                laptops = Laptop.objects.filter(asset_tag__icontains=word)
                matches = Q(trainee__in=trainees) | Q(laptop__in=laptops)
            else:
                matches = (
                    Q(trainee__first_name__icontains=word)
                    | Q(trainee__last_name__icontains=word)
                    | Q(laptop__asset_tag__icontains=word)
                )
            query &= Q(number__icontains=word) | matches
        return queryset.filter(query)

    def with_status(self, queryset, name, value):
        if value == OPEN:
            return queryset.open()
        return queryset.filter(status=value)

    def with_end(self, queryset, name, value):
        if value == OVERDUE:
            return queryset.overdue(today=self.today)
        return queryset.ending_soon(today=self.today, days=ENDING_SOON_DAYS)
