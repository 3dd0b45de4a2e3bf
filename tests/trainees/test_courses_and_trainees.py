"""Courses and trainees pages, for staff and for coordinators of their own training body."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import CourseFactory, TraineeFactory, make_request
from trainees.models import Course, Trainee

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes")


@pytest.fixture
def other_course(askoria):
    return CourseFactory(training_body=askoria, title="Titre pro ASKORIA")


def trainee_data(course, **fields):
    data = {
        "course": course.pk,
        "first_name": "Léa",
        "last_name": "Le Gall",
        "birth_date": (course.start_date - timedelta(days=365 * 20)).isoformat(),
        "email": "lea@example.org",
        "phone": "06 12 34 56 78",
        "street": "3 rue des Lilas",
        "postal_code": "56600",
        "town": "Lanester",
        "digital_level": "basic",
    }
    data.update(fields)
    return data


# --- Access across training bodies ----------------------------------------------------------


def test_a_coordinator_never_reaches_another_bodys_course_or_trainee(
    client, charlie, course, other_course
):
    trainee = TraineeFactory(course=course)
    client.force_login(charlie)
    for url in (
        reverse("trainees:course", args=[course.pk]),
        reverse("trainees:course_edit", args=[course.pk]),
        reverse("trainees:trainee", args=[trainee.pk]),
        reverse("trainees:trainee_edit", args=[trainee.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("trainees:trainee_edit", args=[trainee.pk]), {}).status_code == 404
    assert client.get(reverse("trainees:course", args=[other_course.pk])).status_code == 200


def test_lists_show_a_coordinator_only_their_own(client, bob, course, other_course):
    mine = TraineeFactory(course=course, last_name="Morvan")
    theirs = TraineeFactory(course=other_course, last_name="Guégan")
    client.force_login(bob)

    page = client.get(reverse("trainees:trainees")).content.decode()
    assert mine.last_name in page and theirs.last_name not in page
    page = client.get(reverse("trainees:courses")).content.decode()
    assert course.title in page and other_course.title not in page
    # Filtering by another body's course finds nothing, and does not say it exists.
    response = client.get(reverse("trainees:trainees"), {"course": other_course.pk})
    assert theirs.last_name not in response.content.decode()


def test_form_choices_list_only_the_coordinators_courses(client, bob, course, other_course):
    client.force_login(bob)
    form = client.get(reverse("trainees:trainee_new")).context["form"]
    assert list(form.fields["course"].queryset) == [course]
    filter_form = client.get(reverse("trainees:trainees")).context["filter"].form
    assert list(filter_form.fields["course"].queryset) == [course]
    assert "training_body" not in filter_form.fields


def test_a_coordinator_cannot_enrol_into_another_bodys_course(client, bob, other_course):
    client.force_login(bob)
    response = client.post(reverse("trainees:trainee_new"), trainee_data(other_course))
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in str(response.context["form"].errors["course"])
    assert not Trainee.objects.exists()


def test_people_without_a_role_are_refused(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(reverse("trainees:trainees")).status_code == 403
    assert client.get(reverse("trainees:courses")).status_code == 403


# --- Courses ------------------------------------------------------------------------------


def test_a_coordinator_creates_a_course_for_their_own_body(client, bob, agora, askoria):
    client.force_login(bob)
    start = timezone.localdate() + timedelta(days=10)
    response = client.post(
        reverse("trainees:course_new"),
        {
            "title": "PRÉPA Avenir Jeunes printemps",
            "programme": "PRÉPA Avenir Jeunes",
            "town": "Lanester",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=150)).isoformat(),
            "min_age": "16",
            "max_age": "25",
            "training_body": askoria.pk,  # ignored: not a field for coordinators
        },
    )
    course = Course.objects.get()
    assert response["Location"] == course.get_absolute_url()
    assert course.training_body == agora
    assert (course.min_age, course.max_age) == (16, 25)


def test_a_course_cannot_end_before_it_starts(client, alice, agora):
    client.force_login(alice)
    response = client.post(
        reverse("trainees:course_new"),
        {
            "training_body": agora.pk,
            "title": "X",
            "town": "Lorient",
            "start_date": "2026-12-10",
            "end_date": "2026-12-01",
            "min_age": "30",
            "max_age": "18",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "La formation ne peut pas finir avant de commencer." in page
    assert "L’âge maximum ne peut pas être inférieur à l’âge minimum." in page
    assert not Course.objects.exists()


def test_staff_choose_the_training_body(client, alice, agora):
    client.force_login(alice)
    form = client.get(reverse("trainees:course_new")).context["form"]
    assert agora in form.fields["training_body"].queryset


# --- Trainees -----------------------------------------------------------------------------


def test_a_coordinator_enrols_an_adult_trainee(client, bob, course):
    client.force_login(bob)
    response = client.post(reverse("trainees:trainee_new"), trainee_data(course))
    trainee = Trainee.objects.get()
    assert response["Location"] == trainee.get_absolute_url()
    assert str(trainee.phone.as_national) == "06 12 34 56 78"
    assert not trainee.is_minor


def test_a_minor_without_a_guardian_is_refused(client, bob, course):
    client.force_login(bob)
    seventeen = course.start_date - timedelta(days=365 * 17)
    response = client.post(
        reverse("trainees:trainee_new"), trainee_data(course, birth_date=seventeen.isoformat())
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == set(Trainee.GUARDIAN_FIELDS)
    assert errors["guardian_name"] == [
        "Obligatoire : le stagiaire a moins de 18 ans au premier jour de la formation."
    ]
    assert not Trainee.objects.exists()

    response = client.post(
        reverse("trainees:trainee_new"),
        trainee_data(
            course,
            birth_date=seventeen.isoformat(),
            guardian_name="Anne Le Gall",
            guardian_relationship="Mère",
            guardian_phone="02 97 00 00 00",
            guardian_email="anne@example.org",
            guardian_street="3 rue des Lilas",
            guardian_postal_code="56600",
            guardian_town="Lanester",
        ),
    )
    assert response.status_code == 302
    assert Trainee.objects.get().is_minor


def test_age_is_taken_on_the_first_day_of_the_course(client, bob, agora):
    course = CourseFactory(
        training_body=agora, start_date=timezone.localdate() + timedelta(days=30)
    )
    # 18 on the first day of the course, 17 today: no guardian needed.
    birth = course.start_date.replace(year=course.start_date.year - 18)
    client.force_login(bob)
    response = client.post(
        reverse("trainees:trainee_new"), trainee_data(course, birth_date=birth.isoformat())
    )
    assert response.status_code == 302


def test_course_age_limits_are_checked(client, bob, agora):
    course = CourseFactory(training_body=agora, min_age=16, max_age=25)
    client.force_login(bob)
    thirty = course.start_date - timedelta(days=365 * 30 + 8)
    response = client.post(
        reverse("trainees:trainee_new"), trainee_data(course, birth_date=thirty.isoformat())
    )
    assert "elle est ouverte jusqu’à 25 ans" in str(response.context["form"].errors["birth_date"])


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("phone", "12345", "Saisissez un numéro de téléphone valide"),
        ("postal_code", "5660", "Un code postal français a cinq chiffres"),
        ("birth_date", "31/02/2001", "Saisissez une date valide"),
        ("email", "lea@", "Saisissez une adresse de courriel valide"),
        ("first_name", "", "Ce champ est obligatoire"),
    ],
)
def test_bad_trainee_input_is_refused_in_french(client, bob, course, field, value, expected):
    client.force_login(bob)
    response = client.post(reverse("trainees:trainee_new"), trainee_data(course, **{field: value}))
    assert response.status_code == 200
    assert expected in str(response.context["form"].errors[field])
    assert not Trainee.objects.exists()


def test_the_trainee_page_offers_a_request_only_when_none_is_open(client, bob, course):
    trainee = TraineeFactory(course=course)
    client.force_login(bob)
    url = reverse("trainees:trainee", args=[trainee.pk])
    request_url = f"{reverse('loans:request_new')}?trainee={trainee.pk}"
    assert request_url in client.get(url).content.decode()
    make_request(trainee, by=bob)
    page = client.get(url).content.decode()
    assert request_url not in page
    assert "Déposée" in page


# --- Query counts -------------------------------------------------------------------------


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_query_counts_do_not_grow_with_rows(client, alice, bob, course):
    client.force_login(bob)
    for trainee in TraineeFactory.create_batch(3, course=course):
        make_request(trainee, by=bob)
    CourseFactory.create_batch(2, training_body=course.training_body)
    small = {
        url: _count_queries(client, url)
        for url in (
            reverse("trainees:trainees"),
            reverse("trainees:courses"),
            reverse("trainees:course", args=[course.pk]),
            reverse("trainees:portal"),
        )
    }
    for trainee in TraineeFactory.create_batch(30, course=course):
        make_request(trainee, by=bob)
    CourseFactory.create_batch(20, training_body=course.training_body)
    large = {url: _count_queries(client, url) for url in small}
    assert large == small


def test_a_trainee_is_enrolled_once_per_course(client, bob, course):
    client.force_login(bob)
    assert client.post(reverse("trainees:trainee_new"), trainee_data(course)).status_code == 302
    response = client.post(
        reverse("trainees:trainee_new"),
        trainee_data(course, first_name="léa", last_name="LE GALL"),
    )
    assert response.status_code == 200
    assert "déjà inscrit à cette formation" in response.content.decode()
    assert Trainee.objects.count() == 1


def test_staff_can_still_edit_the_course_of_an_inactive_body(client, alice, course, agora):
    agora.active = False
    agora.save()
    client.force_login(alice)
    response = client.post(
        reverse("trainees:course_edit", args=[course.pk]),
        {
            "training_body": agora.pk,
            "title": "Nouvel intitulé",
            "town": course.town,
            "start_date": course.start_date.isoformat(),
            "end_date": course.end_date.isoformat(),
        },
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.title == "Nouvel intitulé"


def test_dates_typed_wrong_are_caught(client, alice, bob, agora, course):
    client.force_login(alice)
    response = client.post(
        reverse("trainees:course_new"),
        {
            "training_body": agora.pk,
            "title": "X",
            "town": "Lorient",
            "start_date": "0206-01-05",
            "end_date": "9999-12-31",
        },
    )
    errors = response.context["form"].errors
    assert "Vérifiez cette date" in errors["start_date"][0]
    assert "Vérifiez cette date" in errors["end_date"][0]
    client.force_login(bob)
    response = client.post(
        reverse("trainees:trainee_new"), trainee_data(course, birth_date="1850-03-01")
    )
    assert "l’année est antérieure à 1900" in response.context["form"].errors["birth_date"][0]
