"""On PostgreSQL, the ledger's trigger (migration 0005) allows one UPDATE, and only one: the
anonymisation emptying the free text of a line (its reference and its reason, which may name
the person), through `FeeEntry.objects.scrub_free_text()`.

An UPDATE goes through only when all of these hold, else it is refused as before:

- the transaction asked for it: `SET LOCAL defis.scrub_free_text = 'on'` (unset, or set in
  another transaction, it is refused);
- the new reference and reason are empty;
- every other column is unchanged (`COLUMNS` below: all the columns of `loans_feeentry` at
  this migration; tests/loans/test_ledger_postgresql.py fails when the model gains a column
  this list lacks, so that a new migration adds it).

DELETE is refused always.
"""

from django.db import migrations

# Every column of loans_feeentry but the free text: none may change.
COLUMNS = (
    "id",
    "loan_id",
    "kind",
    "amount",
    "period",
    "entry_date",
    "envelope_id",
    "envelope_amount",
    "method",
    "reverses_id",
    "received_by_id",
    "recorded_by_id",
    "recorded_at",
)
SCRUBBED = ("reference", "reason")

UNCHANGED = "\n        ".join(
    f"AND NEW.{column} IS NOT DISTINCT FROM OLD.{column}" for column in COLUMNS
)
EMPTIED = "\n        ".join(f"AND NEW.{column} IS NOT DISTINCT FROM ''" for column in SCRUBBED)

SCRUB_ALLOWED = f"""
CREATE OR REPLACE FUNCTION loans_feeentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND current_setting('defis.scrub_free_text', true) IS NOT DISTINCT FROM 'on'
        {EMPTIED}
        {UNCHANGED}
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'loans_feeentry is append-only: % refused, record a reversal instead', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""

# Migration 0005's function: every UPDATE and DELETE refused.
ALWAYS_REFUSED = """
CREATE OR REPLACE FUNCTION loans_feeentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'loans_feeentry is append-only: % refused, record a reversal instead', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def allow_scrub(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SCRUB_ALLOWED, params=None)


def refuse_all(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALWAYS_REFUSED, params=None)


class Migration(migrations.Migration):
    dependencies = [("loans", "0008_history")]

    operations = [migrations.RunPython(allow_scrub, refuse_all)]
