"""Laptop requests in the admin: read and searched, never added or deleted, decided in bulk
through loans.services."""

from datetime import timedelta

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import Laptop
from loans.models import LoanRequest, LoanRequestEvent
from tests.factories import CourseFactory, TraineeFactory, make_laptop, make_request

pytestmark = pytest.mark.django_db

Status = LoanRequest.Status
CHANGELIST = reverse("admin:loans_loanrequest_changelist")


@pytest.fixture
def course(agora):
    return CourseFactory(training_body=agora)


def new_request(course, by, *, status=Status.SUBMITTED, minutes_ago=0, **fields):
    trainee = TraineeFactory(course=course, **fields)
    now = timezone.now() - timedelta(minutes=minutes_ago)
    return make_request(trainee, by=by, status=status, now=now)


def change_url(loan_request):
    return reverse("admin:loans_loanrequest_change", args=[loan_request.pk])


def act(client, action, requests, **data):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [r.pk for r in requests], **data},
    )


def sent(response):
    return [(m.level, str(m)) for m in get_messages(response.wsgi_request)]


def statuses(*requests):
    return [LoanRequest.objects.get(pk=r.pk).status for r in requests]


# --- Pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["alice", "root"])
def test_it_shows_the_request_pages_to_staff_and_superusers(
    client, request, bob, alice, course, username
):
    approved = new_request(course, bob, status=Status.APPROVED, last_name="Kerbrat")
    new_request(course, bob, last_name="Morvan")
    client.force_login(request.getfixturevalue(username))
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(change_url(approved)).status_code == 200
    for term in ("kerbrat", approved.laptop.asset_tag, approved.number, f"d{approved.pk:05d}"):
        found = client.get(CHANGELIST, {"q": term}).context["cl"].result_list
        assert list(found) == [approved], term


def test_it_keeps_coordinators_out(client, bob, course):
    loan_request = new_request(course, bob)
    client.force_login(bob)
    response = client.get(change_url(loan_request))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_requests_are_never_added_or_deleted_in_the_admin(client, root, bob, course):
    loan_request = new_request(course, bob)
    client.force_login(root)
    assert client.get(reverse("admin:loans_loanrequest_add")).status_code == 403
    delete = reverse("admin:loans_loanrequest_delete", args=[loan_request.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    actions = dict(client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions
    assert {"approve_in_order", "waitlist", "reject", "cancel"} <= set(actions)
    assert LoanRequest.objects.filter(pk=loan_request.pk).exists()


def _inline_management_data(response):
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{inline.formset.prefix}-{name}"] = management.initial.get(name, "")
    return data


def test_the_request_page_shows_status_laptop_and_history_but_never_edits_them(
    client, alice, bob, course
):
    loan_request = new_request(course, bob, status=Status.APPROVED)
    laptop = loan_request.laptop
    client.force_login(alice)
    response = client.get(change_url(loan_request))
    form = response.context["adminform"].form
    assert set(form.fields) == {"needed_by", "justification"}
    (events,) = response.context["inline_admin_formsets"]
    assert not (events.has_add_permission or events.has_change_permission)
    assert not events.has_delete_permission
    assert len(events.formset.forms) == 2  # submitted, approved

    data = {
        "needed_by": loan_request.needed_by.isoformat(),
        "justification": "Formation à distance le vendredi.",
        # Sent by hand: the form has no such fields and ignores them.
        "status": Status.CANCELLED,
        "laptop": "",
        "decision_reason": "Fraude",
        "_save": "Enregistrer",
        **_inline_management_data(response),
    }
    response = client.post(change_url(loan_request), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    loan_request.refresh_from_db()
    assert loan_request.justification == "Formation à distance le vendredi."
    assert (loan_request.status, loan_request.laptop, loan_request.decision_reason) == (
        Status.APPROVED,
        laptop,
        "",
    )
    assert loan_request.events.count() == 2


def _changelist_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries), len(response.context["cl"].result_list)


def test_the_request_list_needs_as_many_queries_for_50_requests_as_for_5(
    client, alice, bob, course
):
    # 13 either way: session, user, savepoint and its release (ATOMIC_REQUESTS), the user's
    # and the group's permissions, the training bodies and territories for the filters, two
    # counts, the requests with trainee, course, body and laptop, the date hierarchy's two.
    for i in range(5):
        new_request(course, bob, status=Status.APPROVED if i % 2 else Status.SUBMITTED)
    client.force_login(alice)
    client.get(CHANGELIST)  # the session and the content types, cached once
    few, shown = _changelist_queries(client)
    assert shown == 5

    for i in range(45):
        # Other training bodies too, asked for by staff; some approved, with their laptop.
        new_request(CourseFactory(), alice, status=Status.APPROVED if i % 5 else Status.SUBMITTED)
    many, shown = _changelist_queries(client)
    assert shown == 50
    assert many == few, f"{few} queries for 5 requests, {many} for 50"


# --- Approve in waitlist order --------------------------------------------------------------


def test_approve_in_order_serves_the_waitlist_first_up_to_the_ready_stock(
    client, alice, bob, course
):
    already = new_request(course, bob, status=Status.APPROVED, last_name="E")
    # Waitlisted while no laptop was ready, oldest first.
    first = new_request(course, bob, status=Status.WAITLISTED, minutes_ago=30, last_name="A")
    second = new_request(course, bob, status=Status.WAITLISTED, minutes_ago=20, last_name="B")
    third = new_request(course, bob, status=Status.WAITLISTED, minutes_ago=10, last_name="C")
    submitted = new_request(course, bob, minutes_ago=40, last_name="D")
    # Two laptops become ready, the older one first.
    older, newer = make_laptop(by=alice, status="ready"), make_laptop(by=alice, status="ready")
    Laptop.objects.filter(pk=older.pk).update(status_changed_at=timezone.now() - timedelta(days=2))

    client.force_login(alice)
    response = act(client, "approve_in_order", [already, submitted, third, second, first])
    assert response.status_code == 302

    assert statuses(first, second, third, submitted, already) == [
        Status.APPROVED,
        Status.APPROVED,
        Status.WAITLISTED,
        Status.SUBMITTED,
        Status.APPROVED,
    ]
    assert LoanRequest.objects.get(pk=first.pk).laptop == older
    assert LoanRequest.objects.get(pk=second.pk).laptop == newer
    assert set(
        Laptop.objects.filter(pk__in=[older.pk, newer.pk]).values_list("status", flat=True)
    ) == {Laptop.Status.RESERVED}
    reports = sent(response)
    assert reports[0] == (
        messages.SUCCESS,
        f"2 demandes approuvées : {first.number}, {second.number}.",
    )
    left = {text.split(" ")[0]: (level, text) for level, text in reports[1:]}
    assert set(left) == {third.number, submitted.number, already.number}
    no_laptop = "Aucun ordinateur n’est prêt à prêter"
    assert left[third.number][0] == messages.WARNING
    assert (
        f"{third.number} ({third.trainee.full_name}) non approuvée : {no_laptop}"
        in (left[third.number][1])
    )
    assert left[submitted.number][0] == messages.WARNING
    assert left[already.number][0] == messages.ERROR
    assert "« Approuvée » : elle ne peut pas devenir « Approuvée »" in left[already.number][1]


def test_approve_in_order_with_no_ready_laptop_approves_nothing(client, alice, bob, course):
    loan_request = new_request(course, bob)
    client.force_login(alice)
    response = act(client, "approve_in_order", [loan_request])
    ((level, text),) = sent(response)
    assert level == messages.WARNING
    assert text.startswith(f"{loan_request.number} (")
    assert statuses(loan_request) == [Status.SUBMITTED]


# --- Waitlist -------------------------------------------------------------------------------


def test_waitlisting_is_refused_while_a_laptop_is_ready(client, alice, bob, course):
    loan_request = new_request(course, bob)
    make_laptop(by=alice, status="ready")
    client.force_login(alice)
    response = act(client, "waitlist", [loan_request])
    assert response.status_code == 302
    ((level, text),) = sent(response)
    assert level == messages.ERROR
    assert text == (
        f"{loan_request.number} non mise en liste d’attente : 1 ordinateurs sont prêts et "
        f"0 demandes attendent : approuvez plutôt la demande {loan_request.number}."
    )
    assert statuses(loan_request) == [Status.SUBMITTED]
    assert loan_request.events.count() == 1


def test_waitlisting_goes_through_the_service_when_no_laptop_is_ready(client, alice, bob, course):
    requests = [new_request(course, bob, minutes_ago=m) for m in (2, 1)]
    client.force_login(alice)
    response = act(client, "waitlist", requests)
    assert sent(response) == [(messages.SUCCESS, "2 demandes mises en liste d’attente.")]
    assert statuses(*requests) == [Status.WAITLISTED] * 2
    events = LoanRequestEvent.objects.filter(to_status=Status.WAITLISTED)
    assert {(e.from_status, e.by) for e in events} == {(Status.SUBMITTED, alice)}


# --- Reject and cancel ----------------------------------------------------------------------


def test_reject_asks_for_a_reason_then_releases_the_approved_laptop(client, alice, bob, course):
    approved = new_request(course, bob, status=Status.APPROVED)
    submitted = new_request(course, bob)
    laptop = approved.laptop
    client.force_login(alice)

    page = act(client, "reject", [approved, submitted])
    assert page.status_code == 200
    assert page.context["form"].fields["reason"].required
    text = page.content.decode()
    assert approved.number in text and submitted.number in text and laptop.asset_tag in text
    assert statuses(approved, submitted) == [Status.APPROVED, Status.SUBMITTED]

    page = act(client, "reject", [approved, submitted], apply="1", reason="  ")
    assert page.status_code == 200
    assert page.context["form"].errors["reason"] == ["Ce champ est obligatoire."]
    assert statuses(approved, submitted) == [Status.APPROVED, Status.SUBMITTED]

    response = act(
        client, "reject", [approved, submitted], apply="1", reason="Hors critères du programme"
    )
    assert response.status_code == 302
    assert sent(response) == [(messages.SUCCESS, "2 demandes refusées.")]
    assert statuses(approved, submitted) == [Status.REJECTED, Status.REJECTED]
    laptop.refresh_from_db()
    assert laptop.status == Laptop.Status.READY
    event = approved.events.latest("at", "pk")
    assert (event.from_status, event.to_status, event.by, event.note) == (
        Status.APPROVED,
        Status.REJECTED,
        alice,
        "Hors critères du programme",
    )
    assert LoanRequest.objects.get(pk=approved.pk).decision_reason == "Hors critères du programme"


def test_a_closed_request_is_not_rejected_and_the_others_are(client, alice, bob, course):
    cancelled = new_request(course, bob, status=Status.CANCELLED)
    submitted = new_request(course, bob)
    client.force_login(alice)
    response = act(client, "reject", [cancelled, submitted], apply="1", reason="Doublon")
    assert sent(response) == [
        (messages.SUCCESS, "1 demande refusée."),
        (
            messages.ERROR,
            f"{cancelled.number} non refusée : La demande {cancelled.number} est « Annulée » : "
            "elle ne peut pas devenir « Refusée ».",
        ),
    ]
    assert statuses(cancelled, submitted) == [Status.CANCELLED, Status.REJECTED]


def test_cancel_confirms_then_cancels_and_releases_the_laptop(client, alice, bob, course):
    approved = new_request(course, bob, status=Status.APPROVED)
    laptop = approved.laptop
    client.force_login(alice)
    page = act(client, "cancel", [approved])
    assert page.status_code == 200
    assert not page.context["form"].fields["reason"].required
    assert statuses(approved) == [Status.APPROVED]

    response = act(client, "cancel", [approved], apply="1", reason="")
    assert sent(response) == [(messages.SUCCESS, "1 demande annulée.")]
    assert statuses(approved) == [Status.CANCELLED]
    laptop.refresh_from_db()
    assert laptop.status == Laptop.Status.READY
