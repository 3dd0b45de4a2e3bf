"""The machinery of the lists' filters and pages (trainees.filters): the choices read once,
the select written in Python, the page read by ids. Each gives what Django's own gives."""

import django_filters
import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CourseFactory, TraineeFactory, TrainingBodyFactory, make_loan
from trainees.filters import TraineeFilter, page_of
from trainees.models import Course, Trainee

pytestmark = pytest.mark.django_db


@pytest.fixture
def courses(agora, askoria):
    return [
        CourseFactory(training_body=agora, title='Atelier <b>"l\'écran"</b> & clavier'),
        CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes"),
        CourseFactory(training_body=askoria, title="PRÉPA Clés"),
    ]


def _filter_form(data, user, *, djangos_own=False):
    """The trainee list's filter form as the page writes it; with `djangos_own`, its course
    field replaced by Django's model choice field and select."""
    filterset = TraineeFilter(data, queryset=Trainee.objects.all(), user=user)
    if djangos_own:
        field = filterset.form.fields["course"]
        filterset.form.fields["course"] = django_filters.fields.ModelChoiceField(
            queryset=field.queryset,
            empty_label=field.empty_label,
            label=field.label,
            required=False,
        )
    valid = filterset.is_valid() if data is not None else True
    html = render_to_string("includes/filter_form.html", {"filter": filterset, "reset_url": "/"})
    return valid, filterset.form.errors, html


@pytest.mark.parametrize(
    "value",
    [None, "first", "other body", "abc", "99999999", "9" * 30, " 2 ", "1\x00"],
    ids=["none", "chosen", "another body's", "text", "unknown", "too large", "spaces", "null"],
)
@pytest.mark.parametrize("username", ["alice", "bob"])
def test_the_course_filter_writes_and_checks_as_djangos_own(request, courses, username, value):
    user = request.getfixturevalue(username)
    named = {"first": str(courses[0].pk), "other body": str(courses[2].pk)}
    data = None if value is None else {"course": named.get(value, value)}
    ours = _filter_form(data, user)
    djangos = _filter_form(data, user, djangos_own=True)
    assert ours == djangos
    assert "&lt;b&gt;&quot;l&#x27;écran&quot;&lt;/b&gt; &amp; clavier" in ours[2]


def test_each_course_is_named_as_its_own_page_names_it(alice, courses):
    field = TraineeFilter(None, queryset=Trainee.objects.all(), user=alice).form.fields["course"]
    assert [label for _pk, _value, label in field.listed()] == [
        str(course) for course in Course.objects.select_related("training_body")
    ]


def test_the_values_chosen_are_checked_against_the_choices_already_read(alice, courses):
    agora = courses[0].training_body
    data = {"course": courses[0].pk, "training_body": agora.pk, "territory": agora.territory_id}
    filterset = TraineeFilter(data, queryset=Trainee.objects.all(), user=alice)
    with CaptureQueriesContext(connection) as queries:
        assert filterset.is_valid()
        render_to_string("includes/filter_form.html", {"filter": filterset, "reset_url": "/"})
    # One query for each list of choices: courses, training bodies, territories.
    assert len(queries) == 3, [query["sql"] for query in queries]
    cleaned = filterset.form.cleaned_data
    assert (cleaned["course"], cleaned["training_body"], cleaned["territory"]) == (
        courses[0].pk,
        agora,
        agora.territory,
    )


@pytest.mark.parametrize(
    "url", ["trainees:trainees", "loans:requests", "loans:loans"], ids=lambda url: url
)
def test_a_filter_on_a_course_body_or_territory_costs_no_query(client, alice, courses, url):
    client.force_login(alice)
    agora = courses[0].training_body
    make_loan(TraineeFactory(course=courses[0]), by=alice)
    counts = []
    for data in (
        {},
        {"course": courses[0].pk},
        {"training_body": agora.pk},
        {"territory": agora.territory_id},
    ):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(url), {"status": "", **data})
        assert response.status_code == 200
        assert len(response.context["page_obj"]) == 1
        counts.append(len(queries))
    assert len(set(counts)) == 1, counts


@pytest.mark.parametrize("number", [1, 2, 3, "4", "", "abc", 99, -1])
def test_a_page_read_by_ids_is_the_page_django_reads(agora, number):
    bodies = [agora, TrainingBodyFactory()]
    for index in range(7):
        TraineeFactory(course=CourseFactory(training_body=bodies[index % 2]), last_name="Riou")
    ordering = ("last_name", "first_name", "pk")
    filtered = Trainee.objects.filter(course__training_body=agora)
    expected = Paginator(filtered.order_by(*ordering), 3).get_page(number)
    rows = Trainee.objects.select_related("course__training_body")
    with CaptureQueriesContext(connection) as queries:
        page = page_of(filtered, number, order_by=ordering, rows=rows, per_page=3)
        names = [trainee.course.training_body.name for trainee in page]
    assert [trainee.pk for trainee in page] == [trainee.pk for trainee in expected]
    assert (page.number, page.paginator.count, page.paginator.num_pages) == (
        expected.number,
        4,
        2,
    )
    assert names == [agora.name] * len(expected)
    assert len(queries) == 2  # the count, then the page's rows
