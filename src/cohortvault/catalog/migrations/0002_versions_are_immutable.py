"""Make dictionary versions immutable at the database level.

PostgreSQL refuses UPDATE and DELETE of versions; SQLite refuses UPDATE (its test-suite flush
empties tables with DELETE, as for the audit trail).
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION catalog_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'data dictionary versions are immutable';
END $$;
CREATE TRIGGER catalog_version_immutable BEFORE UPDATE OR DELETE ON catalog_dictionaryversion
  FOR EACH ROW EXECUTE FUNCTION catalog_version_immutable();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS catalog_version_immutable ON catalog_dictionaryversion;
DROP FUNCTION IF EXISTS catalog_version_immutable();
"""
SQLITE_FORWARD = """
CREATE TRIGGER catalog_version_no_update BEFORE UPDATE ON catalog_dictionaryversion
BEGIN SELECT RAISE(ABORT, 'data dictionary versions are immutable'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS catalog_version_no_update;"


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
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
