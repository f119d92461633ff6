"""Versions name the ticket a correction resolved, and may be redacted once: a withdrawn
subject's rows erased (the only change the triggers let through)."""

from django.db import migrations, models

COLUMNS = (
    "id", "dataset_id", "number", "columns", "column_names", "dictionary_version",
    "import_id", "reason", "source", "created_by", "created_at", "ticket",
)
NEW = ", ".join(f"NEW.{c}" for c in COLUMNS)
OLD = ", ".join(f"OLD.{c}" for c in COLUMNS)
PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION datasets_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.redacted_at IS NOT NULL AND NEW.rows <= OLD.rows
     AND ({NEW}) IS NOT DISTINCT FROM ({OLD}) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'dataset versions are immutable';
END $$;
"""
PG_BACKWARD = """
CREATE OR REPLACE FUNCTION datasets_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'dataset versions are immutable';
END $$;
"""
SAME = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in COLUMNS)
SQLITE_FORWARD = [
    "DROP TRIGGER IF EXISTS datasets_version_no_update;",
    f"""CREATE TRIGGER datasets_version_no_update BEFORE UPDATE ON datasets_datasetversion
WHEN NOT (NEW.redacted_at IS NOT NULL AND NEW.rows <= OLD.rows AND {SAME})
BEGIN SELECT RAISE(ABORT, 'dataset versions are immutable'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS datasets_version_no_update;",
    """CREATE TRIGGER datasets_version_no_update BEFORE UPDATE ON datasets_datasetversion
BEGIN SELECT RAISE(ABORT, 'dataset versions are immutable'); END;""",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("datasets", "0002_versions_are_immutable")]
    operations = [
        migrations.AddField(
            model_name="datasetversion",
            name="ticket",
            field=models.PositiveIntegerField(
                blank=True, help_text="The error ticket a correction resolved.", null=True
            ),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="redacted_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When rows of subjects who withdrew consent were erased from it (its "
                "blob, rows and checksum are then those of the redacted content).",
                null=True,
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
