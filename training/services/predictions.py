"""Store a batch of model outputs for a deployment's active version, all or nothing.

A batch is refused whole, naming the first offending item by its index (never by its accession,
which is PHI), when an item is malformed, names an accession that is not a study of the
deployment's protocol, a label the version does not predict, a p outside [0, 1], or repeats a
(study, label) of the same batch or one already stored for this model version.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotation.selectors.queue import protocol_labels
from reports.models import Job, Study
from training.models import Deployment, Prediction
from training.services.monitoring import monitoring_analyse, monitoring_enqueue

logger = logging.getLogger(__name__)

MAX_BATCH = 50_000
# Up to this many stored predictions for the version, the analysis runs inside the request, so
# GET alerts right after a POST sees its outcome; beyond, it runs as a "monitoring" job.
INLINE_ANALYSIS_MAX = 100_000
_IN_CHUNK = 500


class PredictionBatchRejected(ValueError):
    """The batch is refused whole; `index` is the offending item's position (None: the batch)."""

    def __init__(self, index: int | None, field: str, message: str) -> None:
        super().__init__(message)
        self.index, self.field, self.message = index, field, message

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class BatchResult:
    accepted: int
    analysed: bool
    job: Job | None
    analysis: dict[str, Any] | None


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _clean_items(items: Any, labels: set[str]) -> list[tuple[str, str, float]]:
    if not isinstance(items, list) or not items:
        raise PredictionBatchRejected(None, "predictions", "Send a non-empty list of predictions.")
    if len(items) > MAX_BATCH:
        raise PredictionBatchRejected(None, "predictions", f"At most {MAX_BATCH:,} predictions per batch; split it.")
    clean = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise PredictionBatchRejected(index, "", "Each prediction is an object with accession, label and p.")
        accession, label, p = item.get("accession"), item.get("label"), item.get("p")
        if isinstance(accession, int) and not isinstance(accession, bool):
            accession = str(accession)
        if not isinstance(accession, str) or not accession.strip() or len(accession) > 64:
            raise PredictionBatchRejected(index, "accession", "The accession is missing or not a string.")
        if not isinstance(label, str) or label not in labels:
            raise PredictionBatchRejected(index, "label", "Not a label this deployment's model predicts.")
        if isinstance(p, bool) or not isinstance(p, int | float) or not math.isfinite(p) or not 0 <= p <= 1:
            raise PredictionBatchRejected(index, "p", "p must be a number from 0 to 1.")
        key = (accession.strip(), label)
        if key in seen:
            raise PredictionBatchRejected(index, "", "The same accession and label appear earlier in this batch.")
        seen.add(key)
        clean.append((key[0], label, float(p)))
    return clean


def _insert(version_id: int, rows: list[tuple[int, int, float]]) -> None:
    """INSERT the rows with one executemany: building 50,000 model instances for bulk_create
    cost about as much as the rest of the request together (measured on SQLite)."""
    table = connection.ops.quote_name(Prediction._meta.db_table)
    created = Prediction._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
    sql = f"INSERT INTO {table} (version_id, study_id, label_id, p, created_at) VALUES (%s, %s, %s, %s, %s)"  # noqa: S608
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 5000):
            cursor.executemany(sql, [(version_id, study, label, p, created) for study, label, p in chunk])


def prediction_batch_store(
    *, deployment: Deployment, actor: AbstractBaseUser | None, items: Any, analyse: bool = True
) -> BatchResult:
    """Validate and store a batch for the active version; then analyse (inline or as a job).

    Raises PredictionBatchRejected, with nothing stored, for a bad batch. The caller checked the
    actor's role on the deployment's protocol.
    """
    version = deployment.active_version
    if version is None:
        raise PredictionBatchRejected(None, "deployment", "The deployment has no active model version.")
    clean = _clean_items(items, set(version.labels))
    label_ids = {label.name: label.pk for label in protocol_labels(deployment.protocol) if label.name in version.labels}
    accessions = sorted({accession for accession, _, _ in clean})
    study_ids: dict[str, int] = {}
    for chunk in _chunks(accessions):
        study_ids.update(
            Study.objects.filter(protocol=deployment.protocol, accession__in=chunk).values_list("accession", "id")
        )
    for index, (accession, _, _) in enumerate(clean):
        if accession not in study_ids:
            raise PredictionBatchRejected(index, "accession", "No study with this accession in the deployment's protocol.")
    wanted = {(study_ids[accession], label_ids[label]) for accession, label, _ in clean}
    stored: set[tuple[int, int]] = set()
    for chunk in _chunks(sorted({study for study, _ in wanted})):
        stored.update(
            Prediction.objects.filter(version=version, study_id__in=chunk).values_list("study_id", "label_id")
        )
    for index, (accession, label, _) in enumerate(clean):
        if (study_ids[accession], label_ids[label]) in stored:
            raise PredictionBatchRejected(
                index, "", "A prediction for this study and label is already stored for this model version."
            )
    try:
        with transaction.atomic():
            _insert(version.pk, [(study_ids[a], label_ids[label], p) for a, label, p in clean])
    except IntegrityError:
        # Another batch stored one of these meanwhile: refused whole, as a duplicate.
        raise PredictionBatchRejected(
            None, "predictions", "Some predictions were stored meanwhile by another batch; nothing was stored."
        ) from None
    if not analyse:
        return BatchResult(accepted=len(clean), analysed=False, job=None, analysis=None)
    if Prediction.objects.filter(version=version).count() <= INLINE_ANALYSIS_MAX:
        try:
            analysis = monitoring_analyse(deployment=deployment, version=version)
        except Exception:  # noqa: BLE001 - the batch is stored: never answer 500 for it, retry as a job
            logger.exception("monitoring analysis of deployment %s failed inline; queued as a job", deployment.pk)
        else:
            return BatchResult(accepted=len(clean), analysed=True, job=None, analysis=analysis)
    job = monitoring_enqueue(deployment=deployment, actor=actor)
    return BatchResult(accepted=len(clean), analysed=False, job=job, analysis=None)


SCORE_CHUNK = 500


def in_app_score(*, deployment: Deployment, version: Any, job: Job | None = None) -> int:
    """Score the protocol's studies that have a report but no prediction from this in-app version
    (a training job's kept model) and store the predictions; return how many studies were scored.

    Run by the monitoring job (training.monitoring_tasks), which the import of new reports queues
    for deployments whose active version is an in-app model. The model reads report text, so one
    audit row records how many reports this machine read, by id range, with no text.
    """
    from reports.models import Report
    from reports.services.audit import audit_report_read
    from reports.services.jobs import job_progress
    from training.ml import registry
    from training.models import TrainingRun
    from training.services.artifacts import artifact_path

    if version is None or version.training_job_id is None:
        return 0
    run = TrainingRun.objects.filter(job_id=version.training_job_id, job__protocol=deployment.protocol).first()
    path = artifact_path(run) if run is not None else None
    if path is None:
        raise PredictionBatchRejected(None, "model", "The training job's model file is gone.")
    spec = registry.get(run.model_name)  # a text model: deployments refuse image models
    model, model_labels, params = spec.load(path.read_bytes())
    columns = [(j, name) for j, name in enumerate(model_labels) if name in version.labels]
    label_ids = {label.name: label.pk for label in protocol_labels(deployment.protocol)}
    pending = list(
        Report.objects.filter(study__protocol=deployment.protocol)
        .exclude(study_id__in=Prediction.objects.filter(version=version).values("study_id"))
        .order_by("study_id")
        .values_list("id", flat=True)
    )
    scored = 0
    for chunk in _chunks(pending, SCORE_CHUNK):
        rows = list(Report.objects.filter(pk__in=chunk).order_by("study_id").values_list("study_id", "text"))
        if not rows:
            continue
        scores = spec.predict(model, [text for _, text in rows], params=params)
        now = timezone.now()
        with transaction.atomic():
            Prediction.objects.bulk_create(
                [
                    Prediction(version=version, study_id=study_id, label_id=label_ids[name],
                               p=min(1.0, max(0.0, round(float(scores[i, j]), 6))), created_at=now)
                    for i, (study_id, _) in enumerate(rows)
                    for j, name in columns
                    if name in label_ids
                ],
                batch_size=1000, ignore_conflicts=True,
            )
        scored += len(rows)
        if job is not None:
            job_progress(job=job, done=scored, total=len(pending), message=f"Scored {scored:,} of {len(pending):,} studies")
    if scored:
        # One row per batch, through the one report-read audit, so "who read this protocol's
        # reports" counts the model's reads like a person's.
        audit_report_read(
            actor=None, report=None, protocol=deployment.protocol, channel="task",
            detail={"reader": "model", "deployment": deployment.pk, "version": version.pk, "reports": scored},
        )
    return scored
