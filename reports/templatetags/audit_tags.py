"""The audit log's detail column as readable fields rather than a raw dictionary."""
from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

# Keys whose plain humanised form reads badly.
_KEY_LABELS = {"study_id": "Study", "job_id": "Job", "ip": "IP", "id": "Id"}


def _key_label(key: str) -> str:
    if key in _KEY_LABELS:
        return _KEY_LABELS[key]
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else key


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{_key_label(str(k))}: {_value_text(v)}" for k, v in value.items()) or "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@register.filter
def audit_detail_fields(detail: Any) -> list[tuple[str, str]]:
    """(label, value) pairs in the detail's order; the template escapes both."""
    if not isinstance(detail, dict):
        return [("Detail", _value_text(detail))] if detail else []
    return [(_key_label(str(key)), _value_text(value)) for key, value in detail.items()]
