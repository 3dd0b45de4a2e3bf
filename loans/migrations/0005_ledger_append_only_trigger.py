"""On PostgreSQL, the ledger refuses UPDATE and DELETE even from raw SQL: a line is written
once, and a mistake is corrected by a reversal (DESIGN.md: Money).

TRUNCATE is left alone: it is how the test suite empties its database between transactional
tests, and it needs the table owner's rights, which the application's role need not have.
SQLite has no such guard here; the model and its queryset refuse there too, and CI runs the
suite on PostgreSQL, where this trigger is tested.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION loans_feeentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'loans_feeentry is append-only: % refused, record a reversal instead', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER loans_feeentry_append_only
    BEFORE UPDATE OR DELETE ON loans_feeentry
    FOR EACH ROW EXECUTE FUNCTION loans_feeentry_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS loans_feeentry_append_only ON loans_feeentry;
DROP FUNCTION IF EXISTS loans_feeentry_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("loans", "0004_money")]

    operations = [migrations.RunPython(create, drop)]
