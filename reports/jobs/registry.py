"""Which Celery task runs each kind of job, and how its result reads; apps fill it in AppConfig.ready()."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reports.models import Job


@dataclass(frozen=True)
class ResultTable:
    """Rows the job page lists under a heading, e.g. the files an import skipped and why."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    more: int = 0  # rows left out of a long list (said under the table)


@dataclass(frozen=True)
class JobSummary:
    """What the job page shows of a job's outcome beside its message: counts, notes, tables."""

    counts: tuple[tuple[str, Any], ...] = ()  # (heading, number): one row of a table
    notes: tuple[str, ...] = ()
    tables: tuple[ResultTable, ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # (text, URL): where to go from the job, e.g. back to its source


# Reads a job (its status, result and errors) into what its page shows; a kind's result has its
# own shape, so the kind that writes it says how it reads.
Summarise = Callable[["Job"], JobSummary]
# A job page lists at most this many rows per table; a folder of 10,000 text files is one line.
TABLE_ROWS_SHOWN = 500


@dataclass(frozen=True)
class JobKindSpec:
    kind: str
    label: str
    task: str  # the Celery task name, so the reaper can send it without importing its app
    queue: str | None = None  # None: Celery's default queue
    summary: Summarise | None = None  # None: the result's warnings and the job's row errors


_KINDS: dict[str, JobKindSpec] = {}


def register_job_kind(
    kind: str, *, label: str, task: str, queue: str | None = None, summary: Summarise | None = None
) -> JobKindSpec:
    """Register (or re-register identically) a kind of job; a clash with another task is a bug."""
    spec = JobKindSpec(kind=kind, label=label, task=task, queue=queue, summary=summary)
    existing = _KINDS.get(kind)
    if existing is not None and existing != spec:
        raise ValueError(f"Job kind {kind!r} is already registered to {existing.task}")
    if len(kind) > 32:
        raise ValueError(f"Job kind {kind!r} is longer than 32 characters")
    _KINDS[kind] = spec
    return spec


def job_kind(kind: str) -> JobKindSpec | None:
    return _KINDS.get(kind)


def job_kinds() -> list[JobKindSpec]:
    return sorted(_KINDS.values(), key=lambda spec: spec.kind)


def job_kind_label(kind: str) -> str:
    spec = _KINDS.get(kind)
    return spec.label if spec else kind.replace("_", " ").capitalize()


def result_table(caption: str, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> ResultTable:
    """A table of at most TABLE_ROWS_SHOWN rows, counting the rest; empty cells read as a dash."""
    shown = tuple(tuple("—" if cell is None or cell == "" else cell for cell in row) for row in rows[:TABLE_ROWS_SHOWN])
    return ResultTable(caption=caption, columns=columns, rows=shown, more=max(len(rows) - TABLE_ROWS_SHOWN, 0))


def errors_table(job: Job) -> ResultTable | None:
    """The job's row errors ({"line", "field", "message"}, as JobFailed records them), if any."""
    if not job.errors:
        return None
    rows = [(error.get("line"), error.get("field"), error.get("message")) for error in job.errors]
    return result_table("Problems", ("Line", "Field", "Problem"), rows)


def default_summary(job: Job) -> JobSummary:
    """For kinds that register no summary: the result's warnings and the job's row errors."""
    warnings = job.result.get("warnings") or [] if isinstance(job.result, dict) else []
    table = errors_table(job)
    return JobSummary(notes=tuple(f"Warning: {w}" for w in warnings), tables=(table,) if table else ())


def job_summary(job: Job) -> JobSummary:
    spec = _KINDS.get(job.kind)
    return (spec.summary if spec is not None and spec.summary is not None else default_summary)(job)
