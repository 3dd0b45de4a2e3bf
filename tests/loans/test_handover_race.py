"""Two handovers of one laptop at the same moment: exactly one succeeds, the other is told
why (PostgreSQL, real transactions)."""

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from inventory.models import Laptop, LaptopStatusChange
from loans import lending
from loans.models import Loan, LoanEvent
from tests.factories import StaffFactory, make_loan

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks between concurrent transactions need PostgreSQL (CI runs it)",
)

ATTEMPTS = 4


@pytest.mark.django_db(transaction=True)
def test_two_handovers_of_one_laptop_at_once_give_one_loan_and_a_clear_refusal():
    staff = StaffFactory()
    loan = make_loan(by=staff)
    start = threading.Barrier(ATTEMPTS)
    done, refused, other = [], [], []

    def hand_over():
        try:
            # Connected before the start line, so the handovers really overlap.
            connection.ensure_connection()
            start.wait()
            lending.loan_hand_over(
                loan=Loan.objects.get(pk=loan.pk), on=timezone.localdate(), by=staff
            )
            done.append(True)
        except lending.LoanError as error:
            refused.append(error)
        except Exception as error:  # reported below
            other.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hand_over) for _ in range(ATTEMPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert other == []
    assert len(done) == 1
    assert len(refused) == ATTEMPTS - 1
    for error in refused:
        assert [item.code for item in error.error_list] == ["already_handed_over"]
        assert loan.number in error.messages[0]
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE
    assert loan.events.filter(kind=LoanEvent.Kind.HANDED_OVER).count() == 1
    laptop = Laptop.objects.get(pk=loan.laptop_id)
    assert laptop.status == Laptop.Status.ON_LOAN
    assert LaptopStatusChange.objects.filter(laptop=laptop, to_status="on_loan").count() == 1
    with loan.agreement_pdf.open("rb") as file:
        assert file.read(5) == b"%PDF-"
