"""The staff pages of the workshops: list, creation and edition, attendance, hours."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import CourseFactory, TraineeFactory
from trainees.models import Attendance, Workshop
from trainees.workshops import attendance_replace

TODAY = timezone.localdate()


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def make_workshop(**fields):
    fields.setdefault("date", TODAY - timedelta(days=3))
    fields.setdefault("duration_minutes", 90)
    fields.setdefault("topic", "Premiers pas sur l’ordinateur")
    fields.setdefault("place", "Défis, Lanester")
    fields.setdefault("facilitator", "Alice Martin")
    return Workshop.objects.create(**fields)


def attend(workshop, *, present=(), absent=()):
    attendance_replace(workshop=workshop, expected=[*present, *absent], present=present)


def assert_same_query_count(small, large):
    assert len(small) == len(large), "\n\n".join(q["sql"] for q in large.captured_queries)


def workshop_form_data(**fields):
    return {
        "date": TODAY.isoformat(),
        "start_time": "14:00",
        "duration_minutes": "90",
        "topic": "La messagerie",
        "place": "Agora, Lanester",
        "facilitator": "Alice Martin",
        "course": "",
        "notes": "",
        **fields,
    }


@pytest.fixture
def staff_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def agora_course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes Lanester")


@pytest.fixture
def askoria_course(askoria):
    return CourseFactory(training_body=askoria, title="Remobilisation Vannes")


# --- Access -------------------------------------------------------------------------------


def workshop_urls(workshop):
    return [
        reverse("trainees:workshops"),
        reverse("trainees:workshop_new"),
        reverse("trainees:workshop_hours"),
        reverse("trainees:workshop_hours") + "?format=csv",
        reverse("trainees:workshop", args=[workshop.pk]),
        reverse("trainees:workshop_edit", args=[workshop.pk]),
        reverse("trainees:workshop_attendance", args=[workshop.pk]),
    ]


def test_staff_see_every_workshop_page(staff_client, agora_course):
    workshop = make_workshop(course=agora_course)
    for url in workshop_urls(workshop):
        assert staff_client.get(url).status_code == 200, url


def test_coordinators_get_403_on_every_workshop_page(client, bob, agora_course):
    trainee = TraineeFactory(course=agora_course)
    workshop = make_workshop(course=agora_course)
    client.force_login(bob)
    for url in workshop_urls(workshop):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("trainees:workshop_new"), workshop_form_data()).status_code == 403
    edit = reverse("trainees:workshop_edit", args=[workshop.pk])
    assert client.post(edit, workshop_form_data(topic="Piraté")).status_code == 403
    attendance = reverse("trainees:workshop_attendance", args=[workshop.pk])
    assert client.post(attendance, {"trainees": [trainee.pk]}).status_code == 403
    assert Workshop.objects.get().topic == "Premiers pas sur l’ordinateur"
    assert not Attendance.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    workshop = make_workshop()
    for url in workshop_urls(workshop):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


def test_an_unknown_workshop_answers_404(staff_client):
    for name in ("trainees:workshop", "trainees:workshop_edit", "trainees:workshop_attendance"):
        assert staff_client.get(reverse(name, args=[999])).status_code == 404


# --- List ---------------------------------------------------------------------------------


def test_the_list_shows_the_most_recent_first_with_hours_and_attendance(staff_client, agora_course):
    first, second, third = TraineeFactory.create_batch(3, course=agora_course)
    older = make_workshop(date=TODAY - timedelta(days=10), duration_minutes=90, topic="Ancien")
    newer = make_workshop(
        date=TODAY - timedelta(days=2), duration_minutes=120, topic="Récent", course=agora_course
    )
    attend(older, present=[first], absent=[second, third])
    attend(newer, present=[first, second])

    response = staff_client.get(reverse("trainees:workshops"))
    workshops = list(response.context["workshops"])
    assert [w.topic for w in workshops] == ["Récent", "Ancien"]
    assert [(w.expected_count, w.present_count) for w in workshops] == [(2, 2), (3, 1)]
    html = response.content.decode()
    assert "1,5&nbsp;h" in html and "2&nbsp;h" in html
    assert "PRÉPA Avenir Jeunes Lanester" in html and "Plusieurs formations" in html


def test_workshops_of_one_day_come_by_start_time(staff_client):
    make_workshop(date=TODAY, start_time="09:30", topic="Matin")
    make_workshop(date=TODAY, start_time="14:00", topic="Après-midi")
    make_workshop(date=TODAY, start_time=None, topic="Sans heure")
    response = staff_client.get(reverse("trainees:workshops"))
    assert [w.topic for w in response.context["workshops"]] == [
        "Après-midi",
        "Matin",
        "Sans heure",
    ]


def test_the_list_filters_by_training_body_course_and_period(
    staff_client, agora_course, askoria_course, agora
):
    other_agora_course = CourseFactory(training_body=agora, title="Autre")
    make_workshop(course=agora_course, topic="Agora", date=TODAY - timedelta(days=20))
    make_workshop(course=other_agora_course, topic="Agora bis", date=TODAY - timedelta(days=5))
    make_workshop(course=askoria_course, topic="ASKORIA", date=TODAY - timedelta(days=5))
    make_workshop(topic="Ouvert", date=TODAY - timedelta(days=1))
    url = reverse("trainees:workshops")

    def topics(**query):
        return {w.topic for w in staff_client.get(url, query).context["workshops"]}

    assert topics() == {"Agora", "Agora bis", "ASKORIA", "Ouvert"}
    assert topics(training_body=agora.pk) == {"Agora", "Agora bis"}
    assert topics(course=askoria_course.pk) == {"ASKORIA"}
    assert topics(date_from=(TODAY - timedelta(days=6)).isoformat()) == {
        "Agora bis",
        "ASKORIA",
        "Ouvert",
    }
    assert topics(
        date_from=(TODAY - timedelta(days=6)).isoformat(),
        date_to=(TODAY - timedelta(days=2)).isoformat(),
        training_body=agora.pk,
    ) == {"Agora bis"}


def test_a_bad_filter_shows_the_error_not_a_500(staff_client):
    make_workshop()
    response = staff_client.get(reverse("trainees:workshops"), {"date_from": "hier", "course": "x"})
    assert response.status_code == 200
    assert list(response.context["workshops"]) == []
    assert set(response.context["filter"].form.errors) == {"date_from", "course"}


def test_the_list_is_paginated_by_50(staff_client):
    Workshop.objects.bulk_create(
        Workshop(
            date=TODAY, duration_minutes=60, topic=f"Atelier {n}", place="Défis", facilitator="A"
        )
        for n in range(51)
    )
    response = staff_client.get(reverse("trainees:workshops"))
    assert len(response.context["workshops"]) == 50
    assert (
        len(staff_client.get(reverse("trainees:workshops"), {"page": 2}).context["workshops"]) == 1
    )


def _workshops_with_attendance(count, course):
    trainees = TraineeFactory.create_batch(2, course=course)
    for n in range(count):
        workshop = make_workshop(course=course if n % 2 else None, topic=f"Atelier {n}")
        attend(workshop, present=trainees[:1], absent=trainees[1:])


def test_the_list_query_count_does_not_grow_with_the_workshops(staff_client, agora_course):
    url = reverse("trainees:workshops")
    _workshops_with_attendance(5, agora_course)
    with CaptureQueriesContext(connection) as small:
        assert staff_client.get(url).status_code == 200
    _workshops_with_attendance(45, agora_course)
    with CaptureQueriesContext(connection) as large:
        assert staff_client.get(url).status_code == 200
    assert len(large.captured_queries) and Workshop.objects.count() == 50
    assert_same_query_count(small, large)


# --- Creation and edition -----------------------------------------------------------------


def test_a_new_workshop_is_saved_and_leads_to_its_attendance(staff_client, agora_course):
    response = staff_client.post(
        reverse("trainees:workshop_new"), workshop_form_data(course=agora_course.pk), follow=True
    )
    workshop = Workshop.objects.get()
    assert response.redirect_chain[-1][0] == reverse(
        "trainees:workshop_attendance", args=[workshop.pk]
    )
    assert messages_of(response) == [
        "L’atelier est enregistré. Indiquez maintenant les stagiaires attendus."
    ]
    assert (workshop.topic, workshop.duration_minutes, workshop.course) == (
        "La messagerie",
        90,
        agora_course,
    )
    assert workshop.start_time.strftime("%H:%M") == "14:00"


def test_the_new_workshop_form_uses_date_and_time_inputs(staff_client, alice):
    response = staff_client.get(reverse("trainees:workshop_new"))
    html = response.content.decode()
    assert 'type="date"' in html and 'type="time"' in html
    assert f'value="{TODAY.isoformat()}"' in html
    assert response.context["form"].initial["facilitator"] == "Alice Martin"


def test_a_workshop_needs_a_topic_and_a_sensible_duration_said_in_french(staff_client):
    url = reverse("trainees:workshop_new")
    response = staff_client.post(url, workshop_form_data(topic="", duration_minutes="5"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["topic"] == ["Ce champ est obligatoire."]
    assert errors["duration_minutes"] == [
        "Assurez-vous que cette valeur est supérieure ou égale à 15."
    ]
    html = response.content.decode()
    assert "Ce champ est obligatoire." in html
    assert "supérieure ou égale à 15" in html

    response = staff_client.post(url, workshop_form_data(duration_minutes="500"))
    assert "inférieure ou égale à 480" in response.context["form"].errors["duration_minutes"][0]
    assert not Workshop.objects.exists()


def test_editing_a_workshop_returns_to_its_page_with_a_message(staff_client, agora_course):
    workshop = make_workshop(course=agora_course, start_time="10:00")
    url = reverse("trainees:workshop_edit", args=[workshop.pk])
    html = staff_client.get(url).content.decode()
    assert f'value="{workshop.date.isoformat()}"' in html and 'value="10:00"' in html

    response = staff_client.post(
        url, workshop_form_data(topic="Les démarches en ligne", duration_minutes="120"), follow=True
    )
    assert response.redirect_chain[-1][0] == workshop.get_absolute_url()
    assert messages_of(response) == ["Les modifications de l’atelier sont enregistrées."]
    workshop.refresh_from_db()
    assert (workshop.topic, workshop.duration_minutes, workshop.course) == (
        "Les démarches en ligne",
        120,
        None,
    )


def test_an_invalid_edit_changes_nothing(staff_client):
    workshop = make_workshop()
    response = staff_client.post(
        reverse("trainees:workshop_edit", args=[workshop.pk]),
        workshop_form_data(topic="", duration_minutes="5"),
    )
    assert set(response.context["form"].errors) == {"topic", "duration_minutes"}
    workshop.refresh_from_db()
    assert (workshop.topic, workshop.duration_minutes) == ("Premiers pas sur l’ordinateur", 90)


# --- Workshop page ------------------------------------------------------------------------


def test_the_workshop_page_lists_who_was_expected_and_who_came(staff_client, agora_course):
    came = TraineeFactory(course=agora_course, first_name="Lina", last_name="Bernard")
    missed = TraineeFactory(course=agora_course, first_name="Yanis", last_name="Arzel")
    workshop = make_workshop(course=agora_course)
    attend(workshop, present=[came], absent=[missed])

    response = staff_client.get(workshop.get_absolute_url())
    assert [a.trainee for a in response.context["attendances"]] == [missed, came]
    html = response.content.decode()
    assert "Présents : 1 · Attendus : 2" in html
    assert html.count('data-present="yes"') == 1 and html.count('data-present="no"') == 1
    assert reverse("trainees:workshop_attendance", args=[workshop.pk]) in html
    assert "Agora" in html


def test_the_workshop_page_query_count_does_not_grow_with_the_list(staff_client, agora_course):
    workshop = make_workshop(course=agora_course)
    attend(workshop, present=TraineeFactory.create_batch(2, course=agora_course))
    with CaptureQueriesContext(connection) as small:
        staff_client.get(workshop.get_absolute_url())
    attend(workshop, present=TraineeFactory.create_batch(20, course=CourseFactory()))
    with CaptureQueriesContext(connection) as large:
        staff_client.get(workshop.get_absolute_url())
    assert_same_query_count(small, large)


# --- Attendance ---------------------------------------------------------------------------


@pytest.fixture
def courses(agora_course, askoria_course, agora):
    """Two courses running today, and one that ended before today's workshops."""
    ended = CourseFactory(
        training_body=agora,
        title="Terminée",
        start_date=TODAY - timedelta(days=200),
        end_date=TODAY - timedelta(days=40),
    )
    return {"agora": agora_course, "askoria": askoria_course, "ended": ended}


def shown_trainees(response):
    return {row["trainee"].last_name for row in response.context["rows"]}


def test_the_attendance_page_shows_the_workshop_course_by_default(staff_client, courses):
    TraineeFactory(course=courses["agora"], last_name="Agora")
    TraineeFactory(course=courses["askoria"], last_name="Askoria")
    TraineeFactory(course=courses["ended"], last_name="Ancien")
    workshop = make_workshop(course=courses["agora"])
    url = reverse("trainees:workshop_attendance", args=[workshop.pk])

    assert shown_trainees(staff_client.get(url)) == {"Agora"}
    assert shown_trainees(staff_client.get(url, {"course": "all"})) == {"Agora", "Askoria"}
    assert shown_trainees(staff_client.get(url, {"course": courses["askoria"].pk})) == {"Askoria"}
    # A course not running that day cannot be asked for: the page falls back to all.
    assert shown_trainees(staff_client.get(url, {"course": courses["ended"].pk})) == {
        "Agora",
        "Askoria",
    }
    assert staff_client.get(url, {"course": "nonsense"}).status_code == 200


def test_without_a_course_the_page_shows_the_courses_running_that_day(staff_client, courses):
    TraineeFactory(course=courses["agora"], last_name="Agora")
    TraineeFactory(course=courses["askoria"], last_name="Askoria")
    TraineeFactory(course=courses["ended"], last_name="Ancien")
    workshop = make_workshop()
    url = reverse("trainees:workshop_attendance", args=[workshop.pk])
    assert shown_trainees(staff_client.get(url)) == {"Agora", "Askoria"}

    earlier = make_workshop(date=TODAY - timedelta(days=100))
    url = reverse("trainees:workshop_attendance", args=[earlier.pk])
    assert shown_trainees(staff_client.get(url)) == {"Ancien"}


def test_saving_the_attendance_replaces_the_list(staff_client, courses):
    first, second, third = TraineeFactory.create_batch(3, course=courses["agora"])
    workshop = make_workshop(course=courses["agora"])
    url = reverse("trainees:workshop_attendance", args=[workshop.pk])

    response = staff_client.post(
        url, {"trainees": [first.pk, second.pk], "present": [first.pk]}, follow=True
    )
    assert response.redirect_chain[-1][0] == workshop.get_absolute_url()
    assert messages_of(response) == ["Présences enregistrées (présents : 1, attendus : 2)."]
    assert set(workshop.attendances.values_list("trainee", "present")) == {
        (first.pk, True),
        (second.pk, False),
    }

    staff_client.post(url, {"trainees": [second.pk, third.pk], "present": [third.pk]})
    assert set(workshop.attendances.values_list("trainee", "present")) == {
        (second.pk, False),
        (third.pk, True),
    }

    staff_client.post(url, {})
    assert not workshop.attendances.exists()


def test_the_attendance_page_shows_the_ticks_already_recorded(staff_client, courses):
    came, missed, other = TraineeFactory.create_batch(3, course=courses["agora"])
    workshop = make_workshop(course=courses["agora"])
    attend(workshop, present=[came], absent=[missed])
    response = staff_client.get(reverse("trainees:workshop_attendance", args=[workshop.pk]))
    ticks = {row["trainee"]: (row["expected"], row["present"]) for row in response.context["rows"]}
    assert ticks == {came: (True, True), missed: (True, False), other: (False, False)}


def test_a_trainee_ticked_as_present_counts_as_expected(staff_client, courses):
    trainee = TraineeFactory(course=courses["agora"])
    workshop = make_workshop(course=courses["agora"])
    staff_client.post(
        reverse("trainees:workshop_attendance", args=[workshop.pk]), {"present": [trainee.pk]}
    )
    assert list(workshop.attendances.values_list("trainee", "present")) == [(trainee.pk, True)]


def test_trainees_already_listed_stay_on_a_narrowed_page(staff_client, courses):
    """Saving the page of the workshop's course keeps a guest from another course."""
    own = TraineeFactory(course=courses["agora"], last_name="Agora")
    guest = TraineeFactory(course=courses["askoria"], last_name="Askoria")
    workshop = make_workshop(course=courses["agora"])
    attend(workshop, present=[own, guest])
    url = reverse("trainees:workshop_attendance", args=[workshop.pk])
    assert shown_trainees(staff_client.get(url)) == {"Agora", "Askoria"}


@pytest.mark.parametrize(
    "data",
    [
        {"trainees": ["abc"]},
        {"trainees": ["99999999999999999999"]},
        {"present": ["-1"]},
        {"trainees": ["OUTSIDER"]},
    ],
    ids=["not-a-number", "huge-number", "negative", "trainee-of-an-ended-course"],
)
def test_bad_attendance_input_is_refused_without_a_500(staff_client, courses, data):
    outsider = TraineeFactory(course=courses["ended"])
    listed = TraineeFactory(course=courses["agora"])
    workshop = make_workshop(course=courses["agora"])
    attend(workshop, present=[listed])
    data = {
        name: [str(outsider.pk) if value == "OUTSIDER" else value for value in values]
        for name, values in data.items()
    }
    response = staff_client.post(reverse("trainees:workshop_attendance", args=[workshop.pk]), data)
    assert response.status_code == 200
    assert "ne fait plus partie de la liste de cet atelier" in response.content.decode()
    assert list(workshop.attendances.values_list("trainee", "present")) == [(listed.pk, True)]


def test_a_trainee_sent_twice_is_recorded_once(staff_client, courses):
    trainee = TraineeFactory(course=courses["agora"])
    workshop = make_workshop(course=courses["agora"])
    staff_client.post(
        reverse("trainees:workshop_attendance", args=[workshop.pk]),
        {"trainees": [trainee.pk, trainee.pk], "present": [trainee.pk, trainee.pk]},
    )
    assert list(workshop.attendances.values_list("trainee", "present")) == [(trainee.pk, True)]


def test_the_attendance_page_query_count_does_not_grow_with_the_trainees(staff_client, courses):
    workshop = make_workshop()
    url = reverse("trainees:workshop_attendance", args=[workshop.pk])
    attend(workshop, present=TraineeFactory.create_batch(2, course=courses["agora"]))
    with CaptureQueriesContext(connection) as small:
        staff_client.get(url)
    attend(workshop, present=TraineeFactory.create_batch(30, course=courses["askoria"]))
    TraineeFactory.create_batch(10, course=CourseFactory())
    with CaptureQueriesContext(connection) as large:
        response = staff_client.get(url)
    assert len(response.context["rows"]) == 42
    assert_same_query_count(small, large)


# --- Hours --------------------------------------------------------------------------------


@pytest.fixture
def hours(agora_course, askoria_course):
    """Two workshops of 90 and 120 minutes.

    Lina (Agora) came to both: 3,5 h. Yanis (Agora) came to the first, missed the second:
    1,5 h. Maël (ASKORIA) came to the second: 2,0 h. Zoé (Agora) was never expected.
    """
    lina = TraineeFactory(course=agora_course, first_name="Lina", last_name="Bernard")
    yanis = TraineeFactory(course=agora_course, first_name="Yanis", last_name="Arzel")
    mael = TraineeFactory(course=askoria_course, first_name="Maël", last_name="Corre")
    TraineeFactory(course=agora_course, first_name="Zoé", last_name="Dantec")
    first = make_workshop(date=TODAY - timedelta(days=10), duration_minutes=90)
    second = make_workshop(date=TODAY - timedelta(days=3), duration_minutes=120)
    attend(first, present=[lina, yanis])
    attend(second, present=[lina, mael], absent=[yanis])
    return {"lina": lina, "yanis": yanis, "mael": mael, "first": first, "second": second}


def per_trainee(response):
    return {
        t.first_name: (t.expected_count, t.attended_count, t.minutes)
        for t in response.context["trainees"]
    }


def per_course(response):
    return {
        c.title: (c.workshop_count, c.attendee_count, c.minutes)
        for c in response.context["courses"]
    }


def test_hours_per_trainee_count_only_the_workshops_they_came_to(staff_client, hours):
    response = staff_client.get(reverse("trainees:workshop_hours"))
    assert per_trainee(response) == {
        "Yanis": (2, 1, 90),
        "Lina": (2, 2, 210),
        "Maël": (1, 1, 120),
    }
    html = response.content.decode()
    assert "3,5&nbsp;h" in html and "1,5&nbsp;h" in html and "2,0&nbsp;h" in html
    assert "Dantec" not in html


def test_hours_per_course_and_in_all(staff_client, hours):
    response = staff_client.get(reverse("trainees:workshop_hours"))
    assert per_course(response) == {
        "PRÉPA Avenir Jeunes Lanester": (2, 2, 300),
        "Remobilisation Vannes": (1, 1, 120),
    }
    assert response.context["totals"] == {"workshop_count": 2, "attendee_count": 3, "hours": 7.0}
    html = response.content.decode()
    assert "5,0&nbsp;h" in html and "7,0&nbsp;h" in html


def test_hours_filter_by_training_body_course_and_period(
    staff_client, hours, askoria, agora_course
):
    url = reverse("trainees:workshop_hours")
    response = staff_client.get(url, {"training_body": askoria.pk})
    assert per_trainee(response) == {"Maël": (1, 1, 120)}
    assert per_course(response) == {"Remobilisation Vannes": (1, 1, 120)}

    response = staff_client.get(url, {"course": agora_course.pk})
    assert set(per_trainee(response)) == {"Lina", "Yanis"}
    assert response.context["totals"]["hours"] == 5.0

    response = staff_client.get(url, {"date_to": (TODAY - timedelta(days=5)).isoformat()})
    assert per_trainee(response) == {"Yanis": (1, 1, 90), "Lina": (1, 1, 90)}
    assert per_course(response) == {"PRÉPA Avenir Jeunes Lanester": (1, 2, 180)}


def test_hours_with_a_bad_filter_show_the_error_and_no_rows(staff_client, hours):
    response = staff_client.get(reverse("trainees:workshop_hours"), {"date_from": "demain"})
    assert response.status_code == 200
    assert list(response.context["trainees"]) == []
    assert "date_from" in response.context["filter_form"].errors


def _trainees_at_workshops(count, course):
    trainees = TraineeFactory.create_batch(count, course=course)
    for duration in (60, 90):
        attend(make_workshop(duration_minutes=duration), present=trainees[1:], absent=trainees[:1])


def test_the_hours_query_count_does_not_grow_with_the_rows(
    staff_client, agora_course, askoria_course
):
    url = reverse("trainees:workshop_hours")
    _trainees_at_workshops(5, agora_course)
    with CaptureQueriesContext(connection) as small:
        assert staff_client.get(url).status_code == 200
    _trainees_at_workshops(45, askoria_course)
    for _ in range(3):
        _trainees_at_workshops(2, CourseFactory())
    with CaptureQueriesContext(connection) as large:
        assert staff_client.get(url).status_code == 200
    assert_same_query_count(small, large)

    with CaptureQueriesContext(connection) as csv_export:
        assert staff_client.get(url, {"format": "csv"}).status_code == 200
    _trainees_at_workshops(20, agora_course)
    with CaptureQueriesContext(connection) as larger_export:
        assert staff_client.get(url, {"format": "csv"}).status_code == 200
    assert_same_query_count(csv_export, larger_export)


def test_the_csv_export_lists_hours_per_trainee_for_excel(staff_client, hours, agora_course):
    response = staff_client.get(reverse("trainees:workshop_hours"), {"format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="heures-ateliers-{TODAY.isoformat()}.csv"'
    )
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content.removeprefix("\ufeff")), delimiter=";"))
    assert rows == [
        [
            "Nom",
            "Prénom",
            "Formation",
            "Organisme de formation",
            "Ateliers attendus",
            "Ateliers suivis",
            "Heures suivies",
        ],
        ["Arzel", "Yanis", "PRÉPA Avenir Jeunes Lanester", "Agora", "2", "1", "1,5"],
        ["Bernard", "Lina", "PRÉPA Avenir Jeunes Lanester", "Agora", "2", "2", "3,5"],
        ["Corre", "Maël", "Remobilisation Vannes", "ASKORIA", "1", "1", "2,0"],
    ]

    response = staff_client.get(
        reverse("trainees:workshop_hours"), {"format": "csv", "course": agora_course.pk}
    )
    assert response.content.decode("utf-8").count("\r\n") == 3


def test_the_csv_export_does_not_let_excel_run_a_name_as_a_formula(staff_client, hours):
    trainee = hours["lina"]
    trainee.last_name = '=HYPERLINK("http://example.com")'
    trainee.save()
    response = staff_client.get(reverse("trainees:workshop_hours"), {"format": "csv"})
    content = response.content.decode("utf-8").removeprefix("\ufeff")
    last_names = [row[0] for row in csv.reader(io.StringIO(content), delimiter=";")]
    assert '\'=HYPERLINK("http://example.com")' in last_names


def test_the_hours_page_links_to_the_export_with_its_filters(staff_client, hours, askoria):
    response = staff_client.get(
        reverse("trainees:workshop_hours"), {"training_body": askoria.pk, "page": "1"}
    )
    assert f'href="?training_body={askoria.pk}&amp;format=csv"' in response.content.decode()
