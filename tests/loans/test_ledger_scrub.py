"""The ledger's one allowed write: the anonymisation empties the free text of its lines (their
reference and reason), and nothing else (FeeEntry.objects.scrub_free_text; on PostgreSQL, the
trigger of migrations 0005 and 0009)."""

import importlib

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from loans import ledger
from loans.models import FeeEntry, LedgerIsAppendOnly
from tests.factories import CourseFactory, StaffFactory, TraineeFactory, make_loan

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the ledger's trigger needs PostgreSQL (CI runs it)",
)
SCRUB_ON = "SET LOCAL defis.scrub_free_text = 'on'"


def a_paid_loan(reference="Chèque Kerbrat n°1234", reason="Léa Kerbrat hospitalisée"):
    """A loan handed over today (one month charged, 7 €): half paid by a cheque with its
    reference, half waived with a reason."""
    staff = StaffFactory()
    loan = make_loan(TraineeFactory(course=CourseFactory()), by=staff, status="active")
    ledger.payment_record(
        loan=loan,
        amount="3.50",
        method=FeeEntry.Method.CHEQUE,
        paid_on=timezone.localdate(),
        by=staff,
        reference=reference,
    )
    ledger.waiver_record(loan=loan, amount="3.50", reason=reason, by=staff)
    return loan


def rows(**filters):
    return list(FeeEntry.objects.filter(**filters).order_by("pk").values())


def test_scrub_empties_the_reference_and_the_reason_only():
    loan = a_paid_loan()
    other = a_paid_loan(reference="Chèque Le Bihan", reason="Yann Le Bihan malade")
    before, others = rows(loan=loan), rows(loan=other)

    assert FeeEntry.objects.filter(loan=loan).scrub_free_text() == 2

    after = rows(loan=loan)
    assert after == [{**row, "reference": "", "reason": ""} for row in before]
    assert rows(loan=other) == others
    # Nothing left to empty: nothing written.
    assert FeeEntry.objects.filter(loan=loan).scrub_free_text() == 0


def test_the_ledger_stays_append_only_otherwise():
    loan = a_paid_loan()
    with pytest.raises(LedgerIsAppendOnly):
        FeeEntry.objects.filter(loan=loan).update(reference="")
    line = FeeEntry.objects.filter(loan=loan).first()
    line.reference = ""
    with pytest.raises(LedgerIsAppendOnly):
        line.save()


def test_the_trigger_checks_every_column_of_the_model():
    """Migration 0009's trigger lets a scrub through only when every other column is
    unchanged: a column added to FeeEntry later must be added to it, by a new migration."""
    migration = importlib.import_module("loans.migrations.0009_ledger_free_text_scrub")
    columns = {field.column for field in FeeEntry._meta.concrete_fields}
    assert set(migration.SCRUBBED) == {"reference", "reason"}
    assert set(migration.COLUMNS) == columns - set(migration.SCRUBBED)


# --- The trigger, on PostgreSQL -----------------------------------------------------------------


def raw(statement, params, *, scrub_on=True):
    """One statement in its own transaction, with the anonymisation's setting or without."""
    with transaction.atomic(), connection.cursor() as cursor:
        if scrub_on:
            cursor.execute(SCRUB_ON)
        cursor.execute(statement, params)


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "statement",
    [
        # Another column, even with the setting on.
        "UPDATE loans_feeentry SET amount = 0.01 WHERE id = %s",
        "UPDATE loans_feeentry SET reference = '', reason = '', amount = -0.01 WHERE id = %s",
        "UPDATE loans_feeentry SET reference = '', recorded_at = now() WHERE id = %s",
        # Free text rewritten rather than emptied.
        "UPDATE loans_feeentry SET reference = 'Chèque n°1' WHERE id = %s",
        "UPDATE loans_feeentry SET reason = 'x' WHERE id = %s",
        "DELETE FROM loans_feeentry WHERE id = %s",
    ],
)
def test_with_the_setting_on_only_emptying_the_free_text_goes_through(statement):
    loan = a_paid_loan()
    line = FeeEntry.objects.get(loan=loan, kind=FeeEntry.Kind.PAYMENT)
    before = rows(pk=line.pk)
    with pytest.raises(DatabaseError, match="append-only"):
        raw(statement, [line.pk])
    assert rows(pk=line.pk) == before


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_emptying_the_free_text_needs_the_setting():
    loan = a_paid_loan()
    line = FeeEntry.objects.get(loan=loan, kind=FeeEntry.Kind.PAYMENT)
    with pytest.raises(DatabaseError, match="append-only"):
        raw("UPDATE loans_feeentry SET reference = '' WHERE id = %s", [line.pk], scrub_on=False)
    assert FeeEntry.objects.get(pk=line.pk).reference == "Chèque Kerbrat n°1234"
    # With it, the same statement goes through.
    raw("UPDATE loans_feeentry SET reference = '' WHERE id = %s", [line.pk])
    assert FeeEntry.objects.get(pk=line.pk).reference == ""


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_scrub_works_and_switches_the_setting_off_again():
    loan = a_paid_loan()
    before = rows(loan=loan)
    with transaction.atomic():
        assert FeeEntry.objects.filter(loan=loan).scrub_free_text() == 2
        # Later in the same transaction, the trigger refuses again (an UPDATE it would let
        # through with the setting on: the free text, emptied).
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("UPDATE loans_feeentry SET reason = '' WHERE loan_id = %s", [loan.pk])
    assert rows(loan=loan) == [{**row, "reference": "", "reason": ""} for row in before]
    # The setting does not outlive its transaction either.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('defis.scrub_free_text', true)")
        assert cursor.fetchone()[0] in (None, "", "off")
