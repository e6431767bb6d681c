"""A label's phrase table: every phrase that can fire, with its hits and measured precision.

Hits are counted from the stored soft labels' evidence (each item names the phrase that matched
and its ConText modifiers), in one pass over the label's soft labels in the protocol: one SQL
statement on PostgreSQL (jsonb_array_elements, grouped by phrase), one streamed read decoded in
Python elsewhere. Precision comes from the quality selectors (judged matches and confirmations).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connection

from annotation.engine.schema import normalise_phrase
from annotation.models import Label, Phrase, PhraseChange, PhraseKind, SoftLabel
from annotation.selectors.precision import (
    PrecisionEstimate,
    phrase_precision_by_text,
    precision_estimate,
)
from annotation.services.schemas import schema_to_engine
from reports.models import Protocol, Report, Study

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from annotation.engine import Schema

NEGATED = frozenset({"NEGATED_EXISTENCE", "RESOLVED"})
UNCERTAIN = frozenset({"POSSIBLE_EXISTENCE", "PROBABLE_EXISTENCE"})
# "Weak": fires often, and is either measured below this precision or not measured tightly enough.
WEAK_MIN_HITS = 10
WEAK_PRECISION = 0.8
WEAK_WIDTH = 0.3

SORTS = {
    "priority": lambda r: (r.priority if r.priority is not None else 10**9, r.text),
    "text": lambda r: r.text,
    "source": lambda r: (r.source, r.text),
    "hits": lambda r: (r.hits, r.text),
    "reports": lambda r: (r.reports, r.text),
    "negated": lambda r: (r.negated_share, r.text),
    "uncertain": lambda r: (r.uncertain_share, r.text),
    "precision": lambda r: (r.precision.estimate if r.precision.estimate is not None else -1.0, r.text),
    "width": lambda r: (r.width, r.text),
}
FILTERS = ("all", "weak", "enabled", "disabled", "inferred", "curator")


@dataclass
class PhraseStats:
    hits: int = 0
    reports: int = 0
    negated: int = 0
    uncertain: int = 0


@dataclass
class PhraseRow:
    text: str
    source: str  # schema, curator, abbreviation, synonym, implied, attribute, uncertain
    phrase_id: int | None
    priority: int | None
    enabled: bool
    stats: PhraseStats
    precision: PrecisionEstimate
    prior: float | None = None
    hit_share: float = 0.0  # of the label's most frequent phrase

    @property
    def hits(self) -> int:
        return self.stats.hits

    @property
    def reports(self) -> int:
        return self.stats.reports

    @property
    def negated_share(self) -> float:
        return self.stats.negated / self.stats.hits if self.stats.hits else 0.0

    @property
    def uncertain_share(self) -> float:
        return self.stats.uncertain / self.stats.hits if self.stats.hits else 0.0

    @property
    def width(self) -> float:
        return self.precision.high - self.precision.low

    @property
    def inferred(self) -> bool:
        return self.source not in ("schema", "curator")

    @property
    def editable(self) -> bool:
        """Whether a curator can disable / enable / edit it here (the others come from the shipped file)."""
        return self.phrase_id is not None or self.source in DISABLEABLE_SOURCES

    @property
    def weak(self) -> bool:
        if self.hits < WEAK_MIN_HITS:
            return False
        estimate = self.precision.estimate
        return estimate is None or estimate < WEAK_PRECISION or self.width > WEAK_WIDTH

    def to_json(self, label: Label) -> dict[str, Any]:
        return {
            "id": self.phrase_id,
            "label": label.name,
            "text": self.text,
            "source": self.source,
            "priority": self.priority,
            "enabled": self.enabled,
            "hits": self.hits,
            "reports": self.reports,
            "negated_share": round(self.negated_share, 4),
            "uncertain_share": round(self.uncertain_share, 4),
            "precision": self.precision.to_json(),
            "weak": self.weak,
        }


@dataclass
class PhraseTable:
    label: Label
    rows: list[PhraseRow] = field(default_factory=list)
    soft_labels: int = 0


# The engine's inferred-term sources (annotation.engine.lexicon.SOURCES) as the table names them.
_SOURCE_NAMES = {
    "lexicon-synonym": "synonym",
    "abbreviation": "abbreviation",
    "implied-sign": "implied",
    "normal-statement": "attribute",
    "organ-heading": "organ heading",
}
# Inferred sources a curator may switch off (stored as a disabled mention: an exclusion).
DISABLEABLE_SOURCES = frozenset({"synonym", "abbreviation", "implied", "organ heading"})


def label_inferred_phrases(engine_schema: Schema, label_name: str) -> dict[str, str]:
    """Phrases the engine adds to a label beyond its own: {phrase: source}.

    From the engine's contract `schema_inferred_phrases` (lexicon synonyms, abbreviations,
    implied signs, attribute anchors, organ-heading remainders; exclusions are left out), plus the
    built-in schema's attribute anchors and always-uncertain phrases.
    """
    from annotation.engine.lexicon import schema_inferred_phrases

    out: dict[str, str] = {}
    spec = next((s for s in engine_schema.labels if s.name == label_name), None)
    if spec is None:
        return out
    for term in schema_inferred_phrases(engine_schema):
        if term["label"] != label_name or term["kind"] == "exclusion":
            continue
        out.setdefault(term["text"], _SOURCE_NAMES.get(term["source"], term["source"]))
    for phrase in spec.attributes:
        out.setdefault(phrase, "attribute")
    for phrase in spec.uncertain:
        out.setdefault(phrase, "uncertain")
    return out


def protocol_reports(protocol: Protocol) -> QuerySet[Report]:
    return Report.objects.filter(study__protocol=protocol)


def phrase_stats(*, protocol: Protocol, label: Label) -> tuple[dict[str, PhraseStats], int]:
    """Per normalised phrase text: hits, reports touched, negated and uncertain hits; and the soft-label count."""
    if connection.vendor == "postgresql":
        return _phrase_stats_postgresql(protocol, label)
    stats: dict[str, PhraseStats] = defaultdict(PhraseStats)
    rows = SoftLabel.objects.filter(label=label, report__study__protocol=protocol).values_list("report_id", "evidence")
    n = 0
    for _report_id, evidence in rows.iterator(chunk_size=5000):
        n += 1
        touched: set[str] = set()
        for item in evidence or ():
            text = normalise_phrase(str(item.get("phrase", "")))
            mods = set(item.get("modifiers") or ())
            row = stats[text]
            row.hits += 1
            row.negated += bool(mods & NEGATED)
            row.uncertain += bool(mods & UNCERTAIN)
            touched.add(text)
        for text in touched:
            stats[text].reports += 1
    return dict(stats), n


def _phrase_stats_postgresql(protocol: Protocol, label: Label) -> tuple[dict[str, PhraseStats], int]:
    soft, report, study = SoftLabel._meta.db_table, Report._meta.db_table, Study._meta.db_table
    sql = (
        "SELECT lower(e->>'phrase'), count(*), count(DISTINCT s.report_id), "
        "count(*) FILTER (WHERE e->'modifiers' ?| %s), count(*) FILTER (WHERE e->'modifiers' ?| %s) "
        f"FROM {soft} s JOIN {report} r ON r.id = s.report_id JOIN {study} st ON st.id = r.study_id "
        "CROSS JOIN LATERAL jsonb_array_elements(s.evidence) e "
        "WHERE s.label_id = %s AND st.protocol_id = %s GROUP BY 1"
    )
    count_sql = (
        f"SELECT count(*) FROM {soft} s JOIN {report} r ON r.id = s.report_id JOIN {study} st ON st.id = r.study_id "
        "WHERE s.label_id = %s AND st.protocol_id = %s"
    )
    stats: dict[str, PhraseStats] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [sorted(NEGATED), sorted(UNCERTAIN), label.pk, protocol.pk])
        for text, hits, reports, negated, uncertain in cursor.fetchall():
            key = normalise_phrase(text or "")
            row = stats.setdefault(key, PhraseStats())
            row.hits += hits
            row.reports += reports
            row.negated += negated
            row.uncertain += uncertain
        cursor.execute(count_sql, [label.pk, protocol.pk])
        (n,) = cursor.fetchone()
    return stats, n


def phrase_table(*, protocol: Protocol, label: Label, sort: str = "priority", descending: bool = False, show: str = "all") -> PhraseTable:
    """Every phrase that can fire for `label`, and every one that has fired, with stats and precision.

    The caller has checked that the user may see the protocol (and that `label` is in its schema).
    """
    stats, n = phrase_stats(protocol=protocol, label=label)
    precision = phrase_precision_by_text(label, protocol=protocol)
    curator_added = set(
        PhraseChange.objects.filter(label=label, revisions__before__isnull=True, revisions__phrase__isnull=False).values_list(
            "revisions__phrase_id", flat=True
        )
    )
    rows: list[PhraseRow] = []
    seen: set[str] = set()
    unmeasured = precision_estimate(0, 0)
    for phrase in Phrase.objects.filter(label=label, kind=PhraseKind.MENTION).order_by("order", "text"):
        text = normalise_phrase(phrase.text)
        seen.add(text)
        rows.append(
            PhraseRow(
                text=text, source="curator" if phrase.pk in curator_added else "schema", phrase_id=phrase.pk,
                priority=phrase.order, enabled=phrase.enabled, stats=stats.get(text, PhraseStats()),
                precision=precision.get(text, unmeasured), prior=phrase.precision,
            )
        )
    for text, source in sorted(label_inferred_phrases(schema_to_engine(label.schema), label.name).items()):
        if text in seen:
            continue
        seen.add(text)
        rows.append(
            PhraseRow(text=text, source=source, phrase_id=None, priority=None, enabled=True,
                      stats=stats.get(text, PhraseStats()), precision=precision.get(text, unmeasured))
        )
    # Phrases that fired under an earlier phrase set and are gone now still explain stored labels.
    for text, row_stats in sorted(stats.items()):
        if text and text not in seen:
            rows.append(PhraseRow(text=text, source="earlier", phrase_id=None, priority=None, enabled=False,
                                  stats=row_stats, precision=precision.get(text, unmeasured)))
    top = max((r.hits for r in rows), default=0)
    for row in rows:
        row.hit_share = row.hits / top if top else 0.0
    if show == "weak":
        rows = [r for r in rows if r.weak]
    elif show == "enabled":
        rows = [r for r in rows if r.enabled]
    elif show == "disabled":
        rows = [r for r in rows if not r.enabled]
    elif show == "inferred":
        rows = [r for r in rows if r.inferred]
    elif show == "curator":
        rows = [r for r in rows if r.source == "curator"]
    rows.sort(key=SORTS.get(sort, SORTS["priority"]), reverse=descending)
    return PhraseTable(label=label, rows=rows, soft_labels=n)


def phrase_changes_for_label(*, label: Label, limit: int = 50) -> list[PhraseChange]:
    """The label's recent phrase changes, newest first, with their revisions, actor and job."""
    return list(
        PhraseChange.objects.filter(label=label)
        .select_related("actor", "job", "revert_of")
        .prefetch_related("revisions", "reverted_by")
        .order_by("-created_at", "-id")[:limit]
    )


def label_for_protocol(*, protocol: Protocol, label_id: int | None = None, name: str | None = None) -> Label | None:
    """A label of the protocol's schema by id or name, or None."""
    from annotation.selectors.queue import protocol_schema  # read only: selectors do not store

    labels = Label.objects.filter(schema=protocol_schema(protocol)).select_related("schema")
    if label_id is not None:
        return labels.filter(pk=label_id).first()
    return labels.filter(name=name).first()


def soft_labels_for_study(study: Any, user: Any) -> dict[str, dict[str, Any]]:
    """The study's soft labels as {label: {"value", "p"}} (mentioned labels only; latest report wins).

    Registered as the "soft_labels" extra of the study API (reports.hooks); the caller checked access.
    """
    rows = (
        SoftLabel.objects.filter(report__study_id=study.pk)
        .order_by("report_id", "label__order")
        .values_list("label__name", "value", "p")
    )
    return {name: {"value": value, "p": p} for name, value, p in rows}

