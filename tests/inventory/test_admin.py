"""The inventory's admin: its pages, the laptop's lifecycle kept in the services, bulk actions."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory import services
from inventory.models import Laptop, LaptopStatusChange
from tests.factories import DonationFactory, LocationFactory, make_laptop, wipe

pytestmark = pytest.mark.django_db

Status = Laptop.Status
CHANGELIST = reverse("admin:inventory_laptop_changelist")


@pytest.fixture
def laptop(alice):
    """A laptop with something in every inline: history, a wipe, a repair."""
    laptop = make_laptop(
        by=alice,
        status=Status.REFURBISHING,
        serial_number="PF1ABC23",
        donation=DonationFactory(),
        location=LocationFactory(),
    )
    wipe(laptop, by=alice)
    services.repair_record(
        laptop=laptop,
        repaired_on=timezone.localdate(),
        work_done="Clavier remplacé",
        cost="25.00",
        repaired_by=alice,
    )
    return laptop


def _pages(laptop):
    wipe_record, repair = laptop.wipes.get(), laptop.repairs.get()
    return [
        reverse("admin:inventory_donor_changelist"),
        reverse("admin:inventory_donor_add"),
        reverse("admin:inventory_donation_changelist"),
        reverse("admin:inventory_donation_add"),
        reverse("admin:inventory_donation_change", args=[laptop.donation_id]),
        reverse("admin:inventory_location_changelist"),
        reverse("admin:inventory_location_add"),
        CHANGELIST,
        reverse("admin:inventory_laptop_add"),
        reverse("admin:inventory_laptop_change", args=[laptop.pk]),
        reverse("admin:inventory_laptop_import"),
        reverse("admin:inventory_laptop_export"),
        reverse("admin:inventory_wiperecord_changelist"),
        reverse("admin:inventory_wiperecord_change", args=[wipe_record.pk]),
        reverse("admin:inventory_repair_changelist"),
        reverse("admin:inventory_repair_change", args=[repair.pk]),
    ]


@pytest.mark.parametrize("username", ["alice", "root"])
def test_it_shows_every_inventory_page_to_staff_and_superusers(client, request, laptop, username):
    client.force_login(request.getfixturevalue(username))
    for url in _pages(laptop):
        assert client.get(url).status_code == 200, url
    found = client.get(CHANGELIST, {"q": "pf1abc"}).context["cl"].result_list
    assert list(found) == [laptop]


def test_it_keeps_coordinators_out(client, bob, laptop):
    client.force_login(bob)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_laptop_page_shows_its_history_wipes_and_repairs_read_only(client, alice, laptop):
    client.force_login(alice)
    response = client.get(reverse("admin:inventory_laptop_change", args=[laptop.pk]))
    page = response.content.decode()
    assert "Clavier remplacé" in page
    formsets = {f.formset.prefix: f for f in response.context["inline_admin_formsets"]}
    assert set(formsets) == {"status_changes", "wipes", "repairs"}
    for inline in formsets.values():
        assert not inline.has_add_permission
        assert not inline.has_change_permission
        assert not inline.has_delete_permission
    assert len(formsets["status_changes"].formset.forms) == 2  # intake, then refurbishing
    # The lifecycle is shown, not offered for editing.
    form = response.context["adminform"].form
    for name in ("asset_tag", "status", "status_changed_at", "retirement_reason"):
        assert name not in form.fields


def _changelist_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries), len(response.context["cl"].result_list)


def test_the_laptop_list_needs_as_many_queries_for_50_laptops_as_for_5(client, alice):
    # 11 either way: session, user, savepoint and its release (ATOMIC_REQUESTS), the user's
    # and the group's permissions, the locations and the donors for the filters, two
    # counts (filtered and total), the laptops with their location, donation and donor.
    location = LocationFactory()
    for _ in range(5):
        make_laptop(by=alice, donation=DonationFactory(), location=location)
    client.force_login(alice)
    client.get(CHANGELIST)  # the session and the content types, cached once
    few, shown = _changelist_queries(client)
    assert shown == 5

    for _ in range(45):
        make_laptop(by=alice, donation=DonationFactory(), location=location)
    many, shown = _changelist_queries(client)
    assert shown == 50
    assert many == few, f"{few} queries for 5 laptops, {many} for 50"


def test_the_donation_list_counts_laptops_in_the_same_query(client, alice):
    donation = DonationFactory(laptops_announced=4)
    for _ in range(3):
        make_laptop(by=alice, donation=donation)
    client.force_login(alice)
    response = client.get(reverse("admin:inventory_donation_changelist"))
    (listed,) = response.context["cl"].result_list
    assert listed._laptop_count == 3


def test_a_laptop_added_in_the_admin_is_registered_with_a_tag_and_a_history_row(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("admin:inventory_laptop_add"),
        {
            "brand": "Dell",
            "model": "Latitude 5490",
            "serial_number": " ab12cd ",
            "keyboard_layout": "azerty_fr",
            "grade": "B",
            "has_charger": "on",
            "_save": "Enregistrer",
        },
    )
    assert response.status_code == 302
    laptop = Laptop.objects.get()
    assert re.fullmatch(r"DEF-\d{4}", laptop.asset_tag)
    assert laptop.status == Status.INTAKE
    assert laptop.serial_number == "AB12CD"
    (history,) = laptop.status_changes.all()
    assert (history.from_status, history.to_status) == ("", Status.INTAKE)
    assert history.changed_by == alice


def _inline_management_data(response):
    """The management forms of the read-only inlines, as the browser would send them."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{inline.formset.prefix}-{name}"] = management.initial.get(name, "")
    return data


def test_editing_a_laptop_in_the_admin_never_touches_its_lifecycle(client, alice, laptop):
    client.force_login(alice)
    url = reverse("admin:inventory_laptop_change", args=[laptop.pk])
    response = client.get(url)
    form = response.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(_inline_management_data(response))
    data.update(
        brand="Lenovo ",
        model="ThinkPad T490",
        # Sent by hand: the form has no such fields and ignores them.
        status=Status.READY,
        asset_tag="DEF-9999",
        retirement_reason="parts",
        _save="Enregistrer",
    )
    data = {name: value for name, value in data.items() if value is not False}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    before = laptop.asset_tag
    laptop.refresh_from_db()
    assert laptop.model == "ThinkPad T490"
    assert (laptop.asset_tag, laptop.status, laptop.retirement_reason) == (
        before,
        Status.REFURBISHING,
        "",
    )
    assert laptop.status_changes.count() == 2


def test_laptops_cannot_be_deleted_from_the_admin(client, root, laptop):
    client.force_login(root)
    assert client.get(reverse("admin:inventory_laptop_delete", args=[laptop.pk])).status_code == 403
    actions = client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert "delete_selected" not in dict(actions)


def _act(client, action, laptops, **data):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [laptop.pk for laptop in laptops], **data},
    )


def test_the_status_action_offers_the_workshop_moves_only(client, alice):
    laptops = [make_laptop(by=alice) for _ in range(2)]
    client.force_login(alice)
    response = _act(client, "change_status", laptops)
    assert response.status_code == 200
    choices = [value for value, _label in response.context["form"].fields["to_status"].choices]
    assert choices == ["refurbishing", "in_repair", "ready"]
    page = response.content.decode()
    assert 'value="reserved"' not in page and 'value="on_loan"' not in page
    for laptop in laptops:
        assert laptop.asset_tag in page

    response = _act(client, "change_status", laptops, apply="1", to_status=Status.RESERVED)
    assert response.status_code == 200
    assert response.context["form"].errors["to_status"]
    assert set(Laptop.objects.values_list("status", flat=True)) == {Status.INTAKE}


def test_the_status_action_moves_laptops_through_the_service(client, alice):
    laptops = [make_laptop(by=alice) for _ in range(3)]
    client.force_login(alice)
    response = _act(
        client,
        "change_status",
        laptops,
        apply="1",
        to_status=Status.REFURBISHING,
        note="Lot du 12 mars",
    )
    assert response.status_code == 302
    assert set(Laptop.objects.values_list("status", flat=True)) == {Status.REFURBISHING}
    moves = LaptopStatusChange.objects.filter(to_status=Status.REFURBISHING)
    assert moves.count() == 3
    assert {(m.from_status, m.changed_by, m.note) for m in moves} == {
        (Status.INTAKE, alice, "Lot du 12 mars")
    }
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "3 ordinateurs passés en « En reconditionnement »."
    ]


def test_a_refused_bulk_move_changes_nothing_and_names_every_refused_laptop(client, alice):
    wiped = make_laptop(by=alice, status=Status.REFURBISHING)
    wipe(wiped, by=alice)
    not_wiped = make_laptop(by=alice, status=Status.REFURBISHING)
    on_loan = make_laptop(by=alice, status=Status.ON_LOAN)
    history = LaptopStatusChange.objects.count()
    client.force_login(alice)

    response = _act(
        client, "change_status", [wiped, not_wiped, on_loan], apply="1", to_status=Status.READY
    )
    assert response.status_code == 302
    sent = list(get_messages(response.wsgi_request))
    assert {m.level for m in sent} == {messages.ERROR}
    shown = [str(m) for m in sent]
    assert shown[0] == "Aucun ordinateur n’a été déplacé, à cause de ces ordinateurs :"
    assert len(shown) == 3
    assert any(not_wiped.asset_tag in m and "effacement" in m for m in shown)
    assert any(on_loan.asset_tag in m and "En prêt" in m for m in shown)
    assert not any(wiped.asset_tag in m for m in shown)

    statuses = dict(Laptop.objects.values_list("pk", "status"))
    assert statuses == {
        wiped.pk: Status.REFURBISHING,
        not_wiped.pk: Status.REFURBISHING,
        on_loan.pk: Status.ON_LOAN,
    }
    assert LaptopStatusChange.objects.count() == history


def test_print_labels_sends_the_chosen_laptops_to_the_labels_sorted(client, alice):
    laptops = [make_laptop(by=alice) for _ in range(3)]
    client.force_login(alice)
    response = _act(client, "print_labels", reversed(laptops))
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert url.path == reverse("inventory:labels")
    assert parse_qs(url.query) == {"laptop": [str(laptop.pk) for laptop in laptops]}
    assert url.query == "&".join(f"laptop={laptop.pk}" for laptop in laptops)


def test_wipes_and_repairs_are_listed_searched_and_never_added_or_deleted(client, alice, laptop):
    other = make_laptop(by=alice, status=Status.REFURBISHING)
    wipe(other, by=alice)
    client.force_login(alice)
    for model in ("wiperecord", "repair"):
        changelist = reverse(f"admin:inventory_{model}_changelist")
        found = client.get(changelist, {"q": laptop.asset_tag}).context["cl"].result_list
        assert [record.laptop for record in found] == [laptop]
        assert client.get(reverse(f"admin:inventory_{model}_add")).status_code == 403
    wipe_record = laptop.wipes.get()
    url = reverse("admin:inventory_wiperecord_delete", args=[wipe_record.pk])
    assert client.get(url).status_code == 403


def test_a_wipe_keeps_what_the_wipe_rule_relies_on(client, alice, laptop):
    wipe_record = laptop.wipes.get()
    client.force_login(alice)
    url = reverse("admin:inventory_wiperecord_change", args=[wipe_record.pk])
    form = client.get(url).context["adminform"].form
    assert set(form.fields) == {"certificate_reference", "notes"}
    yesterday = timezone.localdate() - timedelta(days=1)
    response = client.post(
        url, {"certificate_reference": "SHRED-42", "wiped_on": yesterday, "verified": ""}
    )
    assert response.status_code == 302
    wipe_record.refresh_from_db()
    assert wipe_record.certificate_reference == "SHRED-42"
    assert (wipe_record.wiped_on, wipe_record.verified) == (timezone.localdate(), True)


def test_a_donation_added_in_the_admin_records_who_entered_it(client, alice):
    donor = DonationFactory().donor
    client.force_login(alice)
    response = client.post(
        reverse("admin:inventory_donation_add"),
        {
            "donor": donor.pk,
            "received_on": timezone.localdate().isoformat(),
            "laptops_announced": 5,
            "_save": "Enregistrer",
        },
    )
    assert response.status_code == 302
    assert donor.donations.latest("pk").recorded_by == alice
