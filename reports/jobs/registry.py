"""Which Celery task runs each kind of job; apps fill it in AppConfig.ready()."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobKindSpec:
    kind: str
    label: str
    task: str  # the Celery task name, so the reaper can send it without importing its app
    queue: str | None = None  # None: Celery's default queue


_KINDS: dict[str, JobKindSpec] = {}


def register_job_kind(kind: str, *, label: str, task: str, queue: str | None = None) -> JobKindSpec:
    """Register (or re-register identically) a kind of job; a clash with another task is a bug."""
    spec = JobKindSpec(kind=kind, label=label, task=task, queue=queue)
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
