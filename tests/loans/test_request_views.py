"""Request pages: coordinators ask and follow, staff decide."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import Laptop
from loans.models import LoanRequest
from tests.factories import CourseFactory, TraineeFactory, make_laptop, make_request

pytestmark = pytest.mark.django_db

Status = LoanRequest.Status


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes")


@pytest.fixture
def trainee(course):
    return TraineeFactory(course=course, first_name="Léa", last_name="Le Gall")


def shown(response):
    return [str(m) for m in response.context["messages"]]


def request_data(**fields):
    return {
        "needed_by": (timezone.localdate() + timedelta(days=5)).isoformat(),
        "justification": "Pas d’ordinateur à la maison",
        **fields,
    }


# --- Coordinators -------------------------------------------------------------------------


def test_a_coordinator_requests_a_laptop_and_follows_it(client, bob, trainee):
    client.force_login(bob)
    url = f"{reverse('loans:request_new')}?trainee={trainee.pk}"
    response = client.post(url, request_data(), follow=True)
    made = LoanRequest.objects.get()
    assert response.redirect_chain[-1][0] == made.get_absolute_url()
    assert shown(response) == [f"La demande {made.number} pour Léa Le Gall est déposée."]
    page = client.get(reverse("loans:requests")).content.decode()
    assert made.number in page and "Déposée" in page


def test_a_refused_request_says_why_on_the_form(client, bob, trainee):
    make_request(trainee, by=bob)
    client.force_login(bob)
    response = client.post(f"{reverse('loans:request_new')}?trainee={trainee.pk}", request_data())
    assert response.status_code == 200
    assert "Léa Le Gall a déjà une demande en cours" in response.content.decode()
    assert LoanRequest.objects.count() == 1


@pytest.mark.parametrize("trainee_param", ["", "abc", "999999"])
def test_a_request_for_no_trainee_answers_404(client, bob, trainee_param):
    client.force_login(bob)
    url = f"{reverse('loans:request_new')}?trainee={trainee_param}"
    assert client.get(url).status_code == 404


def test_another_bodys_trainee_and_requests_answer_404(client, charlie, bob, trainee, course):
    request = make_request(trainee, by=bob)
    client.force_login(charlie)
    assert client.get(f"{reverse('loans:request_new')}?trainee={trainee.pk}").status_code == 404
    assert (
        client.post(
            f"{reverse('loans:request_new')}?trainee={trainee.pk}", request_data()
        ).status_code
        == 404
    )
    assert client.get(reverse("loans:request", args=[request.pk])).status_code == 404
    assert client.post(reverse("loans:request_cancel", args=[request.pk])).status_code == 404
    assert client.get(reverse("loans:requests_for_course", args=[course.pk])).status_code == 404
    page = client.get(reverse("loans:requests")).content.decode()
    assert request.number not in page
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_coordinators_cannot_decide(client, bob, trainee):
    request = make_request(trainee, by=bob)
    make_laptop(status=Laptop.Status.READY)
    client.force_login(bob)
    for name in ("loans:request_approve", "loans:request_waitlist", "loans:request_reject"):
        assert client.post(reverse(name, args=[request.pk]), {"reason": "x"}).status_code == 403
    assert client.post(reverse("loans:approve_in_order"), {"scope": "waitlist"}).status_code == 403
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_a_coordinator_cancels_their_own_request(client, bob, trainee):
    request = make_request(trainee, by=bob)
    client.force_login(bob)
    response = client.post(
        reverse("loans:request_cancel", args=[request.pk]), {"reason": "A trouvé"}, follow=True
    )
    request.refresh_from_db()
    assert request.status == Status.CANCELLED
    assert shown(response) == [f"La demande {request.number} est annulée."]


def test_requests_for_several_trainees_of_a_course(client, bob, course, other_course_trainee):
    busy = TraineeFactory(course=course, last_name="Riou")
    make_request(busy, by=bob)
    free = TraineeFactory.create_batch(2, course=course)
    client.force_login(bob)
    url = reverse("loans:requests_for_course", args=[course.pk])

    choices = client.get(url).context["form"].fields["trainees"].queryset
    assert set(choices) == set(free)

    response = client.post(url, request_data(trainees=[other_course_trainee.pk]))
    assert "Sélectionnez un choix valide" in str(response.context["form"].errors["trainees"])

    response = client.post(url, request_data(trainees=[t.pk for t in free]), follow=True)
    assert shown(response) == ["2 demandes déposées."]
    assert LoanRequest.objects.filter(trainee__in=free, status=Status.SUBMITTED).count() == 2


@pytest.fixture
def other_course_trainee(askoria):
    return TraineeFactory(course=CourseFactory(training_body=askoria))


# --- Staff --------------------------------------------------------------------------------


def test_staff_approve_with_the_suggested_laptop(client, alice, bob, trainee):
    laptop = make_laptop(status=Laptop.Status.READY)
    request = make_request(trainee, by=bob)
    client.force_login(alice)
    page = client.get(request.get_absolute_url())
    assert page.context["suggested"] == laptop
    response = client.post(reverse("loans:request_approve", args=[request.pk]), follow=True)
    request.refresh_from_db()
    laptop.refresh_from_db()
    assert (request.status, request.laptop, laptop.status) == ("approved", laptop, "reserved")
    assert shown(response) == [
        f"La demande {request.number} est approuvée : {laptop.asset_tag} est réservé."
    ]


def test_staff_pick_a_laptop_that_is_not_ready_and_are_told(client, alice, bob, trainee):
    make_laptop(status=Laptop.Status.READY)
    other = make_laptop(status=Laptop.Status.ON_LOAN)
    request = make_request(trainee, by=bob)
    client.force_login(alice)
    response = client.post(
        reverse("loans:request_approve", args=[request.pk]), {"laptop": other.pk}, follow=True
    )
    assert shown(response) == ["Cet ordinateur n’est plus prêt à prêter : choisissez-en un autre."]
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


def test_staff_waitlist_then_serve_the_waitlist(client, alice, bob, course):
    first = make_request(TraineeFactory(course=course), by=bob)
    second = make_request(TraineeFactory(course=course), by=bob)
    client.force_login(alice)
    response = client.post(reverse("loans:request_waitlist", args=[first.pk]), follow=True)
    assert shown(response) == [f"La demande {first.number} est en liste d’attente, en position 1."]
    client.post(reverse("loans:request_waitlist", args=[second.pk]))
    page = client.get(reverse("loans:requests"))
    positions = {r.number: r.position for r in page.context["page_obj"]}
    assert positions == {first.number: 1, second.number: 2}

    make_laptop(status=Laptop.Status.READY)
    page = client.get(reverse("loans:requests")).content.decode()
    assert "Prochaine en liste d’attente" in page and first.number in page

    response = client.post(reverse("loans:approve_in_order"), {"scope": "waitlist"}, follow=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("approved", "waitlisted")
    assert shown(response)[0] == "1 demande approuvée, dans l’ordre de la liste d’attente."
    assert "Aucun ordinateur n’est prêt" in shown(response)[1]


def test_staff_reject_with_a_reason(client, alice, bob, trainee):
    request = make_request(trainee, by=bob)
    client.force_login(alice)
    response = client.post(reverse("loans:request_reject", args=[request.pk]), {"reason": ""})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    client.post(reverse("loans:request_reject", args=[request.pk]), {"reason": "Hors critères"})
    request.refresh_from_db()
    assert (request.status, request.decision_reason) == ("rejected", "Hors critères")


def test_the_queue_filters_by_status_body_territory_and_date(client, alice, bob, charlie, course):
    from tests.factories import TerritoryFactory, TrainingBodyFactory

    vannes = TrainingBodyFactory(territory=TerritoryFactory(name="Pays de Vannes"))
    near = make_request(TraineeFactory(course=course), by=bob)
    far = make_request(
        TraineeFactory(course=CourseFactory(training_body=vannes)),
        by=alice,
        needed_by=timezone.localdate() + timedelta(days=40),
    )
    closed = make_request(TraineeFactory(course=course), by=bob, status=Status.REJECTED)
    client.force_login(alice)

    def numbers(**params):
        page = client.get(reverse("loans:requests"), params)
        return {r.number for r in page.context["page_obj"]}

    assert numbers() == {near.number, far.number}  # open ones by default
    assert numbers(status="rejected") == {closed.number}
    assert numbers(training_body=vannes.pk) == {far.number}
    assert numbers(territory=course.training_body.territory_id) == {near.number}
    limit = (timezone.localdate() + timedelta(days=10)).isoformat()
    assert numbers(needed_before=limit) == {near.number}
    assert numbers(status="nonsense") == set()


def test_the_queue_query_count_does_not_grow(client, alice, bob, course):
    client.force_login(alice)
    for _ in range(3):
        make_request(TraineeFactory(course=course), by=bob)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("loans:requests"))
    for _ in range(30):
        make_request(TraineeFactory(course=course), by=bob)
    with CaptureQueriesContext(connection) as large:
        client.get(reverse("loans:requests"))
    assert len(small) == len(large)


def test_huge_or_foreign_ids_in_bulk_forms_are_refused_cleanly(client, alice, bob, course):
    client.force_login(alice)
    response = client.post(
        reverse("loans:approve_in_order"), {"requests": ["99999999999999999999999"]}, follow=True
    )
    assert shown(response) == ["Cochez au moins une demande déposée ou en liste d’attente."]
    client.force_login(bob)
    response = client.post(
        reverse("loans:requests_for_course", args=[course.pk]),
        request_data(trainees=["99999999999999999999999"]),
    )
    assert "trainees" in response.context["form"].errors


def test_the_admin_cannot_move_the_needed_by_date_past_the_course_end(client, root, bob, trainee):
    request = make_request(trainee, by=bob)
    client.force_login(root)
    url = reverse("admin:loans_loanrequest_change", args=[request.pk])
    response = client.post(
        url,
        {
            "needed_by": (trainee.course.end_date + timedelta(days=1)).isoformat(),
            "justification": "x",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "après la fin de la formation" in response.content.decode()
    request.refresh_from_db()
    assert request.needed_by <= trainee.course.end_date
