"""The filters above the lists of courses and trainees, and what the lists of the other apps
share with them (the request queue, the loan list): choices read once and a page read by ids."""

import html

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from defis.permissions import is_staff_member

from .models import Course, Territory, Trainee, TrainingBody

# --- Choices read once -----------------------------------------------------------------------
# The filters above the lists offer model choices: some 1,500 courses at the design scale.
# Django's model choice field reads its rows to write the options, reads the chosen row again
# to check the value sent, and writes each option through a template; for the course list
# that took most of each page's time. These fields read their rows once, for both, and the
# select writes its options in Python: the same HTML, the same choices, the same errors.


class ListedChoiceIterator(django_filters.fields.ModelChoiceIterator):
    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for pk, _cleaned, label in self.field.listed():
            yield (pk, label)

    def __len__(self):
        extra = (self.field.empty_label is not None) + (self.field.null_label is not None)
        return len(self.field.listed()) + extra

    def __bool__(self):
        return self.field.empty_label is not None or bool(self.field.listed())


class ListedModelChoiceField(django_filters.fields.ModelChoiceField):
    """A model choice (by primary key) that reads its queryset once: the same rows give the
    options and check the value sent."""

    iterator = ListedChoiceIterator
    _listed = None

    def _set_queryset(self, queryset):
        self._listed = None
        super()._set_queryset(queryset)

    queryset = property(forms.ModelChoiceField._get_queryset, _set_queryset)

    def read_choices(self) -> list[tuple]:
        """(primary key, cleaned value, label) of each choice, in the queryset's order."""
        return [(obj.pk, obj, self.label_from_instance(obj)) for obj in self.queryset]

    def listed(self) -> list[tuple]:
        if self._listed is None:
            self._listed = self.read_choices()
        return self._listed

    def to_python(self, value):
        # As ModelChoiceField.to_python, the chosen row looked for among the rows read.
        if self.null_label is not None and value == self.null_value:
            return value
        if value in self.empty_values:
            return None
        self.validate_no_null_characters(value)
        invalid = ValidationError(
            self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
        )
        if isinstance(value, self.queryset.model):
            value = value.pk
        try:
            key = self.queryset.model._meta.pk.to_python(value)
        except ValidationError:
            raise invalid from None
        for pk, cleaned, _label in self.listed():
            if pk == key:
                return cleaned
        raise invalid


def _escape(value) -> str:
    """As the templates escape a value: Django's conditional_escape, without its handling of
    lazy values (called for each of some 1,500 options)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def _attributes(attrs: dict) -> str:
    """The attributes as django/forms/widgets/attrs.html writes them."""
    return "".join(
        f" {_escape(name)}" if value is True else f' {_escape(name)}="{_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class Select(forms.Select):
    """Django's select written in Python: the same HTML as its select.html and
    select_option.html, without rendering a template for each option. Named like Django's:
    crispy-forms derives the CSS class ("select") from the name."""

    def render(self, name, value, attrs=None, renderer=None):
        if self.allow_multiple_selected:
            return super().render(name, value, attrs, renderer)
        widget = forms.Widget.get_context(self, name, value, attrs)["widget"]
        options = []
        has_selected = False  # as ChoiceWidget.optgroups: the first matching option only
        for option_value, label in self.choices:
            if isinstance(label, (list, tuple)):  # a group of options: Django's own templates
                return super().render(name, value, attrs, renderer)
            option_value = "" if option_value is None else option_value
            selected = not has_selected and str(option_value) in widget["value"]
            has_selected |= selected
            options.append(
                f'\n  <option value="{_escape(option_value)}"'
                f"{' selected' if selected else ''}>{_escape(label)}</option>\n"
            )
        return mark_safe(
            f'<select name="{_escape(widget["name"])}"'
            f"{_attributes(widget['attrs'])}>{''.join(options)}\n</select>"
        )


class ListedModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ListedModelChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", Select)
        super().__init__(*args, **kwargs)


def course_label(title: str, training_body_short_name: str, start_date) -> str:
    """A course as `Course.__str__` names it ("{start_date:%m/%Y}"), from its values."""
    return f"{title} ({training_body_short_name}, {start_date.month:02}/{start_date.year})"


class CourseChoiceField(ListedModelChoiceField):
    """The courses read as plain values, not as model instances: the filter needs only
    their primary key."""

    def read_choices(self):
        rows = self.queryset.values_list("pk", "title", "training_body__short_name", "start_date")
        return [(pk, pk, course_label(*values)) for pk, *values in rows]


class CourseChoiceFilter(ListedModelChoiceFilter):
    """The course filter of the lists (trainees, requests, loans); the filter set gives it
    the courses the user may see."""

    field_class = CourseChoiceField


# --- Pages -----------------------------------------------------------------------------------


def page_of(
    filtered: QuerySet, number, *, order_by: tuple[str, ...], rows: QuerySet, per_page: int
) -> Page:
    """The page `number` of `filtered` in the order `order_by`, its rows read from `rows`
    (with their joins and annotations) in one query.

    The database sorts only the ids of the matching rows and reads in full those of the page:
    sorting every matching row with its joined rows and annotations, to keep fifty, took most
    of a list's time at the design scale (30,000 loans, 25,000 trainees)."""
    ids = filtered.order_by(*order_by).values_list("pk", flat=True)
    page = Paginator(ids, per_page).get_page(number)
    page.object_list = list(rows.filter(pk__in=page.object_list).order_by(*order_by))
    return page


# --- The filter sets -------------------------------------------------------------------------


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
    course = CourseChoiceFilter(
        label=_("Course"), queryset=Course.objects.none(), empty_label=_("All")
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
    training_body = ListedModelChoiceFilter(
        label=_("Training body"), queryset=TrainingBody.objects.all(), empty_label=_("All")
    )
    territory = ListedModelChoiceFilter(
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
