"""The ledger under PostgreSQL: billing runs at the same moment, and raw SQL that would
rewrite history (real transactions; CI runs these on PostgreSQL)."""

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from loans import ledger
from loans.models import FeeEntry
from tests.factories import CourseFactory, StaffFactory, TraineeFactory, make_loan

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent transactions and the ledger's trigger need PostgreSQL (CI runs it)",
)

RUNS = 4


def some_loans(count: int):
    staff = StaffFactory()
    today = timezone.localdate()
    course = CourseFactory(start_date=today, end_date=today + timedelta(days=150))
    return [
        make_loan(TraineeFactory(course=course), by=staff, status="active") for _ in range(count)
    ]


@pytest.mark.django_db(transaction=True)
def test_two_billing_runs_at_once_give_one_ledger():
    loans = some_loans(5)
    until = timezone.localdate() + timedelta(days=100)  # periods 2 to 4 of each loan
    start = threading.Barrier(RUNS)
    written, errors = [], []

    def run():
        try:
            connection.ensure_connection()
            start.wait()
            written.append(ledger.bill_fees(until=until))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    rows = list(FeeEntry.objects.values_list("loan_id", "period"))
    assert len(rows) == len(set(rows)) == 5 * 4
    assert {loan.pk for loan in loans} == {loan_id for loan_id, _period in rows}
    assert ledger.bill_fees(until=until) == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE loans_feeentry SET amount = 0.01 WHERE id = %s",
        "DELETE FROM loans_feeentry WHERE id = %s",
    ],
)
def test_raw_sql_cannot_rewrite_or_delete_a_ledger_line(statement):
    (loan,) = some_loans(1)
    line = FeeEntry.objects.get(loan=loan)

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [line.pk])

    assert FeeEntry.objects.filter(pk=line.pk, amount=line.amount).exists()


@pytest.mark.django_db(transaction=True)
def test_the_trigger_still_lets_new_lines_in():
    (loan,) = some_loans(1)
    ledger.payment_record(
        loan=loan, amount="7", method="cash", paid_on=timezone.localdate(), by=loan.prepared_by
    )
    assert FeeEntry.objects.filter(loan=loan).count() == 2
