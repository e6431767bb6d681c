"""Database triggers that write every change of a tracked table into radlabel_rowhistory.

Triggers, not signals or save(): queryset.update(), bulk_create() and raw SQL never reach
Python, and SECURITY.md promise 6 asks for them too. Hand-written rather than django-pghistory,
which is PostgreSQL-only while `make run` and `make test` run on SQLite.

PostgreSQL: statement-level triggers with transition tables, so a 100,000-row UPDATE is one
INSERT ... SELECT, not 100,000 function calls; `to_jsonb(row)` follows any later column change.
The actor is the connection's `radlabel.actor` setting (config/history_actor.py).

SQLite: row-level triggers whose json_object() lists the columns, generated from the models.
SQLite refuses to drop a column a trigger names, and Django remakes a table (dropping its
triggers) to alter it, so migrate drops these triggers first and installs them again from the
current models when it is done (RadlabelConfig.ready). The actor is NULL there.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

HISTORY_TABLE = "radlabel_rowhistory"
APPEND_ONLY_TRIGGER = "radlabel_rowhistory_append_only"
# (app label, model name). SoftLabel is left out: docs/SECURITY.md row 6 has the measured cost.
TRACKED_MODELS = (
    ("reports", "Protocol"),
    ("reports", "Membership"),
    ("annotation", "Label"),
    ("annotation", "Phrase"),
    ("annotation", "Confirmation"),
    ("annotation", "ConfirmationLabel"),
)
_OPERATIONS = ("INSERT", "UPDATE", "DELETE")

PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION radlabel_history_actor() RETURNS bigint AS $$
    SELECT nullif(current_setting('radlabel.actor', true), '')::bigint;
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION radlabel_history_insert() RETURNS trigger AS $$
BEGIN
    INSERT INTO {HISTORY_TABLE} (table_name, row_id, operation, before, after, at, actor_id)
    SELECT TG_TABLE_NAME, n.id, 'INSERT', NULL, to_jsonb(n), statement_timestamp(),
           radlabel_history_actor()
    FROM new_rows n ORDER BY n.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION radlabel_history_update() RETURNS trigger AS $$
BEGIN
    -- A statement that rewrites a row with the values it had is not a change.
    INSERT INTO {HISTORY_TABLE} (table_name, row_id, operation, before, after, at, actor_id)
    SELECT TG_TABLE_NAME, c.id, 'UPDATE', c.before, c.after, statement_timestamp(),
           radlabel_history_actor()
    FROM (SELECT n.id, to_jsonb(o) AS before, to_jsonb(n) AS after
          FROM old_rows o JOIN new_rows n ON n.id = o.id) c
    WHERE c.before IS DISTINCT FROM c.after ORDER BY c.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION radlabel_history_delete() RETURNS trigger AS $$
BEGIN
    INSERT INTO {HISTORY_TABLE} (table_name, row_id, operation, before, after, at, actor_id)
    SELECT TG_TABLE_NAME, o.id, 'DELETE', to_jsonb(o), NULL, statement_timestamp(),
           radlabel_history_actor()
    FROM old_rows o ORDER BY o.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- The same refusal as the audit log's (reports/migrations/0002); TRUNCATE stays for test flushes.
CREATE OR REPLACE FUNCTION radlabel_rowhistory_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{HISTORY_TABLE} is append-only';
END;
$$ LANGUAGE plpgsql;
"""
PG_DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS radlabel_history_insert();
DROP FUNCTION IF EXISTS radlabel_history_update();
DROP FUNCTION IF EXISTS radlabel_history_delete();
DROP FUNCTION IF EXISTS radlabel_history_actor();
DROP FUNCTION IF EXISTS radlabel_rowhistory_append_only();
"""
PG_APPEND_ONLY = (
    f"CREATE TRIGGER {APPEND_ONLY_TRIGGER} BEFORE UPDATE OR DELETE ON {HISTORY_TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION radlabel_rowhistory_append_only()"
)
# Like the audit log, SQLite refuses UPDATE only: the test runner's flush deletes rows.
SQLITE_APPEND_ONLY = f"""
CREATE TRIGGER {APPEND_ONLY_TRIGGER} BEFORE UPDATE ON {HISTORY_TABLE}
BEGIN SELECT RAISE(ABORT, '{HISTORY_TABLE} is append-only'); END;
"""


def tracked_models(apps: Apps) -> list[type[models.Model]]:
    return [apps.get_model(app_label, name) for app_label, name in TRACKED_MODELS]


def history_install(connection: BaseDatabaseWrapper, tracked: Iterable[type[models.Model]]) -> None:
    """(Re)create the capture triggers on every tracked table that exists, and the refusal."""
    tables = set(connection.introspection.table_names())
    if HISTORY_TABLE not in tables:
        return
    statements = _drop_statements(connection)
    if connection.vendor == "postgresql":
        statements += [PG_FUNCTIONS, PG_APPEND_ONLY]
        for model in tracked:
            if model._meta.db_table in tables:
                statements += _pg_capture(model._meta.db_table)
    elif connection.vendor == "sqlite":
        statements.append(SQLITE_APPEND_ONLY)
        for model in tracked:
            if model._meta.db_table in tables:
                statements += [_sqlite_capture(model, op) for op in _OPERATIONS]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def history_uninstall(connection: BaseDatabaseWrapper, *, keep_append_only: bool = False) -> None:
    """Drop the capture triggers (and, unless asked to keep it, the history table's refusal)."""
    statements = _drop_statements(connection, keep_append_only=keep_append_only)
    if connection.vendor == "postgresql" and not keep_append_only:
        statements.append(PG_DROP_FUNCTIONS)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _drop_statements(connection: BaseDatabaseWrapper, *, keep_append_only: bool = False) -> list[str]:
    # Found in the catalogue: a table that left TRACKED_MODELS must lose its triggers too.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
                "WHERE NOT tgisinternal AND tgname LIKE 'radlabel\\_%'"
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, tbl_name FROM sqlite_master "
                "WHERE type = 'trigger' AND name LIKE 'radlabel\\_%' ESCAPE '\\'"
            )
        else:
            return []
        found = cursor.fetchall()
    on = connection.vendor == "postgresql"
    return [
        f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if on else "")
        for name, table in found
        if not (keep_append_only and name == APPEND_ONLY_TRIGGER)
    ]


def _trigger(table: str, op: str) -> str:
    return f"radlabel_history_{op.lower()}_{table}"


def _pg_capture(table: str) -> list[str]:
    transition = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows"}
    transition["UPDATE"] = "OLD TABLE AS old_rows NEW TABLE AS new_rows"
    return [
        f'CREATE TRIGGER {_trigger(table, op)} AFTER {op} ON "{table}" '
        f"REFERENCING {transition[op]} FOR EACH STATEMENT "
        f"EXECUTE FUNCTION radlabel_history_{op.lower()}()"
        for op in _OPERATIONS
    ]


def _sqlite_capture(model: type[models.Model], op: str) -> str:
    table = model._meta.db_table
    fields = [f for f in model._meta.concrete_fields if f.column]
    pk = model._meta.pk.column
    row = "OLD" if op == "DELETE" else "NEW"
    before = _sqlite_json("OLD", fields) if op != "INSERT" else "NULL"
    after = _sqlite_json("NEW", fields) if op != "DELETE" else "NULL"
    when = ""
    if op == "UPDATE":
        changed = " OR ".join(f'OLD."{f.column}" IS NOT NEW."{f.column}"' for f in fields)
        when = f"WHEN {changed} "
    return (
        f'CREATE TRIGGER {_trigger(table, op)} AFTER {op} ON "{table}" FOR EACH ROW {when}'
        f"BEGIN INSERT INTO {HISTORY_TABLE} "
        "(table_name, row_id, operation, before, after, at, actor_id) "
        f"VALUES ('{table}', {row}.\"{pk}\", '{op}', {before}, {after}, "
        "strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL); END"
    )


def _sqlite_json(row: str, fields: list[models.Field]) -> str:
    """json_object() of a row, typed as PostgreSQL's to_jsonb() types it where SQLite can."""
    pairs = []
    for field in fields:
        column = f'{row}."{field.column}"'
        if isinstance(field, models.JSONField):
            value = f"json({column})"
        elif isinstance(field, models.BooleanField):
            value = f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} THEN json('true') ELSE json('false') END"
        else:
            value = column
        pairs.append(f"'{field.column}', {value}")
    return f"json_object({', '.join(pairs)})"


def history_before_migrate(sender: object, using: str, **kwargs: object) -> None:
    """pre_migrate: on SQLite, drop the capture triggers so a migration may alter a tracked table."""
    connection = connections[using]
    if connection.vendor == "sqlite":
        history_uninstall(connection, keep_append_only=True)


def history_after_migrate(
    sender: object, using: str, apps: Apps = global_apps, **kwargs: object
) -> None:
    """post_migrate: install the triggers again for the tables as they are now."""
    # flush sends post_migrate too, without the migration state's apps.
    history_install(connections[using], tracked_models(apps))
