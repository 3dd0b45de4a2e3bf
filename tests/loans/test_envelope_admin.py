"""Budget envelopes in the admin: listed with their figures, added and edited by staff, never
deleted while a loan or a ledger line uses them; the loan admin shows a loan's envelope."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from defis.money import format_euros
from loans import envelopes
from loans.models import BudgetEnvelope, Loan
from tests.factories import (
    BudgetEnvelopeFactory,
    CourseFactory,
    TraineeFactory,
    make_loan,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:loans_budgetenvelope_changelist")
ADD = reverse("admin:loans_budgetenvelope_add")


def change_url(envelope):
    return reverse("admin:loans_budgetenvelope_change", args=[envelope.pk])


def delete_url(envelope):
    return reverse("admin:loans_budgetenvelope_delete", args=[envelope.pk])


def test_staff_see_the_envelopes_with_their_figures(client, alice, funding, agora):
    make_loan(TraineeFactory(course=CourseFactory(training_body=agora)), by=alice, status="active")
    client.force_login(alice)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    figures = envelopes.figures(funding)
    assert format_euros(figures.consumed) in html
    assert format_euros(figures.available) in html


def test_the_list_costs_the_same_queries_for_any_number_of_envelopes(client, alice, agora):
    client.force_login(alice)
    course = CourseFactory(training_body=agora)
    make_loan(TraineeFactory(course=course), by=alice, status="active")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CHANGELIST).status_code == 200
        return len(captured)

    few = queries()
    for index in range(5):
        envelope = BudgetEnvelopeFactory(name=f"Enveloppe {index}")
        envelope.training_bodies.set([agora])
        make_loan(TraineeFactory(course=course), by=alice, status="active")
    assert queries() == few


def test_staff_add_an_envelope_for_some_training_bodies(client, alice, agora, askoria):
    client.force_login(alice)
    response = client.post(
        ADD,
        {
            "funder": "Département du Morbihan",
            "name": "Fonds d’appui 2027",
            "amount": "5000.00",
            "start_date": "2027-01-01",
            "end_date": "2027-12-31",
            "trainee_fee": "5.00",
            "funder_share": "25.00",
            "training_bodies": [agora.pk, askoria.pk],
            "notes": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    envelope = BudgetEnvelope.objects.get(name="Fonds d’appui 2027")
    assert envelope.amount == Decimal("5000.00")
    assert set(envelope.training_bodies.all()) == {agora, askoria}


def test_an_envelope_cannot_end_before_it_starts(client, alice):
    client.force_login(alice)
    response = client.post(
        ADD,
        {
            "funder": "Région Bretagne",
            "name": "À l’envers",
            "amount": "1000.00",
            "start_date": "2027-12-31",
            "end_date": "2027-01-01",
            "trainee_fee": "7.00",
            "funder_share": "30.00",
        },
    )
    assert response.status_code == 200
    assert "La date de fin est avant la date de début." in response.content.decode()
    assert not BudgetEnvelope.objects.filter(name="À l’envers").exists()


def test_an_envelope_in_use_is_never_deleted(client, alice, funding, agora):
    make_loan(TraineeFactory(course=CourseFactory(training_body=agora)), by=alice)
    unused = BudgetEnvelopeFactory(name="Inutilisée")
    client.force_login(alice)
    assert client.get(delete_url(funding)).status_code == 403
    assert client.post(delete_url(funding), {"post": "yes"}).status_code == 403
    assert BudgetEnvelope.objects.filter(pk=funding.pk).exists()
    assert client.post(delete_url(unused), {"post": "yes"}).status_code == 302
    assert not BudgetEnvelope.objects.filter(pk=unused.pk).exists()
    # No bulk deletion either.
    assert "delete_selected" not in client.get(CHANGELIST).content.decode()


def test_coordinators_do_not_reach_the_envelopes(client, bob):
    client.force_login(bob)
    assert client.get(CHANGELIST).status_code in (302, 403)


def test_the_loan_admin_shows_the_loans_envelope(client, alice, funding, agora):
    loan = make_loan(TraineeFactory(course=CourseFactory(training_body=agora)), by=alice)
    client.force_login(alice)
    html = client.get(reverse("admin:loans_loan_change", args=[loan.pk])).content.decode()
    assert str(funding) in html
    assert 'name="envelope"' not in html  # changed on the loan's page, through the service
    response = client.get(
        reverse("admin:loans_loan_changelist"), {"envelope__id__exact": funding.pk}
    )
    assert list(response.context["cl"].queryset) == [Loan.objects.get(pk=loan.pk)]


def test_an_envelope_in_use_keeps_its_rates_dates_and_scope(client, alice, funding, agora):
    make_loan(TraineeFactory(course=CourseFactory(training_body=agora)), by=alice, status="active")
    client.force_login(alice)
    form = client.get(change_url(funding)).context["adminform"].form
    for name in ("funder_share", "trainee_fee", "start_date", "end_date", "territories"):
        assert name not in form.fields, name
    data = {
        "funder": funding.funder,
        "name": funding.name,
        "amount": "10.00",  # less than the 30,00 € drawn by the first month
        "notes": "",
        "funder_share": "40.00",  # read-only: ignored
    }
    response = client.post(change_url(funding), data)
    assert response.status_code == 200
    assert "amount" in response.context["adminform"].form.errors
    funding.refresh_from_db()
    assert (funding.amount, funding.funder_share) == (Decimal("1000000.00"), Decimal("30.00"))
