"""Make frozen cohorts immutable in the database itself, as the audit log is (reports 0002).

CohortStudy rows refuse every UPDATE and DELETE on PostgreSQL (TRUNCATE, which only the test
runner's flush uses, stays possible). A Cohort refuses DELETE and any UPDATE of its content;
only `created_by` and `job` may be set to NULL, which is what Django's SET_NULL does when that
user or job is deleted. SQLite gets the UPDATE triggers only: its flush deletes rows, so DELETE
is refused by the model layer there.
"""
from __future__ import annotations

from django.db import migrations

CONTENT = ("protocol_id", "name", "version", "labels", "params", "sha256", "export_sha256",
           "study_count", "splits", "summary", "created_at")

PG_FORWARD = f"""
CREATE OR REPLACE FUNCTION training_cohortstudy_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'training_cohortstudy rows are immutable';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER training_cohortstudy_immutable BEFORE UPDATE OR DELETE ON training_cohortstudy
    FOR EACH ROW EXECUTE FUNCTION training_cohortstudy_immutable();
CREATE OR REPLACE FUNCTION training_cohort_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR {" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in CONTENT)} THEN
        RAISE EXCEPTION 'training_cohort rows are immutable';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER training_cohort_immutable BEFORE UPDATE OR DELETE ON training_cohort
    FOR EACH ROW EXECUTE FUNCTION training_cohort_immutable();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS training_cohortstudy_immutable ON training_cohortstudy;
DROP FUNCTION IF EXISTS training_cohortstudy_immutable();
DROP TRIGGER IF EXISTS training_cohort_immutable ON training_cohort;
DROP FUNCTION IF EXISTS training_cohort_immutable();
"""
SQLITE_FORWARD = [
    """
CREATE TRIGGER training_cohortstudy_immutable BEFORE UPDATE ON training_cohortstudy
BEGIN SELECT RAISE(ABORT, 'training_cohortstudy rows are immutable'); END;
""",
    f"""
CREATE TRIGGER training_cohort_immutable BEFORE UPDATE ON training_cohort
WHEN {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CONTENT)}
BEGIN SELECT RAISE(ABORT, 'training_cohort rows are immutable'); END;
""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS training_cohortstudy_immutable;",
    "DROP TRIGGER IF EXISTS training_cohort_immutable;",
]


def forward(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("training", "0001_cohorts")]
    operations = [migrations.RunPython(forward, backward)]
