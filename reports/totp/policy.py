"""Who must give a TOTP code or enrol a device, and what a session still owes.

settings.TOTP_MODE (env RADLABEL_TOTP) is "off", "optional" or "admins". The session remembers
what it owes, computed once at sign-in (one query there, none on the pages after it), together
with the mode it was computed under, so a change of mode takes effect on the next request.
"""
from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

OFF, OPTIONAL, ADMINS = "off", "optional", "admins"

# What a signed-in session still owes before it may use the app.
OWES_NOTHING, OWES_CODE, OWES_ENROLMENT = "nothing", "code", "enrolment"
_OWES_KEY = "radlabel_totp_owes"
# A password checked, its code not yet given: not signed in until the code is right.
_PENDING_KEY = "radlabel_totp_pending"
PENDING_SECONDS = 300


def totp_mode() -> str:
    return settings.TOTP_MODE


def totp_enabled() -> bool:
    return totp_mode() != OFF


def totp_device_for(user: AbstractBaseUser) -> TOTPDevice | None:
    """The user's confirmed device, or None (also when two-step sign-in is off)."""
    if not totp_enabled() or not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def totp_code_required(user: AbstractBaseUser) -> bool:
    return totp_device_for(user) is not None


def totp_enrolment_required(user: AbstractBaseUser) -> bool:
    """Staff must enrol when the mode is "admins"; everyone else may."""
    return totp_mode() == ADMINS and (user.is_staff or user.is_superuser)


def _owes(user: AbstractBaseUser, *, verified: bool) -> str:
    if totp_code_required(user):
        return OWES_NOTHING if verified else OWES_CODE
    return OWES_ENROLMENT if totp_enrolment_required(user) else OWES_NOTHING


def session_owes_remember(request: HttpRequest, user: AbstractBaseUser, *, verified: bool) -> str:
    owes = _owes(user, verified=verified)
    request.session[_OWES_KEY] = [totp_mode(), owes]
    return owes


def session_owes(request: HttpRequest) -> str:
    """What this signed-in session owes; recomputed (one query) when the mode changed since."""
    remembered = request.session.get(_OWES_KEY)
    if isinstance(remembered, list) and len(remembered) == 2 and remembered[0] == totp_mode():
        return remembered[1]
    verified = bool(getattr(request.user, "is_verified", lambda: False)())
    return session_owes_remember(request, request.user, verified=verified)


def remember_at_login(sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any) -> None:
    """user_logged_in receiver: every sign-in, whatever page did it, starts unverified.

    Only reports.views.account's code step marks a session verified, after the code; the
    admin's own login page, for one, signs in with the password alone and so owes the code.
    """
    if request is not None and hasattr(request, "session"):
        session_owes_remember(request, user, verified=False)


def pending_start(request: HttpRequest, user: AbstractBaseUser, next_url: str) -> None:
    request.session[_PENDING_KEY] = {
        "user": user.pk, "backend": user.backend, "next": next_url, "at": time.time(),
    }


def pending_user(request: HttpRequest) -> tuple[AbstractBaseUser, str] | None:
    """The user whose password was right a moment ago and the page they asked for, or None."""
    pending = request.session.get(_PENDING_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        pending_clear(request)
        return None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        pending_clear(request)
        return None
    user.backend = pending["backend"]
    return user, pending["next"]


def pending_clear(request: HttpRequest) -> None:
    request.session.pop(_PENDING_KEY, None)
