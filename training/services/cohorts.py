"""Freezing cohorts: final labels (and soft labels where asked) into an immutable, hashed snapshot.

The pipeline (docs/COHORTS.md): candidate studies (protocol, filters, a report) → per label the
final label (annotation.selectors.final_labels) or, for `confirmed+soft`, the engine's soft label
→ targets through the uncertain policy → patient-level, seeded, stratified splits → summary,
content SHA-256 and export file SHA-256s → one transaction writing the Cohort and its rows.
Small cohorts freeze inside the request; larger ones in a `cohort_freeze` job.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet

from annotation.models import ConfirmValue, SoftLabel
from annotation.selectors.final_labels import ADJUDICATED, AGREED, final_labels_for_studies
from annotation.selectors.queue import protocol_labels
from reports.jobs.runner import JobFailed, JobOutcome
from reports.models import Job, Protocol, Study
from reports.services.audit import audit_record
from reports.services.jobs import job_create, job_progress
from training.apps import COHORT_EXPORT_ACTION
from training.models import (
    AgreementFilter,
    Cohort,
    CohortSource,
    CohortStudy,
    Split,
    UncertainPolicy,
)
from training.selectors.cohorts import EXPORT_FORMATS, export_line, export_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

COHORT_FREEZE_JOB = "cohort_freeze"
# Version of the hash's canonical form and of the split method: bump when either changes, so an
# old cohort's hash is never compared with a new one's by mistake.
HASH_FORMAT = "radlabel-cohort/1"
SPLIT_METHOD = "patient-greedy-stratified/1"
DEFAULT_FRACTIONS: dict[str, float] = {Split.TRAIN.value: 0.7, Split.VALIDATION.value: 0.15, Split.TEST.value: 0.15}
# A label-vector stratum needs this many patients, else the patient falls back to its rarest
# positive label, and then to one "rest" stratum.
MIN_STRATUM = 6
CHUNK = 2000
P_DIGITS = 6
# progress(done, total, message): heartbeats of a freeze job (job_progress raises JobCancelled).
Progress = Callable[[int, int, str], None]

_TARGET = {ConfirmValue.POSITIVE: 1, ConfirmValue.NEGATIVE: 0, ConfirmValue.ABSENT: 0}
_CONFIRMED_P = {ConfirmValue.POSITIVE: 1.0, ConfirmValue.NEGATIVE: 0.0, ConfirmValue.ABSENT: 0.0, ConfirmValue.UNCERTAIN: 0.5}
_UNCERTAIN_TARGET = {UncertainPolicy.IGNORE: None, UncertainPolicy.ZEROS: 0, UncertainPolicy.ONES: 1}
_ALLOWED = {
    AgreementFilter.AGREED_OR_ADJUDICATED: {AGREED, ADJUDICATED},
    AgreementFilter.AGREED: {AGREED},
    AgreementFilter.ADJUDICATED: {ADJUDICATED},
}


class CohortInvalid(ValueError):
    """The request names unknown labels, values or filters; {field: message}."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


class CohortEmpty(ValueError):
    """No study qualifies; the message says why (counts only, never PHI)."""


@dataclass(frozen=True)
class CohortSpec:
    """A cohort request, canonical: labels in schema order, modalities sorted, fractions fixed."""

    protocol_id: int
    name: str
    labels: tuple[str, ...]
    source: str = CohortSource.CONFIRMED
    seed: int = 0
    uncertain: str = UncertainPolicy.IGNORE
    agreement: str = AgreementFilter.AGREED_OR_ADJUDICATED
    modalities: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    fractions: tuple[tuple[str, float], ...] = tuple(DEFAULT_FRACTIONS.items())

    def params(self) -> dict[str, Any]:
        """What the cohort records and hashes: everything that decides its content, not its name."""
        return {
            "format": HASH_FORMAT,
            "protocol": self.protocol_id,
            "labels": list(self.labels),
            "source": self.source,
            "uncertain": self.uncertain,
            "agreement": self.agreement,
            "modality": list(self.modalities),
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "seed": self.seed,
            "split": {
                "method": SPLIT_METHOD,
                "unit": "patient",
                "stratify": "label vector, then rarest positive label",
                "fractions": dict(self.fractions),
            },
        }

    def as_job_params(self) -> dict[str, Any]:
        return {"name": self.name, **self.params()}


def cohort_spec_build(*, protocol: Protocol, data: Mapping[str, Any]) -> CohortSpec:
    """Validate a request against the protocol's schema and make it canonical.

    `data` keys: name, labels (names; empty or missing: every label), source, seed, uncertain,
    agreement, modality (a name or a list), date_from, date_to (dates or ISO strings).
    """
    errors: dict[str, str] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the cohort a name."
    elif len(name) > 100:
        errors["name"] = "At most 100 characters."
    schema_labels = [label.name for label in protocol_labels(protocol)]
    asked = list(data.get("labels") or [])
    unknown = sorted({str(n) for n in asked} - set(schema_labels))
    if unknown:
        errors["labels"] = "Unknown labels: " + ", ".join(repr(n) for n in unknown)
    labels = tuple(n for n in schema_labels if n in set(asked)) if asked else tuple(schema_labels)
    if not labels and "labels" not in errors:
        errors["labels"] = "The protocol's schema has no labels."
    choices = {
        "source": (CohortSource.values, CohortSource.CONFIRMED),
        "uncertain": (UncertainPolicy.values, UncertainPolicy.IGNORE),
        "agreement": (AgreementFilter.values, AgreementFilter.AGREED_OR_ADJUDICATED),
    }
    chosen: dict[str, str] = {}
    for key, (allowed, default) in choices.items():
        value = data.get(key) or default
        if value not in allowed:
            errors[key] = f"Expected one of {', '.join(allowed)}."
        chosen[key] = str(value)
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) and not (isinstance(seed, str) and seed.isdigit()):
        errors["seed"] = "A whole number."
        seed = 0
    modality = data.get("modality") or ()
    modalities = tuple(sorted({str(m).strip().upper() for m in ([modality] if isinstance(modality, str) else modality) if str(m).strip()}))
    dates: dict[str, dt.date | None] = {}
    for key in ("date_from", "date_to"):
        value = data.get(key)
        if isinstance(value, str) and value:
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                errors[key] = "A date, YYYY-MM-DD."
                value = None
        dates[key] = value or None
    if dates["date_from"] and dates["date_to"] and dates["date_from"] > dates["date_to"]:
        errors["date_to"] = "The end date is before the start date."
    if errors:
        raise CohortInvalid(errors)
    return CohortSpec(
        protocol_id=protocol.pk, name=name, labels=labels, seed=int(seed), modalities=modalities,
        date_from=dates["date_from"], date_to=dates["date_to"], **chosen,
    )


def cohort_spec_from_params(params: Mapping[str, Any]) -> CohortSpec:
    """The spec a job (or a cohort) recorded, back as a CohortSpec."""
    return CohortSpec(
        protocol_id=params["protocol"], name=params["name"], labels=tuple(params["labels"]), source=params["source"],
        seed=params["seed"], uncertain=params["uncertain"], agreement=params["agreement"],
        modalities=tuple(params["modality"]),
        date_from=dt.date.fromisoformat(params["date_from"]) if params["date_from"] else None,
        date_to=dt.date.fromisoformat(params["date_to"]) if params["date_to"] else None,
        # JSON objects come back from PostgreSQL's jsonb in its own key order: restore ours.
        fractions=_fraction_items(params["split"]["fractions"]),
    )


def _fraction_items(fractions: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """The split fractions in train, validation, test order, whatever order the mapping has."""
    order = {name: index for index, name in enumerate(Split.values)}
    return tuple(sorted(fractions.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


# --- building rows ---


@dataclass(slots=True)
class CohortRow:
    study_id: int
    group: str
    text_sha256: str
    values: tuple[str, ...]
    targets: tuple[int | None, ...]
    sources: tuple[str, ...]
    p: tuple[float | None, ...]
    split: str = ""


@dataclass
class BuildStats:
    candidates: int = 0
    pending: int = 0  # candidates left out: some asked label has no (allowed) final value
    confirmed: int = 0
    soft: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def cohort_candidates(protocol: Protocol, spec: CohortSpec) -> QuerySet[Study]:
    """The protocol's studies with a report that pass the spec's filters."""
    qs = Study.objects.filter(protocol=protocol, report__isnull=False)
    if spec.modalities:
        qs = qs.filter(modality__in=spec.modalities)
    if spec.date_from:
        qs = qs.filter(study_date__gte=spec.date_from)
    if spec.date_to:
        qs = qs.filter(study_date__lte=spec.date_to)
    return qs


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def uncertain_target(value: str, policy: str) -> int | None:
    """The training target of a raw value under an uncertain policy (1, 0, or None = no target)."""
    if value == ConfirmValue.UNCERTAIN:
        return _UNCERTAIN_TARGET[UncertainPolicy(policy)]
    return _TARGET[ConfirmValue(value)]


def cohort_rows_build(
    *, protocol: Protocol, spec: CohortSpec, progress: Progress | None = None
) -> tuple[list[CohortRow], BuildStats]:
    """Every qualifying study's row (split not yet assigned), in study id order.

    Three queries per 2,000 candidates (studies, their confirmations, their soft labels when
    asked), whatever the number of labels; nothing is held but the compact rows.
    """
    labels = [label for label in protocol_labels(protocol) if label.name in set(spec.labels)]
    label_ids = [label.pk for label in labels]
    allowed = _ALLOWED[AgreementFilter(spec.agreement)]
    with_soft = spec.source == CohortSource.CONFIRMED_SOFT
    stats = BuildStats()
    rows: list[CohortRow] = []
    candidates = cohort_candidates(protocol, spec).order_by("id").values_list("id", "patient__pseudonym", "report__text_sha256")
    total = candidates.count() if progress else 0
    for chunk in _chunks(candidates.iterator(chunk_size=CHUNK), CHUNK):
        ids = [row[0] for row in chunk]
        finals = final_labels_for_studies(protocol=protocol, study_ids=ids, label_ids=label_ids)
        soft: dict[int, dict[int, tuple[str, float]]] = defaultdict(dict)
        if with_soft:
            for study_id, label_id, value, p in SoftLabel.objects.filter(
                report__study_id__in=ids, label_id__in=label_ids
            ).values_list("report__study_id", "label_id", "value", "p"):
                soft[study_id][label_id] = (value, p)
        for study_id, pseudonym, text_sha256 in chunk:
            stats.candidates += 1
            row = _row(
                study_id, pseudonym, text_sha256, label_ids, finals.get(study_id, {}),
                soft.get(study_id, {}) if with_soft else None, allowed, spec.uncertain,
            )
            if row is None:
                stats.pending += 1
                continue
            rows.append(row)
        if progress:
            progress(stats.candidates, total, f"Read {stats.candidates} of {total} studies")
    for row in rows:
        stats.confirmed += row.sources.count(CohortSource.CONFIRMED)
        stats.soft += row.sources.count("soft")
    return rows, stats


def _row(
    study_id: int,
    pseudonym: str | None,
    text_sha256: str,
    label_ids: Sequence[int],
    finals: Mapping[int, Any],
    soft: Mapping[int, tuple[str, float]] | None,
    allowed: set[str],
    policy: str,
) -> CohortRow | None:
    values: list[str] = []
    sources: list[str] = []
    p: list[float | None] = []
    for label_id in label_ids:
        final = finals.get(label_id)
        if final is not None and final.how in allowed:
            values.append(final.value)
            sources.append(CohortSource.CONFIRMED.value)
            p.append(_CONFIRMED_P[final.value])
        elif soft is not None:
            # The engine leaves labels a report does not mention without a row: absent, p 0.
            value, prob = soft.get(label_id, (ConfirmValue.ABSENT.value, 0.0))
            values.append(value)
            sources.append("soft")
            p.append(round(prob, P_DIGITS))
        else:
            return None
    return CohortRow(
        study_id=study_id,
        # The split unit: a patient, or the study alone when it has none (never merged together).
        group=f"patient:{pseudonym}" if pseudonym is not None else f"study:{study_id}",
        text_sha256=text_sha256,
        values=tuple(values),
        targets=tuple(uncertain_target(value, policy) for value in values),
        sources=tuple(sources),
        p=tuple(p),
    )


# --- splits ---


def split_assign(rows: Sequence[CohortRow], *, seed: int, fractions: Mapping[str, float]) -> None:
    """Give every row a split, keeping each patient's studies together.

    Patients are stratified by their label vector (a target of 1 on any of their studies), a
    rare vector falls back to the patient's rarest positive label, then to one "rest" stratum.
    Strata and the patients inside each are shuffled with `seed` (from a sorted start, so the
    database's row order does not matter), then dealt in that order to whichever split is
    furthest below its fraction: consecutive patients of a stratum spread over the splits.
    """
    groups: dict[str, list[CohortRow]] = defaultdict(list)
    for row in rows:
        groups[row.group].append(row)
    width = len(rows[0].targets) if rows else 0
    vectors = {
        key: tuple(int(any(r.targets[i] == 1 for r in members)) for i in range(width)) for key, members in groups.items()
    }
    by_vector = Counter(vectors.values())
    positives = Counter(i for vector in vectors.values() for i, bit in enumerate(vector) if bit)
    strata: dict[str, list[str]] = defaultdict(list)
    fallback: dict[str, str] = {}
    for key, vector in vectors.items():
        if by_vector[vector] >= MIN_STRATUM:
            strata["v:" + "".join(map(str, vector))].append(key)
        else:
            on = [i for i, bit in enumerate(vector) if bit]
            fallback[key] = f"r:{min(on, key=lambda i: (positives[i], i))}" if on else "rest"
    fallback_counts = Counter(fallback.values())
    for key, stratum in fallback.items():
        strata[stratum if fallback_counts[stratum] >= MIN_STRATUM else "rest"].append(key)
    rng = random.Random(f"{HASH_FORMAT}:{seed}")
    order = sorted(strata)
    rng.shuffle(order)
    names = [name for name, _ in _fraction_items(fractions)]
    assigned = dict.fromkeys(names, 0)
    done = 0
    for stratum in order:
        members = sorted(strata[stratum])
        rng.shuffle(members)
        for key in members:
            size = len(groups[key])
            done += size
            split = max(names, key=lambda name: fractions[name] * done - assigned[name])
            assigned[split] += size
            for row in groups[key]:
                row.split = split


# --- summary, hash ---


def cohort_summary(rows: Iterable[CohortRow], labels: Sequence[str]) -> dict[str, Any]:
    """{"labels": {label: {value: {split: n}}}, "sources": {label: {source: n}}}."""
    values: dict[str, dict[str, Counter]] = {name: defaultdict(Counter) for name in labels}
    sources: dict[str, Counter] = {name: Counter() for name in labels}
    for row in rows:
        for name, value, source in zip(labels, row.values, row.sources, strict=True):
            values[name][value][row.split] += 1
            sources[name][source] += 1
    return {
        "labels": {
            name: {value: dict(sorted(counts.items())) for value, counts in sorted(per_value.items())}
            for name, per_value in values.items()
        },
        "sources": {name: dict(sorted(counts.items())) for name, counts in sources.items()},
    }


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def cohort_hash(params: Mapping[str, Any], rows: Iterable[CohortRow]) -> str:
    """SHA-256 of the canonical form: the format line, params, then one line per row by study id.

    Independent of the order rows come in, of database ids other than the studies', of the
    cohort's name, version and creation time.
    """
    digest = hashlib.sha256()
    digest.update(HASH_FORMAT.encode() + b"\n" + _canonical(params) + b"\n")
    for row in sorted(rows, key=lambda r: r.study_id):
        digest.update(
            _canonical([row.study_id, row.group, row.split, row.values, row.targets, row.sources, row.p, row.text_sha256])
            + b"\n"
        )
    return digest.hexdigest()


def _export_hashes(rows: Sequence[CohortRow], labels: Sequence[str], progress: Progress | None = None) -> dict[str, str]:
    """SHA-256 of each export file as the download will stream it (same code, same order)."""
    digests = {fmt: hashlib.sha256() for fmt in EXPORT_FORMATS}
    for fmt, digest in digests.items():
        digest.update(EXPORT_FORMATS[fmt].header(labels))
    ordered = sorted(rows, key=lambda r: r.study_id)
    for index, chunk in enumerate(_chunks(ordered, CHUNK)):
        found = {
            study_id: (accession, pseudonym, text)
            for study_id, accession, pseudonym, text in Study.objects.filter(pk__in=[r.study_id for r in chunk]).values_list(
                "id", "accession", "patient__pseudonym", "report__text"
            )
        }
        for row in chunk:
            accession, pseudonym, text = found[row.study_id]
            record = export_record(
                study_id=row.study_id, accession=accession, patient=pseudonym, split=row.split, labels=labels,
                values=dict(zip(labels, row.values, strict=True)), targets=dict(zip(labels, row.targets, strict=True)),
                sources=dict(zip(labels, row.sources, strict=True)), p=dict(zip(labels, row.p, strict=True)), text=text,
            )
            for fmt, digest in digests.items():
                digest.update(export_line(fmt, record))
        if progress:
            done = min(len(ordered), (index + 1) * CHUNK)
            progress(done, len(ordered), f"Hashed the export files of {done} of {len(ordered)} studies")
    return {fmt: digest.hexdigest() for fmt, digest in digests.items()}


# --- freezing ---


def _empty_reason(stats: BuildStats, spec: CohortSpec) -> str:
    if stats.candidates == 0:
        return "No study of the protocol matches the filters (modality, dates) and has a report."
    how = {
        AgreementFilter.AGREED_OR_ADJUDICATED: "agreed or adjudicated",
        AgreementFilter.AGREED: "agreed",
        AgreementFilter.ADJUDICATED: "adjudicated",
    }[AgreementFilter(spec.agreement)]
    return (
        f"{stats.candidates} studies match the filters, but none has an {how} final label for every "
        f"chosen label yet; confirm more studies, choose fewer labels, or use confirmed+soft."
    )


def cohort_freeze(
    *, spec: CohortSpec, actor: AbstractBaseUser | None, job: Job | None = None,
    progress: Progress | None = None,
) -> Cohort:
    """Build, split, hash and write the next version of the named cohort. Raises CohortEmpty."""
    protocol = Protocol.objects.get(pk=spec.protocol_id)
    rows, stats = cohort_rows_build(protocol=protocol, spec=spec, progress=progress)
    if not rows:
        raise CohortEmpty(_empty_reason(stats, spec))
    params = spec.params()
    fractions = params["split"]["fractions"]
    split_assign(rows, seed=spec.seed, fractions=fractions)
    labels = list(spec.labels)
    sha256 = cohort_hash(params, rows)
    export_sha256 = _export_hashes(rows, labels, progress)
    summary = cohort_summary(rows, labels)
    splits = dict.fromkeys(fractions, 0)
    for row in rows:
        splits[row.split] += 1
    if progress:
        progress(len(rows), len(rows), f"Writing {len(rows)} rows")
    for attempt in range(3):
        try:
            with transaction.atomic():
                latest = Cohort.objects.filter(protocol=protocol, name=spec.name).aggregate(v=Max("version"))["v"] or 0
                cohort = Cohort.objects.create(
                    protocol=protocol, name=spec.name, version=latest + 1, labels=labels, params=params,
                    sha256=sha256, export_sha256=export_sha256, study_count=len(rows), splits=splits,
                    summary=summary, created_by=actor, job=job,
                )
                # No heartbeat in here: it would commit only with the cohort, and hold the
                # job's row lock against a cancel until then. The write is one bounded pass.
                for chunk in _chunks(rows, CHUNK):
                    CohortStudy.objects.bulk_create(
                        CohortStudy(
                            cohort=cohort, study_id=row.study_id, group=row.group, split=row.split,
                            values=dict(zip(labels, row.values, strict=True)),
                            targets=dict(zip(labels, row.targets, strict=True)),
                            sources=dict(zip(labels, row.sources, strict=True)),
                            p=dict(zip(labels, row.p, strict=True)),
                            text_sha256=row.text_sha256,
                        )
                        for row in chunk
                    )
            return cohort
        except IntegrityError:
            # Two freezes of the same name took the same version: the loser takes the next one.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def inline_limit() -> int:
    """Cohorts of up to this many candidate studies freeze inside the request."""
    return int(getattr(settings, "COHORT_INLINE_STUDIES", 2000))


def cohort_request(*, spec: CohortSpec, actor: AbstractBaseUser) -> Cohort | Job:
    """Freeze now when small (a Cohort), else queue a `cohort_freeze` job (a Job).

    Raises CohortEmpty (inline only; a job fails with the same message).
    """
    protocol = Protocol.objects.get(pk=spec.protocol_id)
    if cohort_candidates(protocol, spec).count() <= inline_limit():
        return cohort_freeze(spec=spec, actor=actor)
    return job_create(kind=COHORT_FREEZE_JOB, protocol=protocol, actor=actor, params=spec.as_job_params())


def cohort_freeze_job(job: Job) -> JobOutcome:
    """The body of a `cohort_freeze` job (training.cohort_tasks)."""
    spec = cohort_spec_from_params(job.params)

    def progress(done: int, total: int, message: str) -> None:
        job_progress(job=job, done=done, total=total, message=message)

    done = Cohort.objects.filter(job=job).first()
    if done is not None:
        # A re-run after the worker died between the commit and job_succeed: the cohort is
        # whole (one transaction), so report it rather than freeze another version.
        return _job_outcome(done)
    try:
        cohort = cohort_freeze(spec=spec, actor=job.created_by, job=job, progress=progress)
    except CohortEmpty as empty:
        raise JobFailed(str(empty)) from None
    return _job_outcome(cohort)


def _job_outcome(cohort: Cohort) -> JobOutcome:
    return JobOutcome(
        result={"cohort": cohort.pk, "sha256": cohort.sha256, "studies": cohort.study_count, "splits": cohort.splits},
        message=f"Froze {cohort.name} v{cohort.version}: {cohort.study_count} studies",
    )


def cohort_preview(*, spec: CohortSpec) -> dict[str, Any]:
    """How many studies a freeze would take now, for the form's live count (no write).

    Exact up to the inline limit; above it, the number of candidates only (`exact` False).
    """
    protocol = Protocol.objects.get(pk=spec.protocol_id)
    candidates = cohort_candidates(protocol, spec).count()
    if candidates > inline_limit():
        return {"candidates": candidates, "studies": None, "exact": False, "reason": ""}
    rows, stats = cohort_rows_build(protocol=protocol, spec=spec)
    return {
        "candidates": candidates, "studies": len(rows), "exact": True,
        "reason": "" if rows else _empty_reason(stats, spec),
    }


def cohort_export_audit(
    *, cohort: Cohort, actor: AbstractBaseUser, fmt: str, request: HttpRequest | None = None, channel: str = "page"
) -> None:
    """Audit one export of a cohort (ids and counts only), before its first byte is sent."""
    audit_record(
        actor=actor, action=COHORT_EXPORT_ACTION, obj=cohort, protocol=cohort.protocol, request=request, channel=channel,
        detail={"cohort": cohort.pk, "version": cohort.version, "format": fmt, "rows": cohort.study_count,
                "sha256": cohort.export_sha256.get(fmt, "")},
    )
