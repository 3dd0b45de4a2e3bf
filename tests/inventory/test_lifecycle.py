"""The laptop lifecycle of DESIGN.md, as inventory.services enforces it."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory import services
from inventory.models import Laptop, LaptopStatusChange
from tests.factories import make_laptop, wipe

Status = Laptop.Status

ALLOWED = {
    (Status.INTAKE, Status.REFURBISHING),
    (Status.INTAKE, Status.IN_REPAIR),
    (Status.INTAKE, Status.RETIRED),
    (Status.REFURBISHING, Status.READY),
    (Status.REFURBISHING, Status.IN_REPAIR),
    (Status.REFURBISHING, Status.RETIRED),
    (Status.READY, Status.RESERVED),
    (Status.READY, Status.REFURBISHING),
    (Status.READY, Status.IN_REPAIR),
    (Status.READY, Status.RETIRED),
    (Status.RESERVED, Status.ON_LOAN),
    (Status.RESERVED, Status.READY),
    (Status.ON_LOAN, Status.RETURNED),
    (Status.ON_LOAN, Status.LOST),
    (Status.ON_LOAN, Status.STOLEN),
    (Status.RETURNED, Status.REFURBISHING),
    (Status.RETURNED, Status.READY),
    (Status.RETURNED, Status.IN_REPAIR),
    (Status.RETURNED, Status.RETIRED),
    (Status.IN_REPAIR, Status.REFURBISHING),
    (Status.IN_REPAIR, Status.READY),
    (Status.IN_REPAIR, Status.RETIRED),
    (Status.LOST, Status.RETURNED),
    (Status.STOLEN, Status.RETURNED),
}
ALL_MOVES = [(a, b) for a in Status for b in Status if a != b]


def test_the_transition_table_is_the_one_of_the_design():
    table = {(a, b) for a, targets in Laptop.TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


def _move(laptop, to_status, by):
    if to_status == Status.RETIRED:
        return services.laptop_retire(laptop=laptop, reason="parts", by=by)
    return services.laptop_change_status(laptop=laptop, to_status=to_status, by=by, note="test")


@pytest.mark.parametrize(("from_status", "to_status"), sorted(ALLOWED))
def test_it_makes_every_allowed_move_and_writes_a_history_row(alice, from_status, to_status):
    laptop = make_laptop(status=from_status, by=alice)
    if to_status == Status.READY and laptop.is_in_workshop:
        wipe(laptop, by=alice)
    rows_before = laptop.status_changes.count()

    moved = _move(laptop, to_status, alice)

    laptop.refresh_from_db()
    assert laptop.status == to_status == moved.status
    assert laptop.status_changes.count() == rows_before + 1
    last = laptop.status_changes.first()
    assert (last.from_status, last.to_status, last.changed_by) == (from_status, to_status, alice)


@pytest.mark.parametrize(("from_status", "to_status"), [m for m in ALL_MOVES if m not in ALLOWED])
def test_it_refuses_every_forbidden_move_and_changes_nothing(alice, from_status, to_status):
    laptop = make_laptop(status=from_status, by=alice)
    rows_before = laptop.status_changes.count()

    with pytest.raises(services.LaptopMoveError) as refused:
        _move(laptop, to_status, alice)

    assert "ne peut pas passer" in refused.value.messages[0]
    laptop.refresh_from_db()
    assert laptop.status == from_status
    assert laptop.status_changes.count() == rows_before


def test_a_returned_laptop_needs_a_wipe_recorded_after_its_return(alice):
    laptop = make_laptop(status=Status.RETURNED, by=alice)  # wiped once, before its loan

    with pytest.raises(services.LaptopMoveError) as refused:
        _move(laptop, Status.READY, alice)
    assert "aucun effacement vérifié" in refused.value.messages[0]
    assert "depuis son retour" in refused.value.messages[0]

    wipe(laptop, by=alice)
    assert _move(laptop, Status.READY, alice).status == Status.READY


def test_an_unverified_wipe_does_not_count(alice):
    laptop = make_laptop(status=Status.REFURBISHING, by=alice)
    wipe(laptop, by=alice, verified=False)

    with pytest.raises(services.LaptopMoveError):
        _move(laptop, Status.READY, alice)


def test_a_donated_laptop_is_wiped_before_its_first_loan(alice):
    laptop = make_laptop(status=Status.REFURBISHING, by=alice)

    with pytest.raises(services.LaptopMoveError) as refused:
        _move(laptop, Status.READY, alice)
    assert "depuis son arrivée" in refused.value.messages[0]


def test_a_wipe_dated_before_the_return_does_not_count(alice):
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        laptop = make_laptop(status=Status.RETURNED, by=alice)
    # Recorded today, but the work it describes was done before the laptop came back.
    wipe(laptop, by=alice, wiped_on=timezone.localdate() - timedelta(days=5))

    with pytest.raises(services.LaptopMoveError):
        _move(laptop, Status.READY, alice)


def test_a_wipe_recorded_before_the_return_does_not_count(alice):
    laptop = make_laptop(status=Status.ON_LOAN, by=alice)
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        services.laptop_change_status(laptop=laptop, to_status=Status.RETURNED, by=alice)
        with pytest.raises(services.LaptopMoveError):
            _move(laptop, Status.READY, alice)


def test_wipes_and_repairs_are_refused_outside_the_workshop(alice):
    laptop = make_laptop(status=Status.ON_LOAN, by=alice)

    with pytest.raises(services.LaptopMoveError) as refused:
        wipe(laptop, by=alice)
    assert "atelier" in refused.value.messages[0]
    assert laptop.wipes.count() == 1  # the one before its loan


def test_a_future_wipe_date_is_refused(alice):
    laptop = make_laptop(status=Status.REFURBISHING, by=alice)
    with pytest.raises(services.LaptopMoveError):
        wipe(laptop, by=alice, wiped_on=timezone.localdate() + timedelta(days=1))


def test_retirement_needs_a_known_reason(alice):
    laptop = make_laptop(status=Status.REFURBISHING, by=alice)

    with pytest.raises(services.LaptopMoveError):
        services.laptop_retire(laptop=laptop, reason="", by=alice)
    with pytest.raises(services.LaptopMoveError):
        services.laptop_change_status(laptop=laptop, to_status=Status.RETIRED, by=alice)

    services.laptop_retire(laptop=laptop, reason="donated_on", by=alice, note="Emmaüs")
    laptop.refresh_from_db()
    assert laptop.retirement_reason == "donated_on"
    assert laptop.status_changes.first().note == "Donné à une autre structure. Emmaüs"


def test_a_bulk_move_is_all_or_nothing_and_names_every_laptop_refused(alice):
    fine = make_laptop(status=Status.INTAKE, by=alice)
    on_loan = make_laptop(status=Status.ON_LOAN, by=alice)
    retired = make_laptop(status=Status.RETIRED, by=alice)

    with pytest.raises(services.LaptopMoveError) as refused:
        services.laptops_change_status(
            laptops=[fine, on_loan, retired], to_status=Status.REFURBISHING, by=alice
        )

    text = " ".join(refused.value.messages)
    assert on_loan.asset_tag in text and retired.asset_tag in text
    assert fine.asset_tag not in text
    fine.refresh_from_db()
    assert fine.status == Status.INTAKE


def test_a_bulk_move_moves_them_all(alice):
    laptops = [make_laptop(by=alice) for _ in range(3)]
    services.laptops_change_status(laptops=laptops, to_status=Status.REFURBISHING, by=alice)
    assert set(Laptop.objects.values_list("status", flat=True)) == {Status.REFURBISHING}
    assert LaptopStatusChange.objects.filter(to_status=Status.REFURBISHING).count() == 3


def test_the_status_cannot_be_changed_by_a_form_or_the_admin():
    field = Laptop._meta.get_field("status")
    assert field.editable is False


def test_asset_tags_follow_on_and_skip_tags_already_used(alice):
    first = make_laptop(by=alice)
    Laptop.objects.filter(pk=first.pk).update(asset_tag="DEF-0002")
    second, third = services.laptops_register(
        laptops=[Laptop(brand="Dell", model="Latitude 5490"), Laptop(brand="HP", model="840")],
        by=alice,
    )
    assert (second.asset_tag, third.asset_tag) == ("DEF-0003", "DEF-0004")


def test_serial_numbers_are_unique_when_present(alice):
    make_laptop(by=alice, serial_number="PF1ABC23")

    with pytest.raises(ValidationError) as refused:
        make_laptop(by=alice, serial_number="pf1abc23 ")
    assert "numéro de série" in str(refused.value)

    make_laptop(by=alice, serial_number="")
    make_laptop(by=alice, serial_number="")
    assert Laptop.objects.filter(serial_number="").count() == 2


def test_the_database_refuses_a_duplicate_serial_even_without_validation(alice):
    laptop = make_laptop(by=alice, serial_number="PF1ABC23")
    with pytest.raises(IntegrityError), transaction.atomic():
        Laptop.objects.create(asset_tag="DEF-9999", brand="X", model="Y", serial_number="PF1ABC23")
    assert Laptop.objects.get(serial_number="PF1ABC23") == laptop


def test_a_donation_with_a_bad_laptop_saves_nothing(alice):
    from tests.factories import DonorFactory

    donor = DonorFactory()
    make_laptop(by=alice, serial_number="DUP1")
    with pytest.raises(ValidationError):
        services.donation_record(
            donor=donor,
            received_on=timezone.localdate(),
            laptops=[
                Laptop(brand="Dell", model="Latitude", serial_number="NEW1"),
                Laptop(brand="Dell", model="Latitude", serial_number="DUP1"),
            ],
            by=alice,
        )
    assert donor.donations.count() == 0
    assert not Laptop.objects.filter(serial_number="NEW1").exists()


def test_a_reserved_laptop_is_not_freed_by_a_bulk_move_or_the_laptop_page(alice):
    """Its request holds it: only a rejection or a cancellation frees it."""
    reserved = make_laptop(status=Status.RESERVED, by=alice)
    assert reserved.workshop_moves() == []

    with pytest.raises(services.LaptopMoveError) as refused:
        services.laptops_change_status(laptops=[reserved], to_status=Status.READY, by=alice)

    assert refused.value.messages == [
        f"{reserved.asset_tag} est « Réservé » : il change de statut avec sa demande ou son prêt."
    ]
    reserved.refresh_from_db()
    assert reserved.status == Status.RESERVED
