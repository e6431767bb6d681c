"""Django admin for protocols, memberships and the audit log.

Studies, reports and patients are deliberately not registered: the admin bypasses the
protocol scoping and the read audit, so PHI stays out of it. Membership and protocol changes
made here go through reports.services.access, so they are audited like any other.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from reports.models import AccessEvent, Membership, Protocol
from reports.services.access import (
    membership_change,
    membership_grant,
    membership_revoke,
    protocol_save,
)


def _save_membership(request: HttpRequest, membership: Membership, form: ModelForm, change: bool) -> Membership:
    """Route an admin form's save to the audited service; revoking is a separate action."""
    data = form.cleaned_data
    if not change:
        return membership_grant(
            actor=request.user, protocol=membership.protocol, user=membership.user, role=membership.role,
            valid_from=membership.valid_from, valid_to=membership.valid_to, request=request, channel="admin",
        )
    return membership_change(
        actor=request.user, membership=membership, role=data.get("role", membership.role),
        valid_from=data.get("valid_from", membership.valid_from), valid_to=data.get("valid_to"),
        clear_valid_to=data.get("valid_to") is None, request=request, channel="admin",
    )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "valid_from", "valid_to", "revoked_at")
    readonly_fields = ("revoked_at",)
    autocomplete_fields = ("user",)
    # A membership is revoked (kept for the record), never deleted.
    can_delete = False


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = ("irb_number", "title", "status", "approved_on", "expires_on", "readers_per_study")
    list_filter = ("status",)
    search_fields = ("irb_number", "title", "principal_investigator")
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Protocol, form: ModelForm, change: bool) -> None:
        protocol_save(actor=request.user, protocol=obj, request=request, channel="admin")

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        # The admin's change message reads these lists, which formset.save() would have filled.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() or not hasattr(inline_form, "cleaned_data"):
                continue
            membership = inline_form.instance
            is_new = membership.pk is None
            membership.protocol = form.instance
            saved = _save_membership(request, membership, inline_form, change=not is_new)
            if is_new:
                formset.new_objects.append(saved)
            else:
                formset.changed_objects.append((saved, inline_form.changed_data))

    def has_delete_permission(self, request: HttpRequest, obj: Protocol | None = None) -> bool:
        # Deleting a protocol would cascade to its studies and memberships; close it instead.
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "protocol", "role", "valid_from", "valid_to", "revoked_at")
    list_filter = ("role", "protocol", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "protocol__irb_number")
    autocomplete_fields = ("user", "protocol")
    readonly_fields = ("revoked_at", "created_at")
    actions = ["revoke_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> tuple[str, ...]:
        # Who and where are fixed once granted; a different person or protocol is a new grant.
        return (*self.readonly_fields, "user", "protocol") if obj is not None else self.readonly_fields

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request: HttpRequest, obj: Membership, form: ModelForm, change: bool) -> None:
        saved = _save_membership(request, obj, form, change)
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False

    @admin.action(description="Revoke selected memberships")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        revoked = 0
        for membership in queryset.filter(revoked_at__isnull=True):
            membership_revoke(actor=request.user, membership=membership, request=request, channel="admin")
            revoked += 1
        self.message_user(request, f"Revoked {revoked} membership(s).", messages.SUCCESS)


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, and rows are written only by the app."""

    list_display = ("at", "username", "action", "object_type", "object_id", "protocol", "channel", "ip_address")
    list_filter = ("action", "channel", "protocol", "at")
    search_fields = ("username", "object_id")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AccessEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AccessEvent | None = None) -> bool:
        return False
