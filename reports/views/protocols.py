"""Admins' pages: the protocol list and each protocol's members (grant, end date, revoke).

Staff only; anyone else gets 404, as for every object out of scope. Staff see memberships,
never studies: managing access grants no access to data.
"""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reports.access_forms import MemberAddForm, MemberEndDateForm
from reports.models import Membership, Protocol
from reports.permissions import can_manage_protocols
from reports.selectors.protocols import protocol_list_for_admin, protocol_members
from reports.services.access import membership_change, membership_grant, membership_revoke


def _staff_only(request: HttpRequest) -> None:
    if not can_manage_protocols(request.user):
        raise Http404("No such page")


def _membership(request: HttpRequest, protocol_id: int, membership_id: int) -> Membership:
    _staff_only(request)
    return get_object_or_404(Membership.objects.select_related("user", "protocol"), pk=membership_id, protocol_id=protocol_id)


def _validation_message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@require_GET
def protocol_list_view(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    return render(request, "reports/protocol_list.html", {"protocols": protocol_list_for_admin()})


@require_http_methods(["GET", "POST"])
def protocol_members_view(request: HttpRequest, protocol_id: int) -> HttpResponse:
    _staff_only(request)
    protocol = get_object_or_404(Protocol, pk=protocol_id)
    form = MemberAddForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                membership_grant(
                    actor=request.user, protocol=protocol, user=form.cleaned_data["username"],
                    role=form.cleaned_data["role"], valid_from=form.cleaned_data["valid_from"],
                    valid_to=form.cleaned_data["valid_to"], request=request,
                )
            except ValidationError as exc:
                form.add_error(None, _validation_message(exc))
            else:
                messages.success(request, f"Added {form.cleaned_data['username'].get_username()}.")
                return redirect("reports:protocol-members", protocol_id=protocol.pk)
        status = 400
    return render(
        request,
        "reports/protocol_members.html",
        {"protocol": protocol, "members": protocol_members(protocol=protocol), "form": form, "end_form": MemberEndDateForm()},
        status=status,
    )


@require_POST
def membership_end_date_view(request: HttpRequest, protocol_id: int, membership_id: int) -> HttpResponse:
    membership = _membership(request, protocol_id, membership_id)
    form = MemberEndDateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "End date: enter a valid date (YYYY-MM-DD) or leave it empty.")
    else:
        valid_to = form.cleaned_data["valid_to"]
        try:
            membership_change(
                actor=request.user, membership=membership, valid_to=valid_to, clear_valid_to=valid_to is None,
                request=request,
            )
        except ValidationError as exc:
            messages.error(request, f"{membership.user.get_username()}: {_validation_message(exc)}")
        else:
            messages.success(request, f"Changed the end date of {membership.user.get_username()}.")
    return redirect("reports:protocol-members", protocol_id=protocol_id)


@require_POST
def membership_revoke_view(request: HttpRequest, protocol_id: int, membership_id: int) -> HttpResponse:
    membership = _membership(request, protocol_id, membership_id)
    membership_revoke(actor=request.user, membership=membership, request=request)
    messages.success(request, f"Revoked the access of {membership.user.get_username()}.")
    return redirect("reports:protocol-members", protocol_id=protocol_id)
