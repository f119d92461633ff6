"""Make dataset versions immutable at the database level.

PostgreSQL refuses UPDATE and DELETE of versions; SQLite refuses UPDATE (its test-suite flush
empties tables with DELETE, as for the audit trail and the dictionary's versions).
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION datasets_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'dataset versions are immutable';
END $$;
CREATE TRIGGER datasets_version_immutable BEFORE UPDATE OR DELETE ON datasets_datasetversion
  FOR EACH ROW EXECUTE FUNCTION datasets_version_immutable();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS datasets_version_immutable ON datasets_datasetversion;
DROP FUNCTION IF EXISTS datasets_version_immutable();
"""
SQLITE_FORWARD = """
CREATE TRIGGER datasets_version_no_update BEFORE UPDATE ON datasets_datasetversion
BEGIN SELECT RAISE(ABORT, 'dataset versions are immutable'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS datasets_version_no_update;"


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("datasets", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
