"""Relabel a protocol's reports with its schema: soft labels, evidence and queue order.

Soft labels are machine output and nothing else. A relabel writes SoftLabel rows and
Study.informativeness only; it never reads or writes confirmations (they are stored apart, with
the soft value they started from), Study.version, review_state or reads_done, so a phrase edit
can never silently change a label a radiologist confirmed (DESIGN.md "Soft-label semantics").
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from annotation.apps import RELABEL_JOB
from annotation.engine import ENGINE_VERSION
from annotation.models import LabelValue, SoftLabel
from annotation.selectors.labels import last_full_pass_started, stale_reports
from annotation.services.schemas import labeler_for_schema, schema_for_protocol, schema_to_engine
from reports.models import Job, JobStatus, Protocol, Report, Study
from reports.services.jobs import job_create, job_progress

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from annotation.engine import LabelResult


_UPSERT_FIELDS = ["value", "p", "engine_version", "phrase_set_hash", "evidence", "updated_at"]
# Ids per IN (...) list: under SQLite's historical limit of 999 bound parameters (PostgreSQL
# passes whole batches as one array parameter instead).
_IN_CHUNK = 900
# Reports per page (one read, one label_many, one transaction): a few fixed statements per page,
# so larger pages mean fewer round trips; 2000 keeps a page's rows and texts a few MB.
BATCH_SIZE = 2000


def informativeness(results: Iterable[LabelResult]) -> float:
    """How much a reader's confirmation would teach us about a study, in [0, 1].

    Per label u = 1 - |2p - 1| (1 at p = 0.5, 0 at p = 0 or 1), and u = 1 for an uncertain value
    whatever its p: the text itself hedges. The study scores 0.9 * max(u) + 0.1 * mean(u), so
    its least certain label decides, and among equals the study with more doubtful labels comes
    first. A study with no label mentioned scores 0.
    """
    scores = [1.0 if r.value == LabelValue.UNCERTAIN else 1.0 - abs(2.0 * r.p - 1.0) for r in results]
    if not scores:
        return 0.0
    return round(0.9 * max(scores) + 0.1 * sum(scores) / len(scores), 6)


def relabel_protocol(
    *, protocol: Protocol, job: Job | None = None, batch_size: int = BATCH_SIZE, force: bool = False
) -> dict[str, Any]:
    """Label the protocol's reports in id order, batch by batch; return counts.

    Only stale reports are read unless `force` (see selectors.labels.stale_reports): after a
    phrase edit every report is stale by hash, but a rerun after a crash, or a relabel with no
    change, skips what is already current. Each batch is one transaction, so a killed worker
    leaves whole batches behind and a rerun resumes where it stopped. Raises JobCancelled (from
    job_progress) when the job was cancelled meanwhile.
    """
    schema = schema_for_protocol(protocol)
    engine_schema = schema_to_engine(schema)
    phrase_set_hash = engine_schema.phrase_set_hash()
    labeler = labeler_for_schema(engine_schema)
    label_ids = dict(schema.labels.values_list("name", "id"))

    reports = Report.objects.filter(study__protocol=protocol)
    if not force:
        covered = last_full_pass_started(
            protocol=protocol, engine_version=ENGINE_VERSION, phrase_set_hash=phrase_set_hash
        )
        reports = stale_reports(
            reports, engine_version=ENGINE_VERSION, phrase_set_hash=phrase_set_hash, covered_until=covered
        )
    # The stale set is read once, as ids: re-running the stale filter for every page made each page
    # sort every remaining stale report (quadratic in the protocol's size). Each page is then a
    # fresh query by id, so the writes of the previous page cannot disturb it (SQLite has no
    # isolation within a connection); a report edited meanwhile is stale again for the next job.
    ids = list(reports.order_by("pk").values_list("pk", flat=True))
    total = len(ids)
    counts = {"reports": 0, "written": 0, "unchanged": 0, "removed": 0}
    if job is not None:
        job_progress(job=job, done=0, total=total, message=f"Relabelling {total} reports")

    for page in _chunks(ids, batch_size):
        rows = _read_page(page)
        if not rows:  # deleted meanwhile
            continue
        results = labeler.label_many([row[3] for row in rows])
        for key, n in _write_batch(rows, results, label_ids, phrase_set_hash).items():
            counts[key] += n
        counts["reports"] += len(rows)
        if job is not None:
            job_progress(job=job, done=counts["reports"], message=f"Relabelled {counts['reports']} of {total} reports")

    # Counts only: a job's result is a record of what changed, and timings belong to the
    # benchmark (benchmarks/relabel.py), which measures around this call.
    return {
        **counts,
        "skipped": Report.objects.filter(study__protocol=protocol).count() - counts["reports"] if not force else 0,
        "forced": force,
        "engine_version": ENGINE_VERSION,
        "phrase_set_hash": phrase_set_hash,
        "schema": schema.name,
    }


def _read_page(report_ids: list[int]) -> list[tuple[int, int, float, str]]:
    """(report id, study id, study informativeness, text) of these reports, in id order."""
    if connection.vendor == "postgresql":
        return _pg_execute(  # type: ignore[return-value]
            f"SELECT r.id, r.study_id, s.informativeness, r.text FROM {Report._meta.db_table} r "
            f"JOIN {Study._meta.db_table} s ON s.id = r.study_id WHERE r.id = ANY(%s) ORDER BY r.id",
            [report_ids],
        )
    page = Report.objects.order_by("pk").values_list("pk", "study_id", "study__informativeness", "text")
    return sorted(row for chunk in _chunks(report_ids) for row in page.filter(pk__in=chunk))


def _evidence_json(result: LabelResult) -> list[dict[str, Any]]:
    # Offsets index Report.text; the matched text is not copied (no second copy of PHI).
    return [
        {"start": e.start, "end": e.end, "phrase": e.phrase, "modifiers": [str(m) for m in e.modifiers], "section": e.section}
        for e in result.evidence
    ]


# jsonb prints object keys by length, then bytewise, with ", " and ": " between items.
_JSONB_KEY_ORDER = ("end", "start", "phrase", "section", "modifiers")


def _jsonb_text(evidence: list[dict[str, Any]]) -> str:
    """`evidence` as PostgreSQL prints it back from a jsonb column (for the evidence built here)."""
    return json.dumps([{k: e[k] for k in _JSONB_KEY_ORDER} for e in evidence], ensure_ascii=False)


def _same_evidence(stored: str | list[Any], evidence: list[dict[str, Any]]) -> bool:
    """Stored evidence (decoded, or jsonb text on PostgreSQL) equals the new evidence.

    On PostgreSQL the stored text is compared with the new evidence printed the way jsonb prints
    it, which spares decoding ~4.5 stored rows per report; equal text means equal JSON, and any
    other text is decoded and compared, so a difference in printing can never hide a change.
    """
    if isinstance(stored, str):
        return stored == _jsonb_text(evidence) or json.loads(stored) == evidence
    return stored == evidence


def _chunks(items: list[Any], size: int = _IN_CHUNK) -> Iterable[list[Any]]:
    return (items[i:i + size] for i in range(0, len(items), size))


# A stored soft label as the comparison needs it: pk, value, p, evidence (decoded JSON, or jsonb text).
_Stored = tuple[int, str, float, str | list[Any]]
# A soft label to insert or rewrite: report_id, label_id, value, p, evidence.
_New = tuple[int, int, str, float, list[Any]]


def _write_batch(
    rows: list[tuple[int, int, float, str]],
    results: list[dict[str, LabelResult]],
    label_ids: dict[str, int],
    phrase_set_hash: str,
) -> dict[str, int]:
    """Store one batch: insert new soft labels, rewrite changed ones, stamp unchanged ones, drop absent ones.

    Most soft labels survive a phrase edit unchanged, so comparing with what is stored and only
    re-stamping those costs far less than rewriting every row and its JSON. A batch is a fixed
    number of statements whatever its size (one read, then at most four writes on PostgreSQL:
    delete, re-stamp, upsert, informativeness), never one per row.
    """
    stored = _stored_soft_labels([row[0] for row in rows])

    now = timezone.now()
    to_write: list[_New] = []
    unchanged: list[int] = []
    studies: list[tuple[int, float]] = []
    seen: set[tuple[int, int]] = set()
    for (report_id, study_id, old_score, _), by_label in zip(rows, results, strict=True):
        for name, result in by_label.items():
            label_id = label_ids[name]
            key = (report_id, label_id)
            seen.add(key)
            value, p, evidence = str(result.value), min(max(float(result.p), 0.0), 1.0), _evidence_json(result)
            old = stored.get(key)
            if old is not None and old[1] == value and old[2] == p and _same_evidence(old[3], evidence):
                unchanged.append(old[0])
                continue
            to_write.append((report_id, label_id, value, p, evidence))
        score = informativeness(by_label.values())
        if score != old_score:
            studies.append((study_id, score))
    gone = [stored[key][0] for key in stored.keys() - seen]

    write = _write_postgresql if connection.vendor == "postgresql" else _write_generic
    with transaction.atomic():
        write(gone=gone, unchanged=unchanged, to_write=to_write, studies=studies, phrase_set_hash=phrase_set_hash, now=now)
    return {"written": len(to_write), "unchanged": len(unchanged), "removed": len(gone)}


def _stored_soft_labels(report_ids: list[int]) -> dict[tuple[int, int], _Stored]:
    stored: dict[tuple[int, int], _Stored] = {}
    if connection.vendor == "postgresql":
        # One query per batch: the ids travel as one array parameter, not thousands of placeholders.
        # Django's psycopg setup leaves jsonb undecoded (JSONField decodes it): kept as text.
        for pk, report_id, label_id, value, p, evidence in _pg_execute(
            f"SELECT id, report_id, label_id, value, p, evidence FROM {_SOFT} WHERE report_id = ANY(%s)",
            [report_ids],
        ) or []:
            stored[(report_id, label_id)] = (pk, value, p, evidence)  # jsonb text: see _same_evidence
        return stored
    for chunk in _chunks(report_ids):
        for pk, report_id, label_id, value, p, evidence in SoftLabel.objects.filter(report_id__in=chunk).values_list(
            "pk", "report_id", "label_id", "value", "p", "evidence"
        ):
            stored[(report_id, label_id)] = (pk, value, p, evidence)
    return stored


_SOFT = SoftLabel._meta.db_table
_STUDY = Study._meta.db_table


def _pg_execute(sql: str, params: list[Any]) -> list[tuple[Any, ...]] | None:
    """Run one statement with server-side parameters on Django's PostgreSQL connection.

    Django's psycopg cursors bind on the client, quoting and escaping every array element into the SQL
    in Python (megabytes of JSON per batch); a plain psycopg cursor sends the parameters apart. Same connection, so the same transaction; logged like Django's own
    statements when queries are captured (tests count them).
    """
    import psycopg

    connection.ensure_connection()
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall() if cursor.description is not None else None
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


def _write_postgresql(
    *, gone: list[int], unchanged: list[int], to_write: list[_New], studies: list[tuple[int, float]],
    phrase_set_hash: str, now: Any,
) -> None:
    """One statement per kind of change, the rows passed as arrays and joined with unnest().

    Same effect as _write_generic (tests compare them): the upsert sets the columns of
    _UPSERT_FIELDS, keyed by the (report, label) unique constraint, as bulk_create(update_conflicts) does.
    (Tried: the rows as one JSON document through jsonb_array_elements halves this process's CPU
    but doubled the server's time on the benchmark; not kept.)
    """
    if gone:
        _pg_execute(f"DELETE FROM {_SOFT} WHERE id = ANY(%s)", [gone])
    if unchanged:
        _pg_execute(
            f"UPDATE {_SOFT} SET engine_version = %s, phrase_set_hash = %s, updated_at = %s WHERE id = ANY(%s)",
            [ENGINE_VERSION, phrase_set_hash, now, unchanged],
        )
    if to_write:
        report_ids, label_ids, values, ps, evidence = zip(*to_write, strict=True)
        _pg_execute(
            f"INSERT INTO {_SOFT} (report_id, label_id, value, p, engine_version, phrase_set_hash, evidence, updated_at) "
            "SELECT n.report_id, n.label_id, n.value, n.p, %s, %s, n.evidence::jsonb, %s "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::float8[], %s::text[]) "
            "AS n(report_id, label_id, value, p, evidence) "
            "ON CONFLICT (report_id, label_id) DO UPDATE SET "
            + ", ".join(f"{field} = EXCLUDED.{field}" for field in _UPSERT_FIELDS),
            [
                ENGINE_VERSION, phrase_set_hash, now,
                list(report_ids), list(label_ids), list(values), list(ps), [json.dumps(e) for e in evidence],
            ],
        )
    if studies:
        # Only the queue-order column: version, review_state and reads_done belong to confirmations.
        study_ids, scores = zip(*studies, strict=True)
        _pg_execute(
            f"UPDATE {_STUDY} AS s SET informativeness = n.score "
            "FROM unnest(%s::bigint[], %s::float8[]) AS n(id, score) WHERE s.id = n.id",
            [list(study_ids), list(scores)],
        )


def _write_generic(
    *, gone: list[int], unchanged: list[int], to_write: list[_New], studies: list[tuple[int, float]],
    phrase_set_hash: str, now: Any,
) -> None:
    """SQLite (laptops, tests) and any other vendor: the ORM's bulk statements, ids in chunks."""
    for chunk in _chunks(gone):
        SoftLabel.objects.filter(pk__in=chunk).delete()
    for chunk in _chunks(unchanged):
        SoftLabel.objects.filter(pk__in=chunk).update(
            engine_version=ENGINE_VERSION, phrase_set_hash=phrase_set_hash, updated_at=now
        )
    SoftLabel.objects.bulk_create(
        [
            SoftLabel(
                report_id=report_id, label_id=label_id, value=value, p=p, evidence=evidence,
                engine_version=ENGINE_VERSION, phrase_set_hash=phrase_set_hash, updated_at=now,
            )
            for report_id, label_id, value, p, evidence in to_write
        ],
        update_conflicts=True, unique_fields=["report", "label"], update_fields=_UPSERT_FIELDS,
    )
    if studies:
        # Only the queue-order column. One prepared statement run per row by the driver: cheaper
        # than bulk_update's CASE WHEN, which compiles an expression per study.
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {_STUDY} SET informativeness = %s WHERE id = %s", [(s, pk) for pk, s in studies])


def relabel_start(
    *,
    protocol: Protocol,
    actor: AbstractBaseUser | None,
    force: bool = False,
    enqueue: Callable[[int], object] | None = None,
) -> Job:
    """Queue a relabel of the protocol, or return the one already queued or running.

    Two relabels of one protocol would write the same rows twice for nothing; the protocol row
    lock makes the check-then-create safe on PostgreSQL (SQLite's write lock serialises it too).
    `enqueue` replaces the Celery send, for the command that runs the job in its own process.
    """
    if enqueue is None:
        # Imported here: the task module imports this one.
        from annotation.tasks import relabel_protocol_task

        enqueue = relabel_protocol_task.delay
    with transaction.atomic():
        Protocol.objects.select_for_update().filter(pk=protocol.pk).first()
        running = (
            Job.objects.filter(protocol=protocol, kind=RELABEL_JOB, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
            .order_by("created_at")
            .first()
        )
        if running is not None:
            return running
        return job_create(
            kind=RELABEL_JOB,
            protocol=protocol,
            actor=actor,
            params={"force": force},
            enqueue=enqueue,
        )
