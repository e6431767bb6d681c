"""Reads for quality assessment: matches in context, quality-sample estimates, calibration data."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from annotation.engine.schema import normalise_phrase
from annotation.metrics.calibration import (
    CalibrationMap,
    ReliabilityBin,
    apply_calibration,
    expected_calibration_error,
    reliability_bins,
)
from annotation.metrics.sampling import RatioEstimate, Stratum, stratified_ratio
from annotation.models import (
    ConfirmationKind,
    ConfirmationLabel,
    ConfirmValue,
    Label,
    LabelCalibration,
    MatchJudgement,
    QualitySample,
    QualitySampleItem,
    SoftLabel,
)
from annotation.selectors.precision import (
    NOT_AFFIRMED,
    PrecisionEstimate,
    is_affirmed,
    phrase_precision_by_text,
)
from reports.models import Protocol, Report

# A confirmation or judgement is held out of the calibration fit when its study's hash lands here.
HELD_OUT_SHARE = 5  # one in five
CALIBRATION_MIN_FIT = 50
CALIBRATION_MIN_CLASS = 10
ISOTONIC_MIN_FIT = 200  # below this, Platt's two parameters overfit less than isotonic's steps
KWIC_WINDOW = 160
_SENTENCE_END = re.compile(r"[.!?\n]")


# --- Matches in context ---


@dataclass(slots=True)
class PhraseHits:
    text: str
    hits: int = 0
    affirmed: int = 0
    reports: int = 0
    precision: PrecisionEstimate | None = None


@dataclass(slots=True)
class Match:
    report_id: int
    study_id: int
    start: int
    end: int
    phrase: str
    modifiers: list[str]
    section: str
    before: str = ""
    hit: str = ""
    after: str = ""
    verdict: str = ""
    note: str = ""
    judged_by_me: bool = False


def _label_soft_labels(protocol: Protocol, label: Label) -> QuerySet[SoftLabel]:
    return SoftLabel.objects.filter(label=label, report__study__protocol=protocol)


_NOT_AFFIRMED_SQL = " AND ".join(f"{{mods}} NOT LIKE '%%{m}%%'" for m in sorted(NOT_AFFIRMED))
_HITS_SQL = {
    # One row per evidence span, unnested in the database: JSON is never decoded in Python.
    "sqlite": (
        "SELECT json_extract(e.value, '$.phrase'), COUNT(*), "
        "SUM(CASE WHEN " + _NOT_AFFIRMED_SQL.format(mods="COALESCE(json_extract(e.value, '$.modifiers'), '')") + " THEN 1 ELSE 0 END), "
        "COUNT(DISTINCT s.report_id) "
        "FROM annotation_softlabel s JOIN reports_report r ON r.id = s.report_id "
        "JOIN reports_study st ON st.id = r.study_id, json_each(s.evidence) e "
        "WHERE s.label_id = %s AND st.protocol_id = %s GROUP BY 1"
    ),
    "postgresql": (
        "SELECT e.value->>'phrase', COUNT(*), "
        "SUM(CASE WHEN " + _NOT_AFFIRMED_SQL.format(mods="COALESCE((e.value->'modifiers')::text, '')") + " THEN 1 ELSE 0 END), "
        "COUNT(DISTINCT s.report_id) "
        "FROM annotation_softlabel s JOIN reports_report r ON r.id = s.report_id "
        "JOIN reports_study st ON st.id = r.study_id CROSS JOIN LATERAL jsonb_array_elements(s.evidence) e "
        "WHERE s.label_id = %s AND st.protocol_id = %s GROUP BY 1"
    ),
}


def _phrase_hit_counts(protocol: Protocol, label: Label) -> dict[str, PhraseHits]:
    phrases: dict[str, PhraseHits] = {}
    sql = _HITS_SQL.get(connection.vendor)
    if sql is not None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [label.pk, protocol.pk])
            for raw, hits, affirmed, reports in cursor.fetchall():
                row = phrases.setdefault(normalise_phrase(raw or ""), PhraseHits(normalise_phrase(raw or "")))
                row.hits += hits
                row.affirmed += affirmed or 0
                row.reports += reports  # raw spellings of one phrase differ only in case: rare overlap
        return phrases
    for evidence in _label_soft_labels(protocol, label).values_list("evidence", flat=True).iterator(chunk_size=2000):
        seen: set[str] = set()
        for e in evidence or ():
            text = normalise_phrase(e.get("phrase", ""))
            row = phrases.setdefault(text, PhraseHits(text))
            row.hits += 1
            row.affirmed += is_affirmed(e)
            if text not in seen:
                row.reports += 1
                seen.add(text)
    return phrases


def label_phrase_hits(*, protocol: Protocol, label: Label) -> list[PhraseHits]:
    """Every phrase that fired for `label` in the protocol, most hits first, with its precision."""
    phrases = _phrase_hit_counts(protocol, label)
    precision = phrase_precision_by_text(label, protocol=protocol)
    for text, row in phrases.items():
        row.precision = precision.get(text)
    return sorted(phrases.values(), key=lambda r: (-r.hits, r.text))


def _sentence(text: str, start: int, end: int) -> tuple[str, str, str]:
    """The sentence around [start, end), cut to KWIC_WINDOW characters either side."""
    left = max((m.end() for m in _SENTENCE_END.finditer(text, max(0, start - KWIC_WINDOW), start)), default=max(0, start - KWIC_WINDOW))
    m = _SENTENCE_END.search(text, end, min(len(text), end + KWIC_WINDOW))
    right = m.end() if m else min(len(text), end + KWIC_WINDOW)
    return text[left:start].lstrip(), text[start:end], text[end:right].rstrip()


@dataclass(slots=True)
class MatchPage:
    matches: list[Match]
    number: int
    pages: int
    total: int
    reports: list[Report] = field(default_factory=list)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def phrase_matches(
    *, protocol: Protocol, label: Label, phrase: str, page: int = 1, per_page: int = 20, judge: Any = None,
    affirmed_only: bool = False,
) -> MatchPage:
    """One page of the phrase's hits in the protocol, in report order, with text around them.

    The caller audits the reads of `MatchPage.reports` (their text is on the page).
    """
    wanted = normalise_phrase(phrase)
    spans: list[tuple[int, int, dict[str, Any]]] = []
    rows = _label_soft_labels(protocol, label).filter(evidence__icontains=f'"phrase": "{wanted}"')
    for report_id, study_id, evidence in rows.order_by("report_id").values_list(
        "report_id", "report__study_id", "evidence"
    ).iterator(chunk_size=2000):
        for e in evidence or ():
            if normalise_phrase(e.get("phrase", "")) == wanted and (not affirmed_only or is_affirmed(e)):
                spans.append((report_id, study_id, e))
    total = len(spans)
    pages = max(1, -(-total // per_page))
    number = min(max(1, page), pages)
    chunk = spans[(number - 1) * per_page : number * per_page]
    reports = {r.pk: r for r in Report.objects.filter(pk__in={s[0] for s in chunk}).only("id", "text", "study_id")}
    # The judge's own verdict where there is one, else the latest anyone gave.
    latest: dict[tuple[int, int, int], MatchJudgement] = {}
    mine: dict[tuple[int, int, int], MatchJudgement] = {}
    for j in MatchJudgement.objects.filter(label=label, report_id__in=list(reports)).order_by("at", "id"):
        key = (j.report_id, j.start, j.end)
        latest[key] = j
        if judge is not None and j.judge_id == judge.pk:
            mine[key] = j
    verdicts = {**latest, **mine}
    matches = []
    for report_id, study_id, e in chunk:
        report = reports.get(report_id)
        start, end = int(e["start"]), int(e["end"])
        match = Match(report_id, study_id, start, end, wanted, list(e.get("modifiers") or ()), e.get("section", ""))
        if report is not None:
            match.before, match.hit, match.after = _sentence(report.text, start, end)
        verdict = verdicts.get((report_id, start, end))
        if verdict is not None:
            match.verdict, match.note = verdict.verdict, verdict.note
            match.judged_by_me = judge is not None and verdict.judge_id == judge.pk
        matches.append(match)
    return MatchPage(matches, number, pages, total, list(reports.values()))


# --- Quality samples ---


@dataclass(frozen=True, slots=True)
class SampleEstimates:
    judged: int
    size: int
    accuracy: RatioEstimate
    precision: dict[str, RatioEstimate]  # predicted value -> share right
    recall: dict[str, RatioEstimate]  # true value -> share the engine found
    confusion: dict[tuple[str, str], int]  # (predicted, judged) -> sampled count


VALUES = [ConfirmValue.POSITIVE, ConfirmValue.NEGATIVE, ConfirmValue.UNCERTAIN, ConfirmValue.ABSENT]


def sample_estimates(sample: QualitySample) -> SampleEstimates:
    """Population estimates from the judged items, each stratum weighted by N_h / n_h judged."""
    by_stratum: dict[str, list[tuple[str, str]]] = defaultdict(list)
    size = 0
    for stratum, predicted, judged in sample.items.values_list("stratum", "predicted", "judged_value"):
        size += 1
        if judged:
            by_stratum[stratum].append((predicted, judged))
    populations = {key: int(value[0]) for key, value in sample.strata.items()}

    def estimate(y: Any, x: Any) -> RatioEstimate:
        strata = [
            Stratum(populations.get(key, len(pairs)), [(float(y(p, j)), float(x(p, j))) for p, j in pairs])
            for key, pairs in by_stratum.items()
        ]
        return stratified_ratio(strata)

    confusion = Counter(pair for pairs in by_stratum.values() for pair in pairs)
    return SampleEstimates(
        judged=sum(len(p) for p in by_stratum.values()),
        size=size,
        accuracy=estimate(lambda p, j: p == j, lambda p, j: 1),
        precision={v: estimate(lambda p, j, v=v: p == v and j == v, lambda p, j, v=v: p == v) for v in VALUES},
        recall={
            v: estimate(lambda p, j, v=v: p == v and j == v, lambda p, j, v=v: j == v)
            for v in VALUES
            if v != ConfirmValue.ABSENT
        },
        confusion=dict(confusion),
    )


def next_sample_item(sample: QualitySample) -> QualitySampleItem | None:
    return sample.items.filter(judged_value="").order_by("position").select_related("report").first()


def latest_samples(*, protocol: Protocol, label: Label, limit: int = 5) -> list[QualitySample]:
    return list(QualitySample.objects.filter(protocol=protocol, label=label)[:limit])


@dataclass(frozen=True, slots=True)
class LabelQuality:
    label: Label
    sample: QualitySample | None  # the latest; None before the first draw
    estimates: SampleEstimates | None


def quality_overview(*, protocol: Protocol, labels: list[Label]) -> list[LabelQuality]:
    """Per label, in the given order, its latest quality sample in the protocol and that sample's
    estimates: what the quality page shows before a label is chosen."""
    latest: dict[int, QualitySample] = {}
    samples = QualitySample.objects.filter(protocol=protocol, label__in=labels).order_by("label_id", "-created_at", "-id")
    for sample in samples:
        latest.setdefault(sample.label_id, sample)
    rows = []
    for label in labels:
        sample = latest.get(label.pk)
        rows.append(LabelQuality(label, sample, sample_estimates(sample) if sample is not None else None))
    return rows


# --- Calibration ---


def held_out(study_id: int) -> bool:
    """A fixed fifth of studies, by a multiplicative hash of the id (not the id's last digit)."""
    return (study_id * 2654435761) % 4294967296 % HELD_OUT_SHARE == 0


@dataclass(frozen=True, slots=True)
class CalibrationData:
    fit_ps: list[float]
    fit_ys: list[int]
    held_ps: list[float]
    held_ys: list[int]

    @property
    def all_ps(self) -> list[float]:
        return self.fit_ps + self.held_ps

    @property
    def all_ys(self) -> list[int]:
        return self.fit_ys + self.held_ys

    @property
    def fit_positives(self) -> int:
        return sum(self.fit_ys)

    @property
    def enough(self) -> bool:
        positives = sum(self.fit_ys)
        return (
            len(self.fit_ys) >= CALIBRATION_MIN_FIT
            and positives >= CALIBRATION_MIN_CLASS
            and len(self.fit_ys) - positives >= CALIBRATION_MIN_CLASS
        )


def calibration_data(*, protocol: Protocol, label: Label) -> CalibrationData:
    """(p, finding present) pairs: current confirmations of the label (the p the reader saw), and
    judged quality-sample items (the p when drawn). Uncertain answers and absent soft labels
    (no p) are left out. One pair per confirmation or item; split by study into fit / held out."""
    fit_ps: list[float] = []
    fit_ys: list[int] = []
    held_ps: list[float] = []
    held_ys: list[int] = []

    def add(study_id: int, p: float, value: str) -> None:
        if value == ConfirmValue.UNCERTAIN:
            return
        y = int(value == ConfirmValue.POSITIVE)
        if held_out(study_id):
            held_ps.append(p)
            held_ys.append(y)
        else:
            fit_ps.append(p)
            fit_ys.append(y)

    confirmations = ConfirmationLabel.objects.filter(
        label=label,
        soft_p__isnull=False,
        confirmation__study__protocol=protocol,
        confirmation__is_current=True,
        confirmation__withdrawn_at__isnull=True,
        confirmation__kind__in=[ConfirmationKind.READ, ConfirmationKind.ADJUDICATION],
    ).order_by("confirmation_id")
    for study_id, p, value in confirmations.values_list("confirmation__study_id", "soft_p", "value"):
        add(study_id, p, value)
    items = QualitySampleItem.objects.filter(
        sample__protocol=protocol, sample__label=label, predicted_p__isnull=False
    ).exclude(judged_value="").order_by("id")
    for study_id, p, value in items.values_list("report__study_id", "predicted_p", "judged_value"):
        add(study_id, p, value)
    return CalibrationData(fit_ps, fit_ys, held_ps, held_ys)


@dataclass(frozen=True, slots=True)
class CalibrationView:
    label: Label
    data: CalibrationData
    bins: list[ReliabilityBin]
    ece: float | None
    active: LabelCalibration | None
    calibrated_bins: list[ReliabilityBin] | None


def label_calibration(*, protocol: Protocol, label: Label) -> CalibrationView:
    data = calibration_data(protocol=protocol, label=label)
    active = active_calibration(protocol=protocol, label=label)
    calibrated_bins = None
    if active is not None and data.held_ps:
        calibrated_bins = reliability_bins([apply_calibration(active.params, p) for p in data.held_ps], data.held_ys)
    return CalibrationView(
        label=label,
        data=data,
        bins=reliability_bins(data.all_ps, data.all_ys),
        ece=expected_calibration_error(data.all_ps, data.all_ys),
        active=active,
        calibrated_bins=calibrated_bins,
    )


def active_calibration(*, protocol: Protocol, label: Label) -> LabelCalibration | None:
    return LabelCalibration.objects.filter(protocol=protocol, label=label, active=True).first()


def calibration_maps(*, protocol: Protocol) -> dict[int, CalibrationMap]:
    """label id -> active calibration map of the protocol: what p goes through once, at read time."""
    return dict(LabelCalibration.objects.filter(protocol=protocol, active=True).values_list("label_id", "params"))


def calibrated_p(maps: dict[int, CalibrationMap], label_id: int, p: float | None) -> float | None:
    """The engine's p through the label's calibration (unchanged without one)."""
    if p is None:
        return None
    return apply_calibration(maps.get(label_id), p)
