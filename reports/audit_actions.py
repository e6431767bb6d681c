"""Which audit actions exist, and their labels; each app registers its own in AppConfig.ready().

The audit log's `action` column is a plain string, so an app above reports (annotation's phrase
edits, training's cohort exports, model downloads) adds actions without editing reports. Every
write goes through reports.services.audit, which refuses an action nobody registered: a typo
would otherwise file rows under a name no filter of the audit page offers.
"""
from __future__ import annotations

from dataclasses import dataclass

# AccessEvent.action's max_length.
MAX_LENGTH = 32


@dataclass(frozen=True)
class AuditActionSpec:
    action: str
    label: str


_ACTIONS: dict[str, AuditActionSpec] = {}


def register_audit_action(action: str, *, label: str) -> AuditActionSpec:
    """Register (or re-register identically) an action; another label for it is a bug."""
    spec = AuditActionSpec(action=action, label=label)
    existing = _ACTIONS.get(action)
    if existing is not None and existing != spec:
        raise ValueError(f"Audit action {action!r} is already registered as {existing.label!r}")
    if not action or len(action) > MAX_LENGTH:
        raise ValueError(f"Audit action {action!r} must be 1 to {MAX_LENGTH} characters")
    _ACTIONS[action] = spec
    return spec


def audit_action(action: str) -> AuditActionSpec | None:
    return _ACTIONS.get(action)


def audit_actions() -> list[AuditActionSpec]:
    """Every registered action, by label (the order of the audit page's filter)."""
    return sorted(_ACTIONS.values(), key=lambda spec: (spec.label.lower(), spec.action))


def audit_action_label(action: str) -> str:
    """The action's label; an action no longer registered (its app removed) shows as stored."""
    spec = _ACTIONS.get(action)
    return spec.label if spec else action
