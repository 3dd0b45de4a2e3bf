import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from defis.permissions import is_staff_member
from trainees.filters import CourseChoiceFilter, ListedModelChoiceFilter
from trainees.models import Course, Territory, TrainingBody

from .models import LoanRequest

OPEN = "open"


class RequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        choices=[(OPEN, _("Open (submitted, waitlisted, approved)")), *LoanRequest.Status.choices],
        method="with_status",
        empty_label=_("All"),
    )
    course = CourseChoiceFilter(
        label=_("Course"),
        field_name="trainee__course",
        queryset=Course.objects.none(),
        empty_label=_("All"),
    )
    training_body = ListedModelChoiceFilter(
        label=_("Training body"),
        field_name="trainee__course__training_body",
        queryset=TrainingBody.objects.all(),
        empty_label=_("All"),
    )
    territory = ListedModelChoiceFilter(
        label=_("Territory"),
        field_name="trainee__course__training_body__territory",
        queryset=Territory.objects.all(),
        empty_label=_("All"),
    )
    needed_before = django_filters.DateFilter(
        label=_("Needed by, at the latest"),
        field_name="needed_by",
        lookup_expr="lte",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = LoanRequest
        fields = ["status", "course", "training_body", "territory", "needed_before"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not is_staff_member(user):
            del self.filters["training_body"]
            del self.filters["territory"]
        self.filters["course"].queryset = Course.objects.visible_to(user).select_related(
            "training_body"
        )

    def with_status(self, queryset, name, value):
        if value == OPEN:
            return queryset.filter(Q(status__in=LoanRequest.OPEN))
        return queryset.filter(status=value)
