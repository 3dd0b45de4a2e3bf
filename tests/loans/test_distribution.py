"""The distribution day of a course: its prepared loans on one page, their agreements in one
PDF, and the handover of the ticked loans in one go (all of them, or none)."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from inventory.models import Laptop
from loans.models import Loan, LoanEvent, LoanRequest
from tests.factories import (
    CourseFactory,
    TraineeFactory,
    make_loan,
    make_request,
    minor_trainee,
)

pytestmark = pytest.mark.django_db

Status = Loan.Status


def shown(response):
    return [str(m) for m in response.context["messages"]]


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora, title="PRÉPA Avenir Jeunes Lanester")


@pytest.fixture
def prepared(alice, course):
    """Three prepared loans of the course; the first trainee is a minor."""
    return [
        make_loan(minor_trainee(course=course, first_name="Maël", last_name="Le Floch"), by=alice),
        make_loan(TraineeFactory(course=course, first_name="Léa", last_name="Le Gall"), by=alice),
        make_loan(TraineeFactory(course=course, first_name="Noah", last_name="Guillou"), by=alice),
    ]


def page_url(course):
    return reverse("loans:distribution", args=[course.pk])


def agreements_url(course):
    return reverse("loans:distribution_agreements", args=[course.pk])


def hand_over_url(course):
    return reverse("loans:distribution_hand_over", args=[course.pk])


def statuses(loans):
    return [Loan.objects.get(pk=loan.pk).status for loan in loans]


# --- The page --------------------------------------------------------------------------------


def test_it_lists_the_prepared_loans_of_the_course_ticked(client, alice, course, prepared):
    client.force_login(alice)
    response = client.get(page_url(course))

    assert response.status_code == 200
    page = response.content.decode()
    for loan in prepared:
        assert f'data-loan="{loan.number}"' in page
        assert f'name="loan" value="{loan.pk}" form="hand-over-form" checked' in page
        assert loan.laptop.asset_tag in page
    assert "Le Floch Maël" in page
    assert page.count("data-minor") == 1
    assert page.count("<td>chargeur</td>") == 3
    assert prepared[0].planned_end_date.strftime("%d/%m/%Y") in page


def test_it_leaves_out_other_courses_and_loans_no_longer_prepared(client, alice, course, prepared):
    other = make_loan(
        TraineeFactory(course=CourseFactory(training_body=course.training_body)), by=alice
    )
    active = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    client.force_login(alice)

    page = client.get(page_url(course)).content.decode()

    assert other.number not in page
    assert f'name="loan" value="{active.pk}"' not in page


def test_it_links_each_approved_request_to_its_preparation(client, alice, course):
    approved = make_request(
        TraineeFactory(course=course, first_name="Erwan", last_name="Tanguy"),
        by=alice,
        status=LoanRequest.Status.APPROVED,
    )
    submitted = make_request(TraineeFactory(course=course), by=alice)
    client.force_login(alice)

    page = client.get(page_url(course)).content.decode()

    assert reverse("loans:loan_prepare", args=[approved.pk]) in page
    assert "Préparer le prêt de Erwan Tanguy" in page
    assert reverse("loans:loan_prepare", args=[submitted.pk]) not in page


def test_it_says_when_nothing_waits(client, alice, course):
    client.force_login(alice)

    response = client.get(page_url(course))

    assert "data-no-prepared" in response.content.decode()
    assert "Rien n’a encore été remis aujourd’hui." in response.content.decode()


def test_coordinators_are_refused_and_unknown_courses_answer_404(client, alice, bob, course):
    client.force_login(bob)
    assert client.get(page_url(course)).status_code == 403
    client.force_login(alice)
    assert client.get(reverse("loans:distribution", args=[course.pk + 1000])).status_code == 404


def test_its_query_count_does_not_grow_with_the_loans(client, alice, course):
    client.force_login(alice)

    def fill(count):
        for _ in range(count):
            make_loan(TraineeFactory(course=course), by=alice)
            make_request(TraineeFactory(course=course), by=alice, status="approved")

    fill(3)
    with CaptureQueriesContext(connection) as small:
        assert client.get(page_url(course)).status_code == 200
    fill(12)
    with CaptureQueriesContext(connection) as large:
        response = client.get(page_url(course))
    assert response.content.decode().count('name="loan"') == 15
    # Session, user, course, prepared loans, approved requests, loans handed over today.
    assert len(small) == len(large), "\n".join(q["sql"] for q in large.captured_queries)


# --- The combined agreements -------------------------------------------------------------------


def test_it_prints_every_prepared_agreement_in_one_pdf(client, alice, course, prepared):
    client.force_login(alice)

    response = client.get(agreements_url(course))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    text = pdf_text(response.content)
    for loan in prepared:
        assert loan.number in text
    # The minor's guardian co-signs their agreement.
    assert "Anne Le Goff" in text


def test_it_prints_only_the_loans_asked_for(client, alice, course, prepared):
    client.force_login(alice)

    response = client.get(agreements_url(course), {"loan": [prepared[1].pk, prepared[2].pk]})

    text = pdf_text(response.content)
    assert prepared[0].number not in text
    assert prepared[1].number in text
    assert prepared[2].number in text


def test_it_prints_the_ticked_loans_posted_from_the_page(client, alice, course, prepared):
    client.force_login(alice)

    response = client.post(agreements_url(course), {"loan": [prepared[2].pk], "on": "x"})

    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert prepared[2].number in text
    assert prepared[0].number not in text


def test_printing_the_ticked_agreements_with_none_ticked_is_refused(
    client, alice, course, prepared
):
    client.force_login(alice)

    response = client.post(agreements_url(course), {"on": "2026-01-01"}, follow=True)

    assert response.redirect_chain[-1][0] == page_url(course)
    assert shown(response) == ["Cochez au moins un prêt pour imprimer sa convention."]


def test_it_leaves_out_loans_already_handed_over(client, alice, course, prepared):
    active = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    client.force_login(alice)

    text = pdf_text(client.get(agreements_url(course)).content)

    assert active.number not in text


@pytest.mark.parametrize("value", ["abc", "", "²", "-1", "99999999999999999999999"])
def test_it_refuses_ids_that_are_not_ids(client, alice, course, prepared, value):
    client.force_login(alice)

    response = client.get(agreements_url(course), {"loan": value}, follow=True)

    assert response.redirect_chain[-1][0] == page_url(course)
    assert shown(response) == [
        "Certains des prêts demandés ne sont pas des prêts de cette formation."
    ]


def test_it_refuses_another_courses_loan(client, alice, course, prepared):
    other = make_loan(TraineeFactory(), by=alice)
    client.force_login(alice)

    response = client.get(agreements_url(course), {"loan": [prepared[0].pk, other.pk]}, follow=True)

    assert shown(response) == [
        "Certains des prêts demandés ne sont pas des prêts de cette formation."
    ]


def test_it_sends_back_to_the_page_when_nothing_is_prepared(client, alice, course):
    client.force_login(alice)

    response = client.get(agreements_url(course), follow=True)

    assert response.redirect_chain[-1][0] == page_url(course)
    assert shown(response) == ["Aucun prêt préparé à imprimer : préparez d’abord les prêts."]


def test_it_sends_back_when_the_loans_asked_for_are_no_longer_prepared(client, alice, course):
    active = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    client.force_login(alice)

    response = client.get(agreements_url(course), {"loan": active.pk}, follow=True)

    assert shown(response) == ["Aucun prêt préparé à imprimer : préparez d’abord les prêts."]


# --- The handover ----------------------------------------------------------------------------


def test_it_hands_over_the_ticked_loans_at_once(client, alice, course, prepared):
    client.force_login(alice)
    today = timezone.localdate()

    response = client.post(
        hand_over_url(course),
        {"loan": [loan.pk for loan in prepared], "on": today.isoformat()},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == page_url(course)
    assert shown(response) == ["3 prêts remis."]
    assert statuses(prepared) == [Status.ACTIVE] * 3
    for loan in prepared:
        loan.refresh_from_db()
        assert loan.start_date == today
        assert loan.handed_over_at is not None
        assert loan.agreement_pdf
        assert loan.laptop.status == Laptop.Status.ON_LOAN
        assert loan.events.filter(kind=LoanEvent.Kind.HANDED_OVER, by=alice).exists()
    page = response.content.decode()
    assert 'data-handed-over-today="3"' in page
    for loan in prepared:
        assert reverse("loans:loan", args=[loan.pk]) in page


def test_it_hands_over_only_the_ticked_ones(client, alice, course, prepared):
    client.force_login(alice)

    response = client.post(
        hand_over_url(course),
        {"loan": [prepared[1].pk], "on": timezone.localdate().isoformat()},
        follow=True,
    )

    assert shown(response) == ["1 prêt remis."]
    assert statuses(prepared) == [Status.PREPARED, Status.ACTIVE, Status.PREPARED]


def test_it_hands_over_on_an_earlier_day(client, alice, course):
    # Prepared two days ago, handed over yesterday, recorded today.
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        loan = make_loan(TraineeFactory(course=course), by=alice)
    yesterday = timezone.localdate() - timedelta(days=1)
    client.force_login(alice)

    client.post(hand_over_url(course), {"loan": [loan.pk], "on": yesterday.isoformat()})

    loan.refresh_from_db()
    assert (loan.status, loan.start_date) == (Status.ACTIVE, yesterday)


def test_a_handover_before_the_loan_was_prepared_is_refused(client, alice, course):
    loan = make_loan(TraineeFactory(course=course), by=alice)
    client.force_login(alice)

    client.post(hand_over_url(course), {"loan": [loan.pk], "on": "2001-01-01"})

    loan.refresh_from_db()
    assert loan.status == Status.PREPARED


def test_one_refused_loan_stops_them_all_and_every_reason_is_shown(client, alice, course, prepared):
    handed_over = make_loan(TraineeFactory(course=course), by=alice, status=Status.ACTIVE)
    cancelled = make_loan(TraineeFactory(course=course), by=alice, status=Status.CANCELLED)
    client.force_login(alice)

    response = client.post(
        hand_over_url(course),
        {
            "loan": [*(loan.pk for loan in prepared), handed_over.pk, cancelled.pk],
            "on": timezone.localdate().isoformat(),
        },
        follow=True,
    )

    messages = shown(response)
    assert len(messages) == 2
    assert handed_over.number in messages[0]
    assert cancelled.number in messages[1]
    assert statuses(prepared) == [Status.PREPARED] * 3
    assert not LoanEvent.objects.filter(kind=LoanEvent.Kind.HANDED_OVER, loan__in=prepared).exists()
    assert Laptop.objects.filter(status=Laptop.Status.ON_LOAN).count() == 1


def test_a_date_in_the_future_is_refused(client, alice, course, prepared):
    client.force_login(alice)
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = client.post(
        hand_over_url(course),
        {"loan": [loan.pk for loan in prepared], "on": tomorrow.isoformat()},
        follow=True,
    )

    # One reason shared by the three loans, said once.
    assert shown(response) == ["La date de remise ne peut pas être dans le futur."]
    assert statuses(prepared) == [Status.PREPARED] * 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"on": "2025-02-30"}, "Saisissez une date valide."),
        ({"on": ""}, "Indiquez la date de remise."),
        ({"loan": []}, "Cochez au moins un prêt à remettre."),
        ({"loan": ["abc"]}, "Certains des prêts cochés ne sont pas des prêts de cette formation."),
        (
            {"loan": ["99999999999999999999999"]},
            "Certains des prêts cochés ne sont pas des prêts de cette formation.",
        ),
    ],
)
def test_bad_input_is_refused_clearly(client, alice, course, prepared, data, message):
    client.force_login(alice)
    data = {"loan": [prepared[0].pk], "on": timezone.localdate().isoformat(), **data}

    response = client.post(hand_over_url(course), data, follow=True)

    assert response.status_code == 200
    assert shown(response) == [message]
    assert statuses(prepared) == [Status.PREPARED] * 3


def test_another_courses_loan_is_refused(client, alice, course, prepared):
    other = make_loan(TraineeFactory(), by=alice)
    client.force_login(alice)

    response = client.post(
        hand_over_url(course),
        {"loan": [prepared[0].pk, other.pk], "on": timezone.localdate().isoformat()},
        follow=True,
    )

    assert shown(response) == [
        "Certains des prêts cochés ne sont pas des prêts de cette formation."
    ]
    assert statuses([*prepared, other]) == [Status.PREPARED] * 4


def test_the_handover_is_post_only_and_staff_only(client, alice, bob, course, prepared):
    client.force_login(alice)
    assert client.get(hand_over_url(course)).status_code == 405
    client.force_login(bob)
    data = {"loan": [prepared[0].pk], "on": timezone.localdate().isoformat()}
    assert client.post(hand_over_url(course), data).status_code == 403
    assert statuses(prepared) == [Status.PREPARED] * 3


def test_the_course_page_links_staff_to_the_distribution_day(client, alice, bob, course):
    client.force_login(alice)
    assert page_url(course) in client.get(course.get_absolute_url()).content.decode()
    client.force_login(bob)
    assert page_url(course) not in client.get(course.get_absolute_url()).content.decode()
