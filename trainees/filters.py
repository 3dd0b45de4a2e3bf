import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from defis.permissions import is_staff_member

from .models import Course, Territory, Trainee, TrainingBody


class ScopedFilterSet(django_filters.FilterSet):
    """Choices limited to what the user may see; the training-body filters for staff only."""

    staff_only = ("training_body", "territory")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not is_staff_member(user):
            for name in self.staff_only:
                self.filters.pop(name, None)
        if "course" in self.filters:
            self.filters["course"].queryset = Course.objects.visible_to(user).select_related(
                "training_body"
            )


class TraineeFilter(ScopedFilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        widget=forms.TextInput(attrs={"placeholder": _("Name, email or town"), "type": "search"}),
    )
    course = django_filters.ModelChoiceFilter(
        label=_("Course"), queryset=Course.objects.none(), empty_label=_("All")
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

    class Meta:
        model = Trainee
        fields = ["q", "course", "training_body", "territory"]

    def search(self, queryset, name, value):
        return queryset.search(value)


class CourseFilter(ScopedFilterSet):
    PERIODS = [
        ("current", _("Current")),
        ("coming", _("Coming")),
        ("past", _("Finished")),
    ]

    period = django_filters.ChoiceFilter(
        label=_("Period"), choices=PERIODS, method="in_period", empty_label=_("All")
    )
    training_body = django_filters.ModelChoiceFilter(
        label=_("Training body"), queryset=TrainingBody.objects.all(), empty_label=_("All")
    )
    territory = django_filters.ModelChoiceFilter(
        label=_("Territory"),
        field_name="training_body__territory",
        queryset=Territory.objects.all(),
        empty_label=_("All"),
    )
    programme = django_filters.CharFilter(label=_("Programme"), lookup_expr="icontains")

    class Meta:
        model = Course
        fields = ["period", "training_body", "territory", "programme"]

    def in_period(self, queryset, name, value):
        today = timezone.localdate()
        if value == "current":
            return queryset.filter(start_date__lte=today, end_date__gte=today)
        if value == "coming":
            return queryset.filter(start_date__gt=today)
        if value == "past":
            return queryset.filter(end_date__lt=today)
        return queryset
