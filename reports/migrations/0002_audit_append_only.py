"""Make the audit log append-only in the database itself (SECURITY.md promise 5).

PostgreSQL refuses UPDATE and DELETE of rows (TRUNCATE, which only the test runner's flush
uses, stays possible). SQLite refuses UPDATE; its flush deletes rows, so DELETE is refused by
the model layer there.
"""
from __future__ import annotations

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION reports_accessevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'reports_accessevent is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reports_accessevent_no_update BEFORE UPDATE OR DELETE ON reports_accessevent
    FOR EACH ROW EXECUTE FUNCTION reports_accessevent_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS reports_accessevent_no_update ON reports_accessevent;
DROP FUNCTION IF EXISTS reports_accessevent_append_only();
"""
SQLITE_FORWARD = """
CREATE TRIGGER reports_accessevent_no_update BEFORE UPDATE ON reports_accessevent
BEGIN SELECT RAISE(ABORT, 'reports_accessevent is append-only'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS reports_accessevent_no_update;"


def forward(apps, schema_editor) -> None:
    sql = {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


def backward(apps, schema_editor) -> None:
    sql = {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
