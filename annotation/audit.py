"""annotation's audit actions, registered with reports' audit log in AnnotationConfig.ready().

Reading report text is reports' own action (reports.services.audit.audit_report_read); these
are the curation and quality actions only annotation performs.
"""
from __future__ import annotations

from reports.audit_actions import register_audit_action

AUDIT_PHRASE_CHANGE = "phrase.change"
AUDIT_PRECISION_APPLY = "phrase.precision"
AUDIT_MATCH_JUDGE = "match.judge"
AUDIT_QUALITY_DRAW = "quality.draw"
AUDIT_QUALITY_JUDGE = "quality.judge"
AUDIT_CALIBRATION = "calibration.fit"

ANNOTATION_AUDIT_ACTIONS: dict[str, str] = {
    AUDIT_PHRASE_CHANGE: "Changed phrases",
    AUDIT_PRECISION_APPLY: "Applied phrase precision",
    AUDIT_MATCH_JUDGE: "Judged a match",
    AUDIT_QUALITY_DRAW: "Drew a quality sample",
    AUDIT_QUALITY_JUDGE: "Judged a quality sample",
    AUDIT_CALIBRATION: "Fitted calibration",
}


def register_annotation_audit_actions() -> None:
    for action, label in ANNOTATION_AUDIT_ACTIONS.items():
        register_audit_action(action, label=label)
