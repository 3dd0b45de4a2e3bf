"""The fee ledger in the admin: read, filtered and searched; never added to, changed or
deleted (a mistake is corrected by a reversal, on the loan's page)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loans import ledger
from loans.models import FeeEntry
from tests.loans.test_money_views import loan_from, pay

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:loans_feeentry_changelist")


@pytest.fixture
def payment(alice, agora):
    loan = loan_from(alice, agora, first_name="Léa", last_name="Kerbrat")
    return ledger.payment_record(
        loan=loan,
        amount="7",
        method="cheque",
        reference="CHQ 778899",
        paid_on=loan.start_date,
        by=alice,
    )


def change_url(entry):
    return reverse("admin:loans_feeentry_change", args=[entry.pk])


def found(client, **query):
    return list(client.get(CHANGELIST, query).context["cl"].result_list)


@pytest.mark.parametrize("username", ["alice", "root"])
def test_staff_and_superusers_read_the_ledger(client, request, payment, username):
    client.force_login(request.getfixturevalue(username))
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    content = response.content.decode()
    assert payment.loan.number in content and "Léa Kerbrat" in content
    assert "-7,00\xa0€" in content
    assert 'name="action"' not in content  # no bulk action, not even "delete"
    assert reverse("admin:loans_feeentry_add") not in content


def test_the_ledger_is_filtered_and_searched(client, alice, payment):
    client.force_login(alice)
    assert found(client, kind="payment") == [payment]
    assert found(client, method="cheque") == [payment]
    assert found(client, method="cash") == []
    assert len(found(client, kind="charge")) == 3
    assert set(found(client, q=payment.loan.number)) == set(payment.loan.fee_entries.all())
    assert len(found(client, q="kerbrat")) == 4
    assert found(client, q="CHQ 778899") == [payment]
    envelope = payment.loan.envelope_id
    assert len(found(client, envelope__id__exact=envelope)) == 3  # the charges draw on it
    year = payment.entry_date.year
    assert payment in found(client, entry_date__year=year)


def test_a_line_is_shown_read_only(client, alice, payment):
    client.force_login(alice)
    response = client.get(change_url(payment))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="_save"' not in content and 'name="_continue"' not in content
    assert "CHQ 778899" in content
    assert reverse("loans:loan", args=[payment.loan_id]) in content
    assert reverse("admin:loans_feeentry_delete", args=[payment.pk]) not in content


def test_a_line_is_never_changed_through_the_admin(client, root, payment):
    client.force_login(root)
    response = client.post(
        change_url(payment),
        {"amount": "-700", "reference": "falsifié", "kind": "payment", "method": "cash"},
    )
    assert response.status_code == 403
    payment.refresh_from_db()
    assert (payment.amount, payment.reference, payment.method) == (-7, "CHQ 778899", "cheque")


def test_a_line_is_never_added_nor_deleted_through_the_admin(client, root, payment):
    client.force_login(root)
    count = FeeEntry.objects.count()
    assert client.get(reverse("admin:loans_feeentry_add")).status_code == 403
    assert client.post(reverse("admin:loans_feeentry_add"), {"amount": "-7"}).status_code == 403
    delete = reverse("admin:loans_feeentry_delete", args=[payment.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    response = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [payment.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    assert FeeEntry.objects.count() == count


def test_coordinators_never_reach_the_ledger_admin(client, bob, payment):
    client.force_login(bob)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_changelist_query_count_does_not_grow(client, alice, agora, payment):
    client.force_login(alice)
    with CaptureQueriesContext(connection) as small:
        client.get(CHANGELIST)
    for _ in range(5):
        pay(loan_from(alice, agora), "7", alice)
    with CaptureQueriesContext(connection) as large:
        client.get(CHANGELIST)
    assert len(small) == len(large), [q["sql"] for q in large.captured_queries]
