"""Sign-in (password, then a TOTP code for enrolled users) and the account page.

Two-step sign-in (SECURITY.md promise 8) is switched by settings.TOTP_MODE; the rules are in
reports.totp.policy, the writes in reports.services.totp.
"""
from __future__ import annotations

from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reports.account_forms import TotpCodeForm
from reports.services.totp import (
    totp_code_check,
    totp_device_confirm,
    totp_device_pending,
    totp_device_remove,
    totp_device_start,
    totp_locked,
    totp_sign_in,
)
from reports.totp.policy import (
    pending_clear,
    pending_start,
    pending_user,
    totp_code_required,
    totp_device_for,
    totp_enabled,
    totp_enrolment_required,
)
from reports.totp.qr import qr_svg_data_uri, text_key

WRONG_CODE = "That code is wrong or has expired. Enter the code your app shows now."


class LoginView(auth_views.LoginView):
    """Django's login page; a user with a TOTP device is sent on to the code step instead."""

    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if not totp_code_required(user):
            return super().form_valid(form)
        # Not signed in yet: the session only remembers whose password was right, for 5 minutes.
        pending_start(self.request, user, self.get_success_url())
        return redirect("login-code")


@login_not_required
@require_http_methods(["GET", "POST"])
def login_code_view(request: HttpRequest) -> HttpResponse:
    pending = pending_user(request)
    if pending is None:
        return redirect("login")
    user, next_url = pending
    form = TotpCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if totp_locked(request=request, user=user):
            pending_clear(request)
            return get_lockout_response(request, {"username": user.get_username()})
        if form.is_valid():
            if totp_code_check(request=request, user=user, code=form.cleaned_data["code"]):
                pending_clear(request)
                totp_sign_in(request=request, user=user)
                return redirect(next_url)
            form.add_error("code", WRONG_CODE)
    return render(request, "registration/login_code.html", {"form": form})


@require_GET
def account_view(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/account.html", _account_context(request, TotpCodeForm()))


def _account_context(request: HttpRequest, remove_form: TotpCodeForm) -> dict[str, object]:
    return {
        "totp_enabled": totp_enabled(),
        "device": totp_device_for(request.user),
        "required": totp_enrolment_required(request.user),
        "remove_form": remove_form,
    }


@require_http_methods(["GET", "POST"])
def totp_enrol_view(request: HttpRequest) -> HttpResponse:
    """GET: a new secret as a QR code and text (shown this once). POST: one code confirms it."""
    if not totp_enabled():
        raise Http404("No such page")
    if totp_device_for(request.user) is not None:
        messages.info(request, "Two-step sign-in is already on. Remove it first to move to another app.")
        return redirect("account")
    form = TotpCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid() and totp_device_confirm(request=request, user=request.user, code=form.cleaned_data["code"]):
            messages.success(request, "Two-step sign-in is on: from now on, sign-in asks for a code after the password.")
            return redirect("account")
        if form.is_valid():
            form.add_error("code", WRONG_CODE)
    device = (totp_device_pending(user=request.user) if request.method == "POST" else None) or totp_device_start(user=request.user)
    context = {
        "form": form,
        "qr": qr_svg_data_uri(device.config_url),
        "key": text_key(device.bin_key),
        "required": totp_enrolment_required(request.user),
    }
    return render(request, "reports/totp_enrol.html", context, status=400 if form.errors else 200)


@require_POST
def totp_remove_view(request: HttpRequest) -> HttpResponse:
    if totp_device_for(request.user) is None:
        return redirect("account")
    form = TotpCodeForm(request.POST)
    if form.is_valid() and totp_device_remove(request=request, user=request.user, code=form.cleaned_data["code"]):
        messages.success(request, "Two-step sign-in is off for your account.")
        return redirect("account")
    if form.is_valid():
        form.add_error("code", WRONG_CODE)
    return render(request, "reports/account.html", _account_context(request, form), status=400)
