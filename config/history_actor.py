"""Tell the history triggers who is acting: the `radlabel.actor` setting on PostgreSQL.

The triggers (config/history.py) read `current_setting('radlabel.actor', true)`. Setting it
once per request would cost a query on every page, reads included, so it is set just before
each statement that writes a tracked table, as a session setting: a write outside
transaction.atomic is its own transaction, where SET LOCAL would be gone before the write. The
block resets it on the way out, so a reused connection carries no one's id into a command or task.

SQLite has no settings to read from a trigger; its history rows have no actor.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

from config.history import TRACKED_MODELS

_SET_ACTOR = "SELECT set_config('radlabel.actor', %s, false)"
_WRITES = ("INSERT", "UPDATE", "DELETE", "WITH", "MERGE")
# Table names as Django derives them; a statement naming none of them needs no actor.
_TRACKED_TABLES = tuple(f"{app}_{name.lower()}" for app, name in TRACKED_MODELS)


@contextmanager
def history_actor(actor_id: Callable[[], int | None]) -> Iterator[None]:
    """Record `actor_id()` as the acting user of tracked writes made inside the block.

    A callable, read at the moment of the write: a DRF view authenticates its token only after
    the middleware has run, and a login changes the user halfway through a request.
    """
    if connection.vendor != "postgresql":
        yield
        return
    wrote = False

    def set_actor(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        nonlocal wrote
        if sql.lstrip()[:6].upper().startswith(_WRITES) and any(t in sql for t in _TRACKED_TABLES):
            actor = actor_id()
            # The raw cursor: the setting is plumbing, not one of the view's statements.
            context["cursor"].cursor.execute(_SET_ACTOR, ["" if actor is None else str(actor)])
            wrote = True
        return execute(sql, params, many, context)

    with connection.execute_wrapper(set_actor):
        try:
            yield
        finally:
            if wrote:
                _reset_actor()


def _reset_actor() -> None:
    raw = connection.connection
    if raw is None or raw.closed:
        return
    try:
        with raw.cursor() as cursor:
            cursor.execute(_SET_ACTOR, [""])
    except connection.Database.Error:
        # An aborted transaction is rolled back before the connection is used again, and a
        # rollback undoes the setting too.
        pass


class HistoryActorMiddleware:
    """Attribute the history rows a request writes to its signed-in user (after authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with history_actor(lambda: _user_id(request)):
            return self.get_response(request)


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None
