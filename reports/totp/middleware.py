"""Keep a signed-in session that still owes a TOTP code or an enrolment away from the app."""
from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from reports.totp.policy import OWES_CODE, OWES_ENROLMENT, session_owes, totp_enabled

ENROL_FIRST = (
    "Two-step sign-in is required for administrators: set up an authenticator app at "
    "/accounts/two-step/ first."
)


class TotpRequiredMiddleware:
    """After django_otp's OTPMiddleware. Costs no query: the session remembers what it owes.

    A session that owes the code was signed in by a page other than ours (the Django admin's
    login): it is signed out and sent to the login page, which asks for the code. A session
    that owes an enrolment (RADLABEL_TOTP=admins, staff without a device) reaches only the
    enrolment page and sign-out; the API answers it 403.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if totp_enabled() and request.user.is_authenticated:
            owes = session_owes(request)
            if owes == OWES_CODE:
                logout(request)
                return redirect_to_login(request.get_full_path())
            if owes == OWES_ENROLMENT and request.path not in {reverse("totp-enrol"), reverse("logout")}:
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": ENROL_FIRST}, status=403)
                return redirect("totp-enrol")
        return self.get_response(request)
