"""Files a training run keeps: trial weights while it runs, then the best model and its card.

Everything lives under RADLABEL_VAR_DIR/artifacts/training-run-<id>/ (ids only in names): the
weights (torch.save of the state dict, loaded back with weights_only=True), and model_card.json
with the cohort, params, metrics, seeds and versions. The weights' SHA-256 is stored on the run,
so a downloaded file can be checked against it.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings

from training.models import TrainingRun

MODEL_FILE = "model.pt"
CARD_FILE = "model_card.json"
_LIBRARIES = ("torch", "numpy", "optuna", "scipy", "Django", "celery")


def artifacts_root() -> Path:
    return Path(settings.VAR_DIR) / "artifacts"


def run_dir(run_id: int) -> Path:
    return artifacts_root() / f"training-run-{int(run_id)}"


def trial_weights_path(run_id: int, trial_id: int) -> Path:
    return run_dir(run_id) / "trials" / f"trial-{int(trial_id)}.pt"


def write_atomic(path: Path, data: bytes) -> str:
    """Write `data` through a temporary file and a rename (a reader never sees half a file); its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def code_version() -> str:
    """`git describe` of the checkout when there is one, else the package version."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"], cwd=settings.BASE_DIR,
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        if described:
            return f"git:{described}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"radlabel=={importlib.metadata.version('radlabel')}"
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def artifact_keep(*, run: TrainingRun, weights: bytes, card: dict[str, Any]) -> tuple[Path, str]:
    """Write the best model and its card; returns the weights' path and SHA-256."""
    folder = run_dir(run.pk)
    sha256 = write_atomic(folder / MODEL_FILE, weights)
    card = {**card, "weights": {"file": MODEL_FILE, "sha256": sha256, "bytes": len(weights)}}
    write_atomic(folder / CARD_FILE, json.dumps(card, indent=2, sort_keys=True).encode())
    shutil.rmtree(folder / "trials", ignore_errors=True)
    return folder / MODEL_FILE, sha256


def artifact_path(run: TrainingRun) -> Path | None:
    """The kept weights file, if the run has one and it is still on disk."""
    if not run.artifact_path:
        return None
    path = (artifacts_root() / run.artifact_path).resolve()
    if artifacts_root().resolve() not in path.parents or not path.is_file():
        return None
    return path


def artifact_download_audit(*, run: TrainingRun, actor: Any, request: Any = None, channel: str = "page") -> None:
    """One audit row per download of a model file (an export of what the labels taught)."""
    from reports.models import AuditAction
    from reports.services.audit import audit_record

    audit_record(
        actor=actor, action=AuditAction.EXPORT, obj=run, protocol=run.job.protocol, request=request, channel=channel,
        detail={"what": "model", "job": run.job_id, "sha256": run.artifact_sha256},
    )


def artifact_predictions_audit(*, run: TrainingRun, actor: Any, request: Any, split: str, page: int) -> None:
    """One audit row per page of predictions read through the API (study ids with their labels)."""
    from reports.models import AuditAction
    from reports.services.audit import audit_record

    audit_record(
        actor=actor, action=AuditAction.EXPORT, obj=run, protocol=run.job.protocol, request=request, channel="api",
        detail={"what": "predictions", "job": run.job_id, "split": split, "page": page},
    )
