"""Input validation for the members, study-list and audit pages."""
from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from reports.audit_actions import audit_actions
from reports.models import Protocol, ReviewState, Role
from reports.selectors.audit import AuditFilters
from reports.selectors.studies import StudyFilters


class DateInput(forms.DateInput):
    input_type = "date"


def _check_range(cleaned: dict[str, Any], start: str, end: str, message: str) -> None:
    if cleaned.get(start) and cleaned.get(end) and cleaned[end] < cleaned[start]:
        raise forms.ValidationError({end: message})


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)
    valid_from = forms.DateField(widget=DateInput, required=False, help_text="Today when empty.")
    valid_to = forms.DateField(widget=DateInput, required=False, help_text="Last day of access; empty for no end.")

    def clean_username(self) -> AbstractBaseUser:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No active user is called {username!r}.")
        return user

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start = cleaned.get("valid_from") or dt.date.min
        if cleaned.get("valid_to") and cleaned["valid_to"] < start:
            self.add_error("valid_to", "The end date must be on or after the start date.")
        return cleaned


class MemberEndDateForm(forms.Form):
    valid_to = forms.DateField(widget=DateInput, required=False, help_text="Empty for no end.")


class StudyFilterForm(forms.Form):
    """Filters of the study list; the protocol choices are the user's own protocols only."""

    protocol = forms.ModelChoiceField(queryset=Protocol.objects.none(), required=False, empty_label="All protocols")
    modality = forms.CharField(max_length=16, required=False)
    q = forms.CharField(label="Accession starts with", max_length=64, required=False)
    date_from = forms.DateField(widget=DateInput, required=False, label="From")
    date_to = forms.DateField(widget=DateInput, required=False, label="To")
    review_state = forms.ChoiceField(choices=[("", "Any state"), *ReviewState.choices], required=False, label="State")

    FIELDS = ("protocol", "modality", "q", "date_from", "date_to", "review_state")

    def __init__(self, *args: Any, user: AbstractBaseUser | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol"].queryset = Protocol.objects.visible_to(user).order_by("irb_number")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _check_range(cleaned, "date_from", "date_to", "The end date must be on or after the start date.")
        return cleaned

    def to_filters(self) -> StudyFilters:
        data = self.cleaned_data
        return StudyFilters(
            protocol_id=data["protocol"].pk if data.get("protocol") else None,
            modality=data.get("modality", "").strip(),
            accession_prefix=data.get("q", "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            review_state=data.get("review_state", ""),
        )

    def to_session(self) -> dict[str, str]:
        """The filters as plain strings, to keep in the session rather than in URLs."""
        return {name: str(self.data.get(name, "")).strip() for name in self.FIELDS if self.data.get(name)}


def _audit_action_choices() -> list[tuple[str, str]]:
    """Every registered action, read when the form is built: apps register theirs in ready()."""
    return [("", "Any action"), *((spec.action, spec.label) for spec in audit_actions())]


class AuditFilterForm(forms.Form):
    user = forms.CharField(label="Username", max_length=150, required=False)
    action = forms.ChoiceField(choices=_audit_action_choices, required=False)
    protocol = forms.ModelChoiceField(
        queryset=Protocol.objects.order_by("irb_number"), required=False, empty_label="Any protocol"
    )
    date_from = forms.DateField(widget=DateInput, required=False, label="From")
    date_to = forms.DateField(widget=DateInput, required=False, label="To")
    object_type = forms.CharField(label="Object type", max_length=32, required=False)
    object_id = forms.CharField(label="Object id", max_length=64, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _check_range(cleaned, "date_from", "date_to", "The end date must be on or after the start date.")
        return cleaned

    def to_filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            username=data.get("user", "").strip(),
            action=data.get("action", ""),
            protocol_id=data["protocol"].pk if data.get("protocol") else None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            object_type=data.get("object_type", "").strip(),
            object_id=data.get("object_id", "").strip(),
        )
