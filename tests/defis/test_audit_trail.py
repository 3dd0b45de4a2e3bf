"""The audit trail: who changed what and when on laptops, trainees, requests, loans and
envelopes, shown to staff at the bottom of each record's page and in the admin's "History"."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from defis.audit import record_as, trail
from inventory.forms import LaptopForm
from inventory.models import Laptop
from loans import lending
from loans import services as loan_services
from loans.models import Loan, LoanRequest
from tests.factories import (
    CourseFactory,
    LocationFactory,
    StaffFactory,
    TraineeFactory,
    make_laptop,
    make_loan,
    make_request,
)

pytestmark = pytest.mark.django_db


def verbose(model, name) -> str:
    return str(capfirst(model._meta.get_field(name).verbose_name))


@pytest.fixture
def trainee(agora):
    return TraineeFactory(course=CourseFactory(training_body=agora), last_name="Le Goff")


@pytest.fixture
def loan(alice, trainee):
    return make_loan(trainee, by=alice)


@pytest.fixture
def records(loan, funding):
    """One record of each kind followed, all in Bob's training body."""
    return {
        "laptop": loan.laptop,
        "trainee": loan.trainee,
        "request": loan.request,
        "loan": loan,
        "envelope": funding,
    }


KINDS = ["laptop", "trainee", "request", "loan", "envelope"]
# A text field of each model, to change.
TEXT_FIELD = {
    "laptop": "notes",
    "trainee": "notes",
    "request": "justification",
    "loan": "notes",
    "envelope": "notes",
}
ADMIN_HISTORY = {
    "laptop": "admin:inventory_laptop_history",
    "trainee": "admin:trainees_trainee_history",
    "request": "admin:loans_loanrequest_history",
    "loan": "admin:loans_loan_history",
    "envelope": "admin:loans_budgetenvelope_history",
}


def edit(record, field, value, *, by):
    """A change the way an edit form saves it (the forms are tested elsewhere)."""
    setattr(record, field, value)
    record_as(record, by)
    record.save(update_fields=[field])


# --- Recording -------------------------------------------------------------------------------


def test_it_records_an_edit_through_the_page_with_its_author_and_the_field(client, alice):
    laptop = make_laptop(by=StaffFactory(), model="ThinkPad T480")
    client.force_login(alice)
    form = LaptopForm(instance=laptop)
    data = {name: "" if form[name].value() is None else form[name].value() for name in form.fields}
    response = client.post(
        reverse("inventory:laptop_edit", args=[laptop.pk]), {**data, "model": "ThinkPad T480s"}
    )
    assert response.status_code == 302

    latest = laptop.history.latest()
    assert latest.history_user == alice
    entry = trail(laptop).entries[0]
    assert (entry.kind, entry.user) == ("changed", alice)
    assert [(c.field, c.old, c.new) for c in entry.changes] == [
        (verbose(Laptop, "model"), "ThinkPad T480", "ThinkPad T480s")
    ]
    page = client.get(laptop.get_absolute_url()).content.decode()
    assert "ThinkPad T480 → ThinkPad T480s" in page


def test_a_lifecycle_move_outside_a_request_is_recorded_as_the_acting_user(alice, loan):
    eve = StaffFactory(username="eve", first_name="Eve", last_name="Kervella")
    lending.loan_hand_over(loan=loan, on=timezone.localdate(), by=eve)

    loan_version = loan.history.latest()
    assert (loan_version.history_user, loan_version.status) == (eve, Loan.Status.ACTIVE)
    assert loan.laptop.history.latest().history_user == eve
    # The status is not a form field: it is shown all the same, by its label.
    changes = {c.field: (c.old, c.new) for c in trail(loan).entries[0].changes}
    assert changes[verbose(Loan, "status")] == (
        Loan.Status.PREPARED.label,
        Loan.Status.ACTIVE.label,
    )
    # Earlier, the loan was prepared by Alice.
    assert loan.history.earliest().history_user == alice


def test_a_request_decision_is_recorded_as_the_staff_member_and_its_submission_as_bob(bob, trainee):
    eve = StaffFactory(username="eve")
    request = make_request(trainee, by=bob)
    laptop = make_laptop(by=eve, status=Laptop.Status.READY)
    loan_services.request_approve(request=request, laptop=laptop, by=eve)

    versions = list(request.history.order_by("history_date", "history_id"))
    assert [(v.status, v.history_user) for v in versions] == [
        (LoanRequest.Status.SUBMITTED, bob),
        (LoanRequest.Status.APPROVED, eve),
    ]
    changes = {c.field: c.new for c in trail(request).entries[0].changes}
    assert changes[verbose(LoanRequest, "laptop")] == str(laptop)


# --- The record pages ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_staff_see_the_trail_on_each_record_page(client, alice, records, kind):
    record = records[kind]
    edit(record, TEXT_FIELD[kind], "Vu en réunion d’équipe", by=alice)
    client.force_login(alice)

    response = client.get(record.get_absolute_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert "data-audit-trail" in page
    assert "→ Vu en réunion d’équipe" in page
    assert reverse(ADMIN_HISTORY[kind], args=[record.pk]) in page


@pytest.mark.parametrize("kind", ["trainee", "request", "loan"])
def test_a_coordinator_sees_no_trail_on_his_own_records(client, alice, bob, records, kind):
    record = records[kind]
    edit(record, TEXT_FIELD[kind], "Vu en réunion d’équipe", by=alice)
    client.force_login(bob)

    response = client.get(record.get_absolute_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert "data-audit" not in page
    assert "Vu en réunion d’équipe" in page  # the field itself, on the page
    assert "→ Vu en réunion d’équipe" not in page  # but not its change


def test_the_page_shows_the_latest_20_and_counts_the_others(client, alice):
    laptop = make_laptop(by=alice)  # one version at intake
    for number in range(24):
        edit(laptop, "notes", f"Note {number}", by=alice)
    client.force_login(alice)

    response = client.get(laptop.get_absolute_url())

    page = response.content.decode()
    assert 'data-audit-count="20"' in page
    assert "Note 22 → Note 23" in page  # the latest first
    assert "Note 2 → Note 3" not in page
    shown = response.context["trail"]
    assert (len(shown.entries), shown.total, shown.hidden) == (20, 25, 5)


def test_the_page_costs_the_same_queries_for_30_or_300_versions(client, alice):
    laptop = make_laptop(by=alice)
    workshop, storeroom = LocationFactory(name="Atelier"), LocationFactory(name="Réserve")
    client.force_login(alice)

    def versions(count):
        while laptop.history.count() < count:
            index = laptop.history.count()
            laptop.location = workshop if index % 2 else storeroom
            laptop.notes = f"Note {index}"
            record_as(laptop, alice)
            laptop.save(update_fields=["location", "notes"])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(laptop.get_absolute_url()).status_code == 200
        return captured

    versions(3)
    queries()  # the first request of a session warms caches up
    # Three versions: all shown, nothing to count.
    three = queries()
    versions(30)
    thirty = queries()
    assert not any("COUNT(" in q["sql"] for q in three.captured_queries)
    versions(300)
    many = queries()
    assert len(thirty) == len(many) == len(three) + 1, [q["sql"] for q in many.captured_queries]


# --- The admin -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_admin_history_page_shows_the_change(client, alice, records, kind):
    record = records[kind]
    edit(record, TEXT_FIELD[kind], "Vu en réunion d’équipe", by=alice)
    client.force_login(alice)

    response = client.get(reverse(ADMIN_HISTORY[kind], args=[record.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Vu en réunion d’équipe" in page
    assert "Alice Martin" in page


def test_the_admin_history_shows_the_status_the_services_write(client, alice, loan):
    lending.loan_hand_over(loan=loan, on=timezone.localdate(), by=alice)
    client.force_login(alice)

    page = client.get(reverse(ADMIN_HISTORY["loan"], args=[loan.pk])).content.decode()

    prepared, active = (re.escape(str(s.label)) for s in (Loan.Status.PREPARED, Loan.Status.ACTIVE))
    assert re.search(rf"{prepared}\s*&nbsp;&rarr;&nbsp;&nbsp;{active}", page)


def test_a_past_version_is_shown_in_the_admin_but_never_restored(client, alice, loan):
    old = loan.history.earliest()
    lending.loan_hand_over(loan=loan, on=timezone.localdate(), by=alice)
    client.force_login(alice)
    url = reverse("admin:loans_loan_simple_history", args=[loan.pk, old.history_id])

    assert client.get(url).status_code == 200
    response = client.post(url, {"notes": "Retour en arrière"})

    assert response.status_code == 405
    loan.refresh_from_db()
    assert (loan.status, loan.notes) == (Loan.Status.ACTIVE, "")


@pytest.mark.parametrize(
    ("changelist", "change"),
    [
        ("admin:inventory_laptop_changelist", "admin:inventory_laptop_change"),
        ("admin:trainees_trainee_changelist", "admin:trainees_trainee_change"),
    ],
)
def test_import_and_export_stay_beside_the_history(client, alice, records, changelist, change):
    client.force_login(alice)
    record = records[changelist.split("_")[1]]
    history = reverse(changelist.replace("changelist", "history"), args=[record.pk])

    listing = client.get(reverse(changelist)).content.decode()
    form = client.get(reverse(change, args=[record.pk])).content.decode()

    assert reverse(changelist.replace("changelist", "import")) in listing
    assert reverse(changelist.replace("changelist", "export")) in listing
    assert history in form


@pytest.mark.parametrize(
    "path",
    [
        "inventory/laptop/abc/history/",
        "inventory/laptop/1/history/abc/",
        "inventory/laptop/abc/history/1/",
        "trainees/trainee/abc/history/",
        "trainees/trainee/1/history/1x/",
        "loans/loan/²/history/",
        "loans/loanrequest/1/history/٣/",
        "loans/budgetenvelope/1e3/history/",
    ],
)
def test_history_urls_edited_by_hand_answer_404(client, root, path):
    client.force_login(root)
    assert client.get(f"/admin/{path}").status_code == 404
