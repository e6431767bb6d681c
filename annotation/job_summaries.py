"""How the job page reads a relabel (registered in AnnotationConfig.ready).

A relabel started by "Save and relabel" (or a revert) names the phrase change behind it, links
back to the label's phrases and their history, and once it has succeeded says how many soft
labels it changed. Phrase texts and counts only: never report text.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse

from reports.jobs.registry import JobSummary, default_summary

if TYPE_CHECKING:
    from annotation.models import PhraseChange
    from reports.models import Job


def revision_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """One phrase revision ({text, kind, enabled, order} before / after; None = no row) in words."""
    if before is None:
        # A new disabled row is an inferred phrase (lexicon, synonyms) switched off, not an addition.
        return (f"added “{after['text']}”" if after.get("enabled", True) else f"disabled “{after['text']}”") if after else ""
    if after is None:
        return f"removed “{before['text']}”"
    text = after.get("text", before.get("text"))
    parts = []
    if before.get("text") != text:
        parts.append(f"renamed “{before.get('text')}” to “{text}”")
    if before.get("enabled") != after.get("enabled"):
        parts.append(f"{'enabled' if after.get('enabled') else 'disabled'} “{text}”")
    if before.get("order") != after.get("order"):
        parts.append(f"moved “{text}” from priority {before.get('order')} to {after.get('order')}")
    return "; ".join(parts)


def phrase_change_text(change: PhraseChange) -> str:
    what = "; ".join(filter(None, (revision_text(r.before, r.after) for r in change.revisions.all())))
    name = f"Revert {change.pk} of change {change.revert_of_id}" if change.revert_of_id else f"Phrase change {change.pk}"
    return f"{name} on {change.label.name}: {what or 'no phrase'}."


def soft_labels_changed(result: dict[str, Any]) -> int:
    """Soft labels a relabel wrote (new or different value, p or evidence) or removed."""
    return int(result.get("written", 0)) + int(result.get("removed", 0))


def relabel_summary(job: Job) -> JobSummary:
    from annotation.models import PhraseChange
    from reports.models import JobStatus

    base = default_summary(job)
    # A queued relabel is reused by the next save, so one job may carry several changes.
    changes = list(
        PhraseChange.objects.filter(job=job).select_related("label").prefetch_related("revisions").order_by("created_at", "id")
    )
    counts: tuple[tuple[str, Any], ...] = ()
    if job.status == JobStatus.SUCCEEDED and isinstance(job.result, dict):
        counts = (("Soft labels changed", soft_labels_changed(job.result)), ("Reports read", job.result.get("reports", 0)))
    links: list[tuple[str, str]] = []
    for label in {change.label_id: change.label for change in changes}.values():
        phrases = reverse("annotation:phrase-table", kwargs={"protocol_id": job.protocol_id, "label_id": label.pk})
        links += [(f"Phrases of {label.name}", phrases), (f"History of the phrases of {label.name}", f"{phrases}#history")]
    return JobSummary(
        counts=counts,
        notes=tuple(phrase_change_text(change) for change in changes) + base.notes,
        tables=base.tables,
        links=tuple(links),
    )
