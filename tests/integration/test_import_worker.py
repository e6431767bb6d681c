"""A real Celery worker process runs uploaded imports end to end, and the reaper's re-queues.

The worker is `celery -A config worker --pool=solo` on the environment's broker (Redis in CI, a
private folder with kombu's filesystem transport on a laptop) and the test database, which it
can only see when that is PostgreSQL or a SQLite file; pytest-django's in-memory SQLite test
database is private to this process, so there the test is skipped.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from kombu import pools as kombu_pools
from rest_framework.test import APIClient

from config.celery import app as celery_app
from reports.models import Job, JobStatus, Report, Study
from reports.services.imports import report_import_enqueue
from reports.tasks import reap_jobs
from tests.reports.factories import MembershipFactory, ProtocolFactory, UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CSV = (
    "accession,patient,modality,study_date,text\n"
    "W1,P1,CR,2024-03-01,FINDINGS: Small left pleural effusion.\n"
    "W2,P2,CR,2024-03-02,\"INDICATION: Fever.\n\nIMPRESSION: Right lower lobe pneumonia.\"\n"
)


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(db["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            pytest.skip("the SQLite test database is in memory: a worker process cannot see it "
                        "(set DATABASES['default']['TEST']['NAME'] to a file, or use PostgreSQL)")
        return f"sqlite:///{name}"
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    pytest.skip(f"no worker test for the {connection.vendor} backend")


@pytest.fixture(scope="module")
def broker_env(tmp_path_factory: pytest.TempPathFactory):
    """Point this process and the worker at the same private queue."""
    url = django_settings.CELERY_BROKER_URL
    if not url.startswith("filesystem://"):
        yield {"CELERY_BROKER_URL": url}
        return
    folder = tmp_path_factory.mktemp("broker")
    # The same transport options, moved to the private folder (this process's settings were
    # read at start-up; the worker reads CELERY_BROKER_FOLDER from its environment).
    key = "CELERY_BROKER_TRANSPORT_OPTIONS"  # the namespaced key wins over broker_transport_options
    saved = celery_app.conf[key]
    old_root = str(django_settings.CELERY_BROKER_FOLDER)
    moved = {k: v.replace(old_root, str(folder), 1) if isinstance(v, str) else v for k, v in saved.items()}
    for value in moved.values():
        if isinstance(value, str) and value.startswith(str(folder)):
            Path(value).mkdir(parents=True, exist_ok=True)
    celery_app.conf[key] = moved
    _reset_producers()
    yield {"CELERY_BROKER_URL": url, "CELERY_BROKER_FOLDER": str(folder)}
    celery_app.conf[key] = saved
    _reset_producers()


def _reset_producers() -> None:
    # The app caches its broker connection pool; drop it so the next send uses the new folder.
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # kombu also keeps process-wide producer pools keyed by connection: one made for the broker
    # before the switch would hand out connections of the pool closed above ("Acquire on closed
    # pool" on the next send once the settings are restored).
    kombu_pools.reset()


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory, django_db_setup, broker_env):
    """One worker for the module: starting Django and Celery takes seconds."""
    var_dir = tmp_path_factory.mktemp("var")
    env = {
        **os.environ,
        **broker_env,
        "DATABASE_URL": _database_url(),
        "RADLABEL_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.test"),
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    log_path = var_dir / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"imp-test-{os.getpid()}@%h"],
            cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        process.var_dir = var_dir  # type: ignore[attr-defined]
        process.log_path = log_path  # type: ignore[attr-defined]
        yield process
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(autouse=True)
def shared_uploads(worker, settings):
    """Uploads land where the worker looks for them."""
    settings.UPLOAD_DIR = worker.var_dir / "uploads"


def _wait_until_finished(job: Job, worker: subprocess.Popen, timeout: float = 120) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        assert worker.poll() is None, worker.log_path.read_text()[-3000:]
        time.sleep(0.5)
    pytest.fail(f"job still {job.status} after {timeout} s:\n" + worker.log_path.read_text()[-3000:])


@pytest.fixture(autouse=True)
def worker_idle_at_teardown():
    """A successful import queues a relabel (annotation's import listener) that the worker runs
    after the test body: wait for it, or the test's database flush (TRUNCATE) deadlocks with it."""
    yield
    deadline = time.monotonic() + 120
    while Job.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
        if time.monotonic() > deadline:
            pytest.fail("jobs still queued or running after the test: " + str(
                list(Job.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).values("kind", "status"))
            ))
        time.sleep(0.3)


@pytest.fixture
def curator_and_protocol():
    protocol = ProtocolFactory()
    user = UserFactory(username="worker-curator")
    MembershipFactory(user=user, protocol=protocol, role="curator")
    return user, protocol


def test_an_uploaded_file_is_imported_by_a_worker(worker, curator_and_protocol):
    user, protocol = curator_and_protocol
    client = APIClient()
    client.force_authenticate(user)

    response = client.post("/api/v1/imports/", {"file": SimpleUploadedFile("r.csv", CSV.encode()), "protocol": protocol.pk})
    assert response.status_code == 202, response.content

    job = _wait_until_finished(Job.objects.get(pk=response.json()["job"]), worker)
    assert job.status == JobStatus.SUCCEEDED, (job.message, job.errors)
    assert job.result["created"] == 2
    assert set(Study.objects.filter(protocol=protocol).values_list("accession", flat=True)) == {"W1", "W2"}
    assert Report.objects.get(study__accession="W2").text.endswith("Right lower lobe pneumonia.")
    assert client.get(response.json()["url"]).json()["status"] == "succeeded"
    assert not any(Path(django_settings.UPLOAD_DIR).iterdir())


def test_a_bad_upload_fails_in_the_worker_with_row_errors(worker, curator_and_protocol):
    user, protocol = curator_and_protocol
    client = APIClient()
    client.force_authenticate(user)
    bad = CSV + "W3,P3,CR,03/04/2024,x\n"

    response = client.post("/api/v1/imports/", {"file": SimpleUploadedFile("r.csv", bad.encode()), "protocol": protocol.pk})

    job = _wait_until_finished(Job.objects.get(pk=response.json()["job"]), worker)
    assert job.status == JobStatus.FAILED
    assert job.errors == [{"line": 6, "field": "study_date", "message": "Not a date in the form YYYY-MM-DD."}]
    assert not Study.objects.filter(protocol=protocol).exists()


def test_a_stale_running_job_is_requeued_by_the_reaper_and_completes(worker, curator_and_protocol):
    user, protocol = curator_and_protocol
    # A job whose worker died mid-run: still "running", heartbeat long gone, its upload kept.
    job = report_import_enqueue(
        protocol=protocol, source=io.BytesIO(CSV.encode()), filename="r.csv", fmt=None, actor=user,
        channel="api", enqueue=lambda job_id: None,
    )
    stale = timezone.now() - django_settings.JOB_HEARTBEAT_TIMEOUT - dt.timedelta(minutes=1)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat_at=stale, started_at=stale, attempts=1)

    assert reap_jobs() == {"requeued": 1, "failed": 0}

    job = _wait_until_finished(job, worker)
    assert job.status == JobStatus.SUCCEEDED, (job.message, job.errors)
    assert job.attempts == 2
    assert Study.objects.filter(protocol=protocol).count() == 2
