"""Two-step sign-in: enrol, remove and check a user's TOTP device (SECURITY.md promise 8).

A user has at most one confirmed device. Enrolment makes an unconfirmed one whose secret is
shown once; one right code confirms it. A wrong code at sign-in (page or token endpoint) or
when removing a device counts as a failed sign-in for django-axes, so password and code share
one lockout per username, reset only by a complete sign-in.
"""
from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import login
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from reports.services.audit import audit_record
from reports.totp.policy import (
    session_owes_remember,
    totp_code_required,
    totp_device_for,
    totp_enrolment_required,
)

TOTP_ENROL = "totp.enrol"
TOTP_REMOVE = "totp.remove"
# Registered in ReportsConfig.ready (reports.audit_actions).
TOTP_AUDIT_ACTIONS = (
    (TOTP_ENROL, "Enrolled two-step sign-in"),
    (TOTP_REMOVE, "Removed two-step sign-in"),
)
DEVICE_NAME = "Authenticator app"


def totp_device_start(*, user: AbstractBaseUser) -> TOTPDevice:
    """A fresh unconfirmed device; any earlier unconfirmed one (its secret shown before) goes."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_device_pending(*, user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def totp_device_confirm(*, request: HttpRequest, user: AbstractBaseUser, code: str) -> TOTPDevice | None:
    """Confirm the pending device with one code from it; the session counts as verified."""
    device = totp_device_pending(user=user)
    if device is None or not device.verify_token(code):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(actor=user, action=TOTP_ENROL, obj=device, request=request, detail={"user_id": user.pk})
    _mark_verified(request, user, device)
    return device


def totp_device_remove(*, request: HttpRequest, user: AbstractBaseUser, code: str) -> bool:
    """Remove the user's device, given a current code from it (a stolen session alone cannot)."""
    device = totp_device_for(user)
    if device is None or not totp_code_check(request=request, user=user, code=code):
        return False
    with transaction.atomic():
        audit_record(actor=user, action=TOTP_REMOVE, obj=device, request=request, detail={"user_id": user.pk})
        TOTPDevice.objects.filter(user=user).delete()
    session_owes_remember(request, user, verified=False)
    return True


def totp_locked(*, request: HttpRequest, user: AbstractBaseUser) -> bool:
    return AxesProxyHandler.is_locked(request, {"username": user.get_username()})


def totp_code_check(*, request: HttpRequest, user: AbstractBaseUser, code: str) -> bool:
    """True for a current code of the user's confirmed device; a wrong one is a failed sign-in.

    While the username is locked out no code is right, so guessing cannot go on behind the lock.
    """
    if totp_locked(request=request, user=user):
        return False
    device = totp_device_for(user)
    if device is not None and device.verify_token(code.strip()):
        return True
    # axes records it against this username (and locks it at AXES_FAILURE_LIMIT).
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
    return False


def totp_sign_in(*, request: HttpRequest, user: AbstractBaseUser) -> None:
    """Sign in a user whose password and code were both right (a new session id, axes reset)."""
    device = totp_device_for(user)
    login(request, user)
    _mark_verified(request, user, device)


def _mark_verified(request: HttpRequest, user: AbstractBaseUser, device: TOTPDevice | None) -> None:
    if device is not None:
        otp_login(request, device)
    session_owes_remember(request, user, verified=True)


def totp_token_problem(*, request: HttpRequest, user: AbstractBaseUser, otp: str) -> str:
    """Why the token endpoint refuses a user whose password was right ("" when it does not)."""
    if totp_code_required(user):
        if not otp.strip():
            return (
                'This account uses two-step sign-in: send the 6-digit code of your authenticator app '
                'in the field "otp".'
            )
        if not totp_code_check(request=request, user=user, code=otp):
            return 'The one-time code in "otp" is wrong or has expired: send the code your app shows now.'
        return ""
    if totp_enrolment_required(user):
        return "Administrators must set up two-step sign-in on their account page (/accounts/) first."
    return ""
