"""Start a real Celery worker on the training queue for the worker tests (see tests/integration)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from reports.models import Job
from tests.integration.test_import_worker import (  # noqa: F401  (a fixture)
    _database_url,
    broker_env,
)


def start_worker(
    var_dir: Path, broker: dict[str, str], name: str, *, loglevel: str = "INFO", **extra_env: str
) -> subprocess.Popen:
    env = {
        **os.environ, **broker,
        "DATABASE_URL": _database_url(),
        "RADLABEL_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.test"),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **extra_env,
    }
    log_path = var_dir / f"{name}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", f"--loglevel={loglevel}", "-Q", "training,celery",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"{name}-{os.getpid()}@%h"],
        cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    process.log_path = log_path  # type: ignore[attr-defined]
    process.var_dir = var_dir  # type: ignore[attr-defined]
    return process


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(predicate, worker: subprocess.Popen, *, timeout: float = 120, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if worker.poll() is not None:
            pytest.fail(f"worker exited while waiting for {what}:\n" + worker.log_path.read_text()[-3000:])
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n" + worker.log_path.read_text()[-3000:])


def finished_job(job_id: int, worker: subprocess.Popen, timeout: float = 120) -> Job:
    def done() -> Job | None:
        job = Job.objects.get(pk=job_id)
        return job if job.is_finished else None

    return wait_for(done, worker, timeout=timeout, what=f"job {job_id} to finish")
