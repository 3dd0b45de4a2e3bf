"""The staff pages of the inventory."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory import services
from inventory.forms import LaptopForm
from inventory.models import Donation, Laptop, Repair, WipeRecord
from tests.factories import DonorFactory, LocationFactory, make_laptop, wipe

Status = Laptop.Status


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def staff_client(client, alice):
    client.force_login(alice)
    return client


# --- Access -------------------------------------------------------------------------------


def inventory_urls(laptop, donation):
    return [
        reverse("inventory:laptops"),
        reverse("inventory:laptop", args=[laptop.pk]),
        reverse("inventory:laptop_edit", args=[laptop.pk]),
        reverse("inventory:laptop_retire", args=[laptop.pk]),
        reverse("inventory:wipe_add", args=[laptop.pk]),
        reverse("inventory:repair_add", args=[laptop.pk]),
        reverse("inventory:donations"),
        reverse("inventory:donation", args=[donation.pk]),
        reverse("inventory:donation_new"),
        reverse("inventory:donor_new"),
        reverse("inventory:labels") + f"?laptop={laptop.pk}",
    ]


def test_coordinators_never_see_inventory_pages(client, alice, bob):
    laptop = make_laptop(by=alice)
    donation = Donation.objects.create(donor=DonorFactory(), received_on=timezone.localdate())
    client.force_login(bob)
    for url in inventory_urls(laptop, donation):
        assert client.get(url).status_code == 403, url
    for name in ("inventory:laptop_move",):
        response = client.post(reverse(name, args=[laptop.pk]), {"to_status": "refurbishing"})
        assert response.status_code == 403
    assert client.post(reverse("inventory:laptops_bulk"), {}).status_code == 403
    laptop.refresh_from_db()
    assert laptop.status == Status.INTAKE


def test_anonymous_visitors_are_sent_to_log_in(client, alice):
    laptop = make_laptop(by=alice)
    response = client.get(reverse("inventory:laptop", args=[laptop.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_staff_see_every_page(staff_client, alice):
    laptop = make_laptop(by=alice)
    donation = Donation.objects.create(donor=DonorFactory(), received_on=timezone.localdate())
    for url in inventory_urls(laptop, donation):
        assert staff_client.get(url).status_code == 200, url


def test_an_unknown_laptop_answers_404(staff_client):
    assert staff_client.get(reverse("inventory:laptop", args=[999])).status_code == 404


# --- List ---------------------------------------------------------------------------------


def test_the_list_filters_searches_and_counts_by_status(staff_client, alice):
    vannes = LocationFactory(name="Antenne de Vannes")
    make_laptop(by=alice, brand="Dell", model="Latitude 5490", serial_number="DL1")
    make_laptop(by=alice, brand="HP", model="EliteBook 840", status=Status.READY, location=vannes)
    make_laptop(by=alice, brand="HP", model="ProBook 650", status=Status.READY, grade="A")

    response = staff_client.get(reverse("inventory:laptops"), {"status": "ready"})
    assert [lt.model for lt in response.context["laptops"]] == ["EliteBook 840", "ProBook 650"]
    counts = {item["status"]: item["count"] for item in response.context["status_counts"]}
    assert counts["ready"] == 2 and counts["intake"] == 1 and counts["on_loan"] == 0

    response = staff_client.get(reverse("inventory:laptops"), {"q": "dl1"})
    assert [lt.brand for lt in response.context["laptops"]] == ["Dell"]
    response = staff_client.get(reverse("inventory:laptops"), {"q": "DEF-0002"})
    assert [lt.model for lt in response.context["laptops"]] == ["EliteBook 840"]
    response = staff_client.get(reverse("inventory:laptops"), {"location": vannes.pk})
    assert [lt.model for lt in response.context["laptops"]] == ["EliteBook 840"]
    response = staff_client.get(reverse("inventory:laptops"), {"grade": "A", "status": "ready"})
    assert [lt.model for lt in response.context["laptops"]] == ["ProBook 650"]


def test_a_bad_filter_value_shows_the_form_error_not_a_500(staff_client, alice):
    make_laptop(by=alice)
    response = staff_client.get(reverse("inventory:laptops"), {"status": "melted"})
    assert response.status_code == 200
    assert list(response.context["laptops"]) == []
    assert "status" in response.context["filter"].form.errors


def test_the_list_is_paginated(staff_client, alice):
    for _ in range(51):
        make_laptop(by=alice)
    response = staff_client.get(reverse("inventory:laptops"))
    assert len(response.context["laptops"]) == 50
    response = staff_client.get(reverse("inventory:laptops"), {"page": 2})
    assert len(response.context["laptops"]) == 1


def _bulk_laptops(count, location, donation):
    # Built directly: this test measures the page's queries, not the services.
    Laptop.objects.bulk_create(
        Laptop(
            asset_tag=f"DEF-{n:04d}",
            brand="Lenovo",
            model="ThinkPad T480",
            status=Status.READY if n % 2 else Status.REFURBISHING,
            location=location,
            donation=donation,
        )
        for n in range(Laptop.objects.count() + 1, Laptop.objects.count() + count + 1)
    )


def test_the_list_query_count_does_not_grow_with_the_laptops(staff_client):
    location = LocationFactory()
    donation = Donation.objects.create(donor=DonorFactory(), received_on=timezone.localdate())
    url = reverse("inventory:laptops")

    _bulk_laptops(10, location, donation)
    with CaptureQueriesContext(connection) as small:
        assert staff_client.get(url).status_code == 200
    _bulk_laptops(190, location, donation)
    with CaptureQueriesContext(connection) as large:
        assert staff_client.get(url).status_code == 200

    assert len(small) == len(large), "\n".join(q["sql"] for q in large.captured_queries)


# --- Laptop page and moves ----------------------------------------------------------------


def test_the_laptop_page_offers_only_the_moves_allowed_now(staff_client, alice):
    laptop = make_laptop(by=alice, status=Status.REFURBISHING)
    response = staff_client.get(laptop.get_absolute_url())
    assert [status for status, _label in response.context["moves"]] == ["ready", "in_repair"]
    html = response.content.decode()
    assert 'data-move="ready"' in html and 'data-move="refurbishing"' not in html
    assert reverse("inventory:laptop_retire", args=[laptop.pk]) in html

    on_loan = make_laptop(by=alice, status=Status.ON_LOAN)
    response = staff_client.get(on_loan.get_absolute_url())
    assert response.context["moves"] == []
    html = response.content.decode()
    assert reverse("inventory:laptop_retire", args=[on_loan.pk]) not in html
    assert reverse("inventory:wipe_add", args=[on_loan.pk]) not in html


def test_the_page_says_when_a_wipe_is_still_needed(staff_client, alice):
    laptop = make_laptop(by=alice, status=Status.RETURNED)
    assert "data-wipe-pending" in staff_client.get(laptop.get_absolute_url()).content.decode()
    wipe(laptop, by=alice)
    assert "data-wipe-pending" not in staff_client.get(laptop.get_absolute_url()).content.decode()


def test_a_move_from_the_page_changes_the_status_and_writes_history(staff_client, alice):
    laptop = make_laptop(by=alice)
    response = staff_client.post(
        reverse("inventory:laptop_move", args=[laptop.pk]),
        {"to_status": "refurbishing", "note": "Nettoyage"},
        follow=True,
    )
    laptop.refresh_from_db()
    assert laptop.status == Status.REFURBISHING
    change = laptop.status_changes.first()
    assert (change.to_status, change.note, change.changed_by) == (
        "refurbishing",
        "Nettoyage",
        alice,
    )
    assert "est maintenant « En reconditionnement »" in messages_of(response)[0]


def test_ready_without_a_wipe_is_refused_with_the_reason(staff_client, alice):
    laptop = make_laptop(by=alice, status=Status.REFURBISHING)
    response = staff_client.post(
        reverse("inventory:laptop_move", args=[laptop.pk]), {"to_status": "ready"}, follow=True
    )
    laptop.refresh_from_db()
    assert laptop.status == Status.REFURBISHING
    assert "aucun effacement vérifié" in messages_of(response)[0]


def test_a_loan_move_cannot_be_posted_from_the_page(staff_client, alice):
    laptop = make_laptop(by=alice, status=Status.READY)
    response = staff_client.post(
        reverse("inventory:laptop_move", args=[laptop.pk]), {"to_status": "reserved"}, follow=True
    )
    laptop.refresh_from_db()
    assert laptop.status == Status.READY
    assert messages_of(response) == [
        "Ce changement n’est pas possible pour cet ordinateur maintenant."
    ]


def test_a_move_needs_a_post(staff_client, alice):
    laptop = make_laptop(by=alice)
    response = staff_client.get(reverse("inventory:laptop_move", args=[laptop.pk]))
    assert response.status_code == 405


def test_retirement_with_a_reason(staff_client, alice):
    laptop = make_laptop(by=alice, status=Status.REFURBISHING)
    url = reverse("inventory:laptop_retire", args=[laptop.pk])

    response = staff_client.post(url, {"reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors

    staff_client.post(url, {"reason": "recycled", "note": "Bordereau 42"})
    laptop.refresh_from_db()
    assert (laptop.status, laptop.retirement_reason) == (Status.RETIRED, "recycled")
    assert laptop.status_changes.first().note == "Envoyé au recyclage. Bordereau 42"


def test_a_laptop_on_loan_cannot_be_retired(staff_client, alice):
    laptop = make_laptop(by=alice, status=Status.ON_LOAN)
    response = staff_client.post(
        reverse("inventory:laptop_retire", args=[laptop.pk]), {"reason": "parts"}
    )
    assert response.status_code == 302
    laptop.refresh_from_db()
    assert laptop.status == Status.ON_LOAN


def test_recording_a_wipe_then_ready(staff_client, alice):
    laptop = make_laptop(by=alice, status=Status.REFURBISHING)
    url = reverse("inventory:wipe_add", args=[laptop.pk])
    today = timezone.localdate()

    response = staff_client.post(url, {"wiped_on": today + timedelta(days=1), "method": "x"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"wiped_on", "method", "operator"}

    staff_client.post(
        url,
        {
            "wiped_on": today,
            "method": "nwipe_zero",
            "operator": alice.pk,
            "verified": "on",
            "certificate_reference": "NW-1",
        },
    )
    record = WipeRecord.objects.get(laptop=laptop)
    assert (record.operator, record.verified, record.certificate_reference) == (alice, True, "NW-1")
    staff_client.post(reverse("inventory:laptop_move", args=[laptop.pk]), {"to_status": "ready"})
    laptop.refresh_from_db()
    assert laptop.status == Status.READY


def test_a_coordinator_cannot_be_named_wipe_operator(staff_client, alice, bob):
    laptop = make_laptop(by=alice, status=Status.REFURBISHING)
    response = staff_client.post(
        reverse("inventory:wipe_add", args=[laptop.pk]),
        {"wiped_on": timezone.localdate(), "method": "nwipe_zero", "operator": bob.pk},
    )
    assert "operator" in response.context["form"].errors
    assert not WipeRecord.objects.exists()


def test_recording_a_repair(staff_client, alice):
    laptop = make_laptop(by=alice, status=Status.IN_REPAIR)
    url = reverse("inventory:repair_add", args=[laptop.pk])

    response = staff_client.post(url, {"repaired_on": "hier", "work_done": "", "cost": "-3"})
    assert set(response.context["form"].errors) >= {"repaired_on", "work_done", "cost"}

    staff_client.post(
        url,
        {
            "repaired_on": timezone.localdate(),
            "work_done": "Batterie remplacée",
            "parts": "Batterie 48 Wh",
            "cost": "39,90",
            "repaired_by": alice.pk,
        },
    )
    repair = Repair.objects.get(laptop=laptop)
    assert str(repair.cost) == "39.90"
    page = staff_client.get(laptop.get_absolute_url()).content.decode()
    assert "Batterie remplacée" in page and "39,90\xa0€" in page


def test_editing_the_details_keeps_the_status(staff_client, alice):
    laptop = make_laptop(by=alice, status=Status.REFURBISHING)
    url = reverse("inventory:laptop_edit", args=[laptop.pk])
    response = staff_client.get(url)
    assert "status" not in response.context["form"].fields
    response = staff_client.post(
        url,
        {
            "brand": "Lenovo",
            "model": "ThinkPad T480s",
            "keyboard_layout": "azerty_fr",
            "has_charger": "on",
            "status": "ready",
        },
    )
    assert response.status_code == 302
    laptop.refresh_from_db()
    assert (laptop.model, laptop.status) == ("ThinkPad T480s", Status.REFURBISHING)


# --- Bulk ---------------------------------------------------------------------------------


def test_bulk_labels_redirect_to_the_pdf_with_the_ticked_laptops(staff_client, alice):
    first, second = make_laptop(by=alice), make_laptop(by=alice)
    response = staff_client.post(
        reverse("inventory:laptops_bulk"), {"laptops": [second.pk, first.pk], "action": "labels"}
    )
    assert response.status_code == 302
    assert response["Location"] == (
        f"{reverse('inventory:labels')}?laptop={first.pk}&laptop={second.pk}"
    )


def test_bulk_labels_can_start_further_down_a_used_sheet(staff_client, alice):
    laptop = make_laptop(by=alice)
    url = reverse("inventory:laptops_bulk")
    response = staff_client.post(url, {"laptops": [laptop.pk], "action": "labels", "skip": "5"})
    assert response["Location"] == f"{reverse('inventory:labels')}?laptop={laptop.pk}&skip=5"
    response = staff_client.post(
        url, {"laptops": [laptop.pk], "action": "labels", "skip": "24"}, follow=True
    )
    assert response.redirect_chain[0][0] == reverse("inventory:laptops")
    assert "inférieure ou égale à 23" in messages_of(response)[0]


def test_bulk_move_is_all_or_nothing(staff_client, alice):
    fine = make_laptop(by=alice)
    on_loan = make_laptop(by=alice, status=Status.ON_LOAN)
    response = staff_client.post(
        reverse("inventory:laptops_bulk"),
        {"laptops": [fine.pk, on_loan.pk], "action": "refurbishing"},
        follow=True,
    )
    fine.refresh_from_db()
    assert fine.status == Status.INTAKE
    shown = messages_of(response)
    assert shown[0] == "Rien n’a été modifié :"
    assert on_loan.asset_tag in shown[1]

    staff_client.post(
        reverse("inventory:laptops_bulk"), {"laptops": [fine.pk], "action": "refurbishing"}
    )
    fine.refresh_from_db()
    assert fine.status == Status.REFURBISHING


def test_bulk_without_a_ticked_laptop_says_so(staff_client):
    response = staff_client.post(
        reverse("inventory:laptops_bulk"), {"action": "labels"}, follow=True
    )
    assert messages_of(response) == ["Cochez au moins un ordinateur."]


# --- Intake -------------------------------------------------------------------------------


def intake_data(donor, rows, **batch):
    data = {
        "donor": donor.pk,
        "received_on": timezone.localdate().isoformat(),
        "laptops_announced": "",
        "notes": "",
        "location": "",
        "laptops-TOTAL_FORMS": str(len(rows)),
        "laptops-INITIAL_FORMS": "0",
        "laptops-MIN_NUM_FORMS": "0",
        "laptops-MAX_NUM_FORMS": "1000",
        **batch,
    }
    for index, row in enumerate(rows):
        row = {"quantity": "1", "keyboard_layout": "azerty_fr", "has_charger": "on", **row}
        data.update({f"laptops-{index}-{name}": value for name, value in row.items()})
    return data


def test_an_intake_registers_several_laptops_with_tags_and_history(staff_client, alice):
    donor = DonorFactory(name="Kerhoël Logistique")
    location = LocationFactory()
    rows = [
        {"brand": "Dell", "model": "Latitude 5490", "serial_number": "7XK2P12", "grade": "B"},
        {"brand": "HP", "model": "ProBook 650 G4", "quantity": "2", "replacement_value": "240"},
        {},  # an untouched extra row is ignored
    ]
    response = staff_client.post(
        reverse("inventory:donation_new"),
        intake_data(donor, rows, location=location.pk, laptops_announced="4"),
        follow=True,
    )

    donation = Donation.objects.get()
    assert response.redirect_chain[-1][0] == donation.get_absolute_url()
    assert donation.laptops_announced == 4 and donation.recorded_by == alice
    laptops = list(donation.laptops.order_by("asset_tag"))
    assert [lt.asset_tag for lt in laptops] == ["DEF-0001", "DEF-0002", "DEF-0003"]
    assert [lt.model for lt in laptops] == ["Latitude 5490", "ProBook 650 G4", "ProBook 650 G4"]
    assert {lt.status for lt in laptops} == {Status.INTAKE}
    assert {lt.location for lt in laptops} == {location}
    assert all(lt.status_changes.get().note == "Reçu de Kerhoël Logistique" for lt in laptops)
    assert messages_of(response) == ["Don enregistré : 3 ordinateurs inscrits à l’inventaire."]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [{"brand": "Dell", "model": "X", "serial_number": "S1", "quantity": "2"}],
            "quantité de 1",
        ),
        (
            [
                {"brand": "Dell", "model": "X", "serial_number": "S1"},
                {"brand": "Dell", "model": "X", "serial_number": "s1"},
            ],
            "Les lignes 1 et 2 ont le même numéro de série S1.",
        ),
        ([{"brand": "", "model": "X"}], "Ce champ est obligatoire."),
        ([{"brand": "Dell", "model": "X", "ram_gb": "beaucoup"}], "Saisissez un nombre entier."),
        ([{"brand": "Dell", "model": "X", "serial_number": "TAKEN"}], "a déjà ce numéro de série"),
        ([{}], "Décrivez au moins un ordinateur."),
    ],
)
def test_a_bad_intake_saves_nothing_and_says_why(staff_client, alice, rows, expected):
    make_laptop(by=alice, serial_number="TAKEN")
    response = staff_client.post(
        reverse("inventory:donation_new"), intake_data(DonorFactory(), rows)
    )
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert Donation.objects.count() == 0
    assert Laptop.objects.count() == 1


def test_an_intake_in_the_future_is_refused(staff_client):
    data = intake_data(
        DonorFactory(),
        [{"brand": "Dell", "model": "X"}],
        received_on=(timezone.localdate() + timedelta(days=2)).isoformat(),
    )
    response = staff_client.post(reverse("inventory:donation_new"), data)
    assert "ne peut pas être dans le futur" in response.content.decode()
    assert not Laptop.objects.exists()


def test_a_new_donor_comes_back_to_the_intake_form_chosen(staff_client):
    response = staff_client.post(
        reverse("inventory:donor_new"), {"name": "Ville de Kerlann", "kind": "local_authority"}
    )
    donor_pk = Donation._meta.get_field("donor").related_model.objects.get().pk
    assert response["Location"] == f"{reverse('inventory:donation_new')}?donor={donor_pk}"
    page = staff_client.get(response["Location"])
    assert page.context["form"]["donor"].value() == str(donor_pk)


def test_the_donation_page_lists_its_laptops(staff_client, alice):
    donation = Donation.objects.create(donor=DonorFactory(), received_on=timezone.localdate())
    laptop = make_laptop(by=alice, donation=donation)
    other = make_laptop(by=alice)
    response = staff_client.get(donation.get_absolute_url())
    assert list(response.context["laptops"]) == [laptop]
    html = response.content.decode()
    assert laptop.asset_tag in html and other.asset_tag not in html


def test_an_id_too_large_for_the_database_is_refused_cleanly(staff_client):
    response = staff_client.post(
        reverse("inventory:laptops_bulk"),
        {"laptops": ["99999999999999999999999"], "action": "labels"},
        follow=True,
    )
    assert response.status_code == 200
    assert "n’est pas une valeur correcte" in messages_of(response)[0]


def test_editing_the_details_never_writes_back_a_status_changed_meanwhile(
    staff_client, alice, monkeypatch
):
    laptop = make_laptop(by=alice, status=Status.READY)
    original_clean = LaptopForm.clean

    def clean_while_someone_reserves_it(form):
        services.laptop_change_status(laptop=laptop, to_status=Status.RESERVED, by=alice)
        return original_clean(form)

    monkeypatch.setattr(LaptopForm, "clean", clean_while_someone_reserves_it)
    response = staff_client.post(
        reverse("inventory:laptop_edit", args=[laptop.pk]),
        {"brand": "Lenovo", "model": "ThinkPad T480s", "keyboard_layout": "azerty_fr"},
    )
    assert response.status_code == 302
    laptop.refresh_from_db()
    assert (laptop.model, laptop.status) == ("ThinkPad T480s", Status.RESERVED)
