"""Two intakes at the same moment never share an asset tag (PostgreSQL, real transactions)."""

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from inventory import services
from inventory.models import Laptop
from tests.factories import DonorFactory, StaffFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks between concurrent transactions need PostgreSQL (CI runs it)",
)

INTAKES = 6
LAPTOPS_PER_INTAKE = 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_intakes_never_duplicate_an_asset_tag():
    staff = StaffFactory()
    donor = DonorFactory()
    start = threading.Barrier(INTAKES)
    errors = []

    def intake():
        try:
            # Connected before the start line, so the intakes really overlap.
            connection.ensure_connection()
            start.wait()
            services.donation_record(
                donor=donor,
                received_on=timezone.localdate(),
                laptops=[Laptop(brand="Dell", model="Latitude") for _ in range(LAPTOPS_PER_INTAKE)],
                by=staff,
            )
        except Exception as error:  # reported below, with the thread's own error
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=intake) for _ in range(INTAKES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    tags = list(Laptop.objects.values_list("asset_tag", flat=True))
    assert len(tags) == INTAKES * LAPTOPS_PER_INTAKE
    assert sorted(tags) == [f"DEF-{n:04d}" for n in range(1, INTAKES * LAPTOPS_PER_INTAKE + 1)]
