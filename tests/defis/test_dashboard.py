import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Laptop
from loans.models import LoanRequest
from tests.factories import (
    CoordinatorFactory,
    CourseFactory,
    TerritoryFactory,
    TraineeFactory,
    TrainingBodyFactory,
    make_laptop,
    make_request,
)

pytestmark = pytest.mark.django_db


def test_it_shows_real_figures(client, alice, bob, charlie, agora, askoria):
    TrainingBodyFactory(short_name="IBEP", name="IBEP", active=False)
    client.force_login(alice)
    response = client.get(reverse("dashboard"))
    page = response.content.decode()
    assert response.context["active_training_body_count"] == 2
    assert response.context["coordinator_count"] == 2
    assert response.context["staff_count"] == 1
    assert '<div class="figure" data-figure="training-bodies">2</div>' in page
    assert "IBEP" in page and "inactif" in page
    rows = {body.short_name: body for body in response.context["training_bodies"]}
    assert rows["Agora"].coordinator_count == 1
    assert rows["IBEP"].coordinator_count == 0


def _queries_for_dashboard(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("dashboard")).status_code == 200
    return len(queries)


def test_its_query_count_does_not_grow_with_training_bodies(client, alice):
    client.force_login(alice)
    TrainingBodyFactory.create_batch(3)
    few = _queries_for_dashboard(client)
    for body in TrainingBodyFactory.create_batch(20):
        CoordinatorFactory(training_body=body)
    # session, user, coordinator profile, savepoints of the atomic request, then:
    # the training bodies, the territories and the account figures.
    assert _queries_for_dashboard(client) == few


def test_it_counts_the_laptops_by_status(client, alice):
    make_laptop(by=alice, status=Laptop.Status.READY)
    make_laptop(by=alice, status=Laptop.Status.READY)
    make_laptop(by=alice, status=Laptop.Status.IN_REPAIR)
    client.force_login(alice)
    response = client.get(reverse("dashboard"))
    figures = {status: count for status, _label, count in response.context["laptop_figures"]}
    assert figures["ready"] == 2 and figures["in_repair"] == 1 and figures["on_loan"] == 0
    assert 'href="/inventory/laptops/?status=ready"' in response.content.decode()


def test_it_shows_who_is_next_when_a_laptop_is_ready(client, alice, bob, agora):
    course = CourseFactory(training_body=agora)
    waiting = make_request(
        TraineeFactory(course=course, first_name="Léa", last_name="Le Gall"),
        by=bob,
        status=LoanRequest.Status.WAITLISTED,
    )
    client.force_login(alice)
    assert "data-next-request" not in client.get(reverse("dashboard")).content.decode()
    make_laptop(by=alice, status=Laptop.Status.READY)
    page = client.get(reverse("dashboard")).content.decode()
    assert "data-next-request" in page
    assert f"la prochaine demande en liste d’attente est la {waiting.number}, Léa Le Gall" in page


def test_it_counts_the_loans_to_hand_over_on_loan_ending_soon_and_overdue(client, alice):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from tests.factories import make_loan

    make_loan(by=alice)
    make_loan(by=alice, status="active")
    soon = make_loan(
        by=alice, status="active", planned_end_date=timezone.localdate() + timedelta(days=3)
    )
    make_loan(by=alice, status="closed")
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        client.force_login(alice)
        figures = {q: n for q, _, n, _ in client.get(reverse("dashboard")).context["loan_figures"]}
    assert figures == {
        "status=prepared": 1,
        "status=active": 2,
        "end=ending_soon": 1,
        "end=overdue": 0,
    }
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        client.force_login(alice)
        response = client.get(reverse("dashboard"))
    figures = {q: n for q, _, n, _ in response.context["loan_figures"]}
    assert figures["end=overdue"] == 1
    assert figures["end=ending_soon"] == 0
    assert soon.planned_end_date < timezone.localdate() + timedelta(days=4)
    assert f'href="{reverse("loans:loans")}?end=overdue"' in response.content.decode()


def test_it_lists_the_territories_by_name(client, alice):
    for name in ("Vannes", "Auray", "Pontivy", "Lorient"):
        TerritoryFactory(name=name)
    client.force_login(alice)
    names = [t.name for t in client.get(reverse("dashboard")).context["territories"]]
    assert names == sorted(names) and {"Vannes", "Auray", "Pontivy", "Lorient"} <= set(names)
