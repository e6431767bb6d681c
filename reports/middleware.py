"""Session lifetime and cache headers, enforced on the server for every request."""
from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

_LAST_SEEN = "radlabel_last_seen"
_STARTED = "radlabel_started"
_TOUCH_EVERY = 60.0


class SessionTimeoutMiddleware:
    """Log out a session idle for SESSION_IDLE_TIMEOUT or older than SESSION_ABSOLUTE_TIMEOUT.

    The check runs before the view, so the request that arrives late is already anonymous:
    a replayed cookie of an expired session reaches nothing (SECURITY.md promise 9).
    Token-authenticated API calls carry no session and are not affected.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.get(_STARTED, now)
            last_seen = request.session.get(_LAST_SEEN, now)
            idle = settings.SESSION_IDLE_TIMEOUT.total_seconds()
            absolute = settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds()
            if now - last_seen > idle or now - started > absolute:
                logout(request)
            elif now - last_seen > _TOUCH_EVERY or _STARTED not in request.session:
                # Refreshing the stamp at most once a minute spares a session write per request
                # (confirm-and-next is on a tight budget); idle time stays exact to the minute.
                request.session[_STARTED] = started
                request.session[_LAST_SEEN] = now
        return self.get_response(request)


class NoStoreMiddleware:
    """Forbid caching of every dynamic answer: pages and the API may carry report text."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(settings.STATIC_URL):
            response["Cache-Control"] = "no-store"
        return response
