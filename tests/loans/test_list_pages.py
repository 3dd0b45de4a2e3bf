"""The request queue and the loan list read at the design scale's pace: what they read in
fewer queries is what they read before."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import Laptop
from loans import services
from loans.models import Loan
from tests.factories import CourseFactory, TraineeFactory, make_laptop, make_loan, make_request

pytestmark = pytest.mark.django_db

Status = Loan.Status


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora)


@pytest.fixture
def loans(alice, course, askoria):
    today = timezone.localdate()
    return [
        make_loan(TraineeFactory(course=course, first_name="Léa", last_name="Le Gall"), by=alice),
        make_loan(
            TraineeFactory(course=course, first_name="Noé", last_name="Tanguy"),
            by=alice,
            status=Status.ACTIVE,
            planned_end_date=today + timedelta(days=3),
        ),
        make_loan(
            TraineeFactory(course=course, first_name="Inès", last_name="Guillou"),
            by=alice,
            status=Status.CLOSED,
        ),
        make_loan(
            TraineeFactory(
                course=CourseFactory(training_body=askoria), first_name="Léa", last_name="Riou"
            ),
            by=alice,
            status=Status.ACTIVE,
        ),
    ]


@pytest.mark.parametrize(
    "words",
    [
        lambda loan: "léa",
        lambda loan: "LE GALL",
        lambda loan: "lé gall",
        lambda loan: loan.number,
        lambda loan: loan.laptop.asset_tag,
        lambda loan: f"{loan.laptop.asset_tag} Léa",
        lambda loan: "nobody",
    ],
    ids=["first name", "last name", "two words", "number", "asset tag", "tag and name", "none"],
)
def test_staff_and_coordinators_find_the_same_loans(client, alice, bob, loans, words):
    text = words(loans[0])
    everywhere = Loan.objects.all()
    expected = {
        loan.number
        for loan in everywhere
        if all(
            word.lower()
            in f"{loan.number} {loan.trainee.first_name} {loan.trainee.last_name} "
            f"{loan.laptop.asset_tag}".lower()
            for word in text.split()
        )
    }
    found = {}
    for user in (alice, bob):
        client.force_login(user)
        response = client.get(reverse("loans:loans"), {"q": text, "status": ""})
        found[user.username] = {loan.number for loan in response.context["page_obj"]}
    bobs = {loan.number for loan in Loan.objects.visible_to(bob)}
    assert found == {"alice": expected, "bob": expected & bobs}


def test_the_counts_above_the_loan_list_are_each_kinds(client, alice, bob, loans):
    today = timezone.localdate()
    for user in (alice, bob):
        client.force_login(user)
        response = client.get(reverse("loans:loans"))
        visible = Loan.objects.visible_to(user)
        pills = {pill["key"]: pill["count"] for pill in response.context["pills"]}
        due = {pill["key"]: pill["count"] for pill in response.context["due"]}
        assert pills == {
            "open": visible.open().count(),
            **{status: visible.filter(status=status).count() for status in Status.values},
            "": visible.count(),
        }
        assert due == {
            "overdue": visible.overdue(today=today).count(),
            "ending_soon": visible.ending_soon(today=today, days=14).count(),
        }
    assert due["ending_soon"] == 1


def test_the_queue_says_what_the_request_page_says_of_the_stock(client, alice, bob, course):
    client.force_login(alice)
    url = reverse("loans:requests")

    def summary():
        context = client.get(url).context
        return context["ready_count"], context["waiting_count"], context["next_request"]

    assert summary() == (0, 0, None)
    first, second = (make_request(TraineeFactory(course=course), by=bob) for _ in range(2))
    for request in (second, first):
        services.request_waitlist(request=request, by=alice)
    make_laptop(status=Laptop.Status.READY)
    # The first submitted, whatever the order it was waitlisted in.
    assert summary() == (1, 2, first) and services.next_on_waitlist() == first
