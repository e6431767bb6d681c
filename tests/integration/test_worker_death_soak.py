"""kill -9 soak (SECURITY.md promise 13): a worker SIGKILLed at a random point loses nothing.

Each round imports a file of synthetic reports into a new protocol and relabels it, on a real
Celery worker (`--pool=solo`, as in test_import_worker.py) listening on a private queue. The
worker is SIGKILLed once at a random moment of the import and once of the relabel (seeded), the
real reaper runs with a 1 s heartbeat timeout, a new worker starts, and the round must end with
every job succeeded once: the import's result and audit row as a clean run's, the reports and
soft labels equal (by hash) to a clean run's, progress complete, the upload removed, and the
confirmations made before the relabel untouched.

    SOAK_ROUNDS=20 .venv/bin/pytest -s tests/integration/test_worker_death_soak.py   # full soak

SOAK_ROUNDS defaults to 3 (about a minute); SOAK_SEED changes the kill points, SOAK_REPORTS
the size of each import. Needs a database the worker can share (PostgreSQL, or the SQLite file
of config.settings.test); test_restart_broker_database.py reuses the helpers below.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction

from annotation.apps import RELABEL_JOB
from annotation.models import ConfirmationLabel, SoftLabel
from annotation.services.confirm import confirmation_submit
from annotation.services.relabel import relabel_protocol, relabel_start
from benchmarks.imports import write_file
from config.celery import app as celery_app
from reports.apps import IMPORT_JOB
from reports.models import AccessEvent, AuditAction, Job, JobStatus, Protocol, Study
from reports.services.imports import report_import, report_import_enqueue
from reports.tasks import reap_jobs
from tests.integration.test_import_worker import (  # noqa: F401  (broker_env is a fixture)
    _database_url,
    broker_env,
)
from tests.reports.factories import MembershipFactory, ProtocolFactory, UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROUNDS = int(os.environ.get("SOAK_ROUNDS", "3"))
SEED = int(os.environ.get("SOAK_SEED", "13"))
REPORTS = int(os.environ.get("SOAK_REPORTS", "2000"))
# The reaper's timeout in these tests: short, so a dead worker's job is stale at once. The reaper
# only runs while no worker runs a job (see reap_and_restart), so it never takes a live one.
HEARTBEAT = dt.timedelta(seconds=1)

# The worker's default queue is this test run's own (the reaper and job_create send to the
# default queue), so a broker shared with other runs never hands it someone else's message.
_LAUNCH = (
    "import os, sys; from config.celery import app; "
    "app.conf.task_default_queue = os.environ['RADLABEL_TEST_QUEUE']; app.worker_main(sys.argv[1:])"
)


class Workers:
    """One Celery worker at a time, on the private queue; kill -9 and start again."""

    def __init__(self, var_dir: Path, broker: dict[str, str], queue: str) -> None:
        self.var_dir, self.broker, self.queue = var_dir, broker, queue
        self.process: subprocess.Popen | None = None
        self.started = 0

    def start(self) -> subprocess.Popen:
        assert self.process is None or self.process.poll() is not None, "one worker at a time"
        self.started += 1
        env = {
            **os.environ,
            **self.broker,
            "DATABASE_URL": _database_url(),
            "RADLABEL_VAR_DIR": str(self.var_dir),
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "config.settings.test"
            ),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "RADLABEL_TEST_QUEUE": self.queue,
        }
        self.log_path = self.var_dir / f"worker-{self.started}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _LAUNCH,
                    "worker",
                    "--pool=solo",
                    "--loglevel=INFO",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"{self.queue}-{self.started}@%h",
                ],
                cwd=django_settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self.process

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no ack, no rollback but the database's own."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        # At the end of a test every job has finished: nothing is left to lose, and a warm
        # shutdown would cost seconds a test.
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def tracebacks(self) -> str:
        """The error lines of every worker started so far (a failed job records its type only)."""
        logs = sorted(self.var_dir.glob("worker-*.log"))
        return "\n".join(
            line
            for log in logs
            for line in log.read_text().splitlines()
            if "Error" in line or line.startswith("  File")
        )[-4000:]

    def log_tail(self) -> str:
        return self.log_path.read_text()[-3000:] if self.started else ""

    def assert_alive(self) -> None:
        assert self.process is not None
        assert self.process.poll() is None, "worker died:\n" + self.log_tail()


def redis_admin() -> Any:
    """A client of the broker's Redis database apart from Celery's pools; None on another broker."""
    url = django_settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    return redis.Redis.from_url(url)


def drop_queue_messages(queue: str) -> int:
    """Delete the queue's waiting and unacknowledged messages and its binding on Redis, as a
    restart of a Redis without persistence would; other queues are left alone. Returns how many
    messages went."""
    client = redis_admin()
    # Celery names the queue's exchange after the queue; consumers declare the binding again.
    client.delete(f"_kombu.binding.{queue}")
    dropped = 0
    # The queue's list and its priority lists (kombu names them queue + "\x06\x16" + step).
    for key in client.scan_iter(match=f"{queue}*"):
        dropped += client.llen(key)
        client.delete(key)
    for tag, stored in client.hgetall("unacked").items():
        if json.loads(stored)[2] == queue:  # [message, exchange, routing key]
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
            dropped += 1
    return dropped


@pytest.fixture(scope="module")
def private_queue(broker_env) -> Iterator[str]:  # noqa: F811
    queue = f"worker-death-{os.getpid()}"
    saved = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    yield queue
    celery_app.conf.task_default_queue = saved
    if redis_admin() is not None:
        # A killed worker's unacknowledged message would come back in an hour, to no one.
        drop_queue_messages(queue)


@pytest.fixture
def workers(tmp_path, broker_env, private_queue, settings) -> Iterator[Workers]:  # noqa: F811
    settings.JOB_HEARTBEAT_TIMEOUT = HEARTBEAT
    # Uploads land where the worker looks for them.
    settings.UPLOAD_DIR = tmp_path / "uploads"
    pool = Workers(tmp_path, broker_env, private_queue)
    yield pool
    pool.stop()


@pytest.fixture
def curator():
    return UserFactory(username="soak-curator")


def new_protocol(curator) -> Protocol:
    protocol = ProtocolFactory()
    MembershipFactory(user=curator, protocol=protocol, role="curator")
    return protocol


# -- what a clean run gives ------------------------------------------------------------------------


def reports_digest(protocol: Protocol) -> str:
    """Every study and report of the protocol, by accession: equal digests, equal imports."""
    rows = (
        Study.objects.filter(protocol=protocol)
        .order_by("accession")
        .values_list(
            "accession",
            "patient__pseudonym",
            "modality",
            "body_part",
            "study_date",
            "report__text",
            "report__text_sha256",
            "report__sections",
            "report__revision",
        )
    )
    return _digest(rows)


def soft_labels_digest(protocol: Protocol) -> str:
    """Every soft label (value, p, evidence, versions) and the queue order the relabel wrote."""
    labels = (
        SoftLabel.objects.filter(report__study__protocol=protocol)
        .order_by("report__study__accession", "label__name")
        .values_list(
            "report__study__accession",
            "label__name",
            "value",
            "p",
            "evidence",
            "engine_version",
            "phrase_set_hash",
        )
    )
    order = (
        Study.objects.filter(protocol=protocol)
        .order_by("accession")
        .values_list("accession", "informativeness")
    )
    return _digest([*labels, *order])


def confirm_first_studies(protocol: Protocol, reader, count: int = 3) -> str:
    """A reader confirms a few studies (one label read against the engine); return what was
    confirmed, which no relabel may change (DESIGN.md, soft-label semantics)."""
    for study in Study.objects.filter(protocol=protocol).order_by("accession")[:count]:
        confirmation_submit(
            study=study,
            reader=reader,
            values={"Pleural Effusion": "positive"},
            version=study.version,
            channel="api",
        )
    return confirmations_digest(protocol)


def confirmations_digest(protocol: Protocol) -> str:
    labels = (
        ConfirmationLabel.objects.filter(confirmation__study__protocol=protocol)
        .order_by("confirmation__study__accession", "label__name")
        .values_list(
            "confirmation__study__accession",
            "confirmation__study_version",
            "confirmation__is_current",
            "label__name",
            "value",
            "soft_value",
            "soft_p",
        )
    )
    studies = Study.objects.filter(protocol=protocol, confirmations__isnull=False).order_by(
        "accession"
    )
    return _digest(
        [*labels, *studies.values_list("accession", "version", "review_state", "reads_done")]
    )


def _digest(rows: Any) -> str:
    return hashlib.sha256(json.dumps(list(rows), sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Clean:
    """A clean run of the same file, in this process: the results and digests to compare with."""

    path: Path
    import_result: dict[str, Any]
    reports: str
    soft_labels: str
    import_seconds: float
    relabel_seconds: float


class _Discard(Exception):
    pass


def clean_run(path: Path, count: int) -> Clean:
    """Import and relabel `path` in a transaction rolled back afterwards (nothing is left behind,
    and the import's on-commit listeners never fire)."""
    write_file(path, "csv", count)
    try:
        with transaction.atomic():
            protocol = ProtocolFactory()
            started = time.monotonic()
            result = report_import(
                protocol=protocol, path=path, fmt="csv", actor=None, channel="task"
            )
            imported = time.monotonic()
            relabel_protocol(protocol=protocol)
            relabelled = time.monotonic()
            clean = Clean(
                path,
                result.as_dict(),
                reports_digest(protocol),
                soft_labels_digest(protocol),
                imported - started,
                relabelled - imported,
            )
            raise _Discard
    except _Discard:
        pass
    return clean


# -- jobs on the worker ----------------------------------------------------------------------------


@dataclass
class Watch:
    """What the test saw of one job while polling: progress never past its total."""

    seen: list[tuple[str, int, int]] = field(default_factory=list)

    def look(self, job: Job) -> Job:
        job.refresh_from_db()
        self.seen.append((job.status, job.done, job.total))
        assert job.total == 0 or job.done <= job.total, (job.done, job.total, job.message)
        return job


def wait_for(
    predicate: Callable[[], Any], workers: Workers, *, what: str, timeout: float = 120
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        workers.assert_alive()
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}:\n{workers.log_tail()}")


def kill_mid_job(
    job: Job,
    workers: Workers,
    rng: random.Random,
    expected_seconds: float,
    watch: Watch,
    *,
    from_first_progress: bool = False,
) -> str:
    """SIGKILL the worker a random share of the job's expected run after it starts; return the
    job's state at that moment ("running: <message>", or how it ended if it was faster).

    `from_first_progress`: count from the job's first progress (its total known), for a relabel,
    whose new worker first spends seconds loading the engine, which the clean run did not. (An
    import's first progress on SQLite shows only when it commits: count from its claim.)
    """

    def started() -> bool:
        watch.look(job)
        if from_first_progress:
            return job.is_finished or (job.status == JobStatus.RUNNING and job.total > 0)
        return job.status != JobStatus.QUEUED

    wait_for(started, workers, what=f"job {job.pk} to start")
    deadline = time.monotonic() + rng.uniform(0.05, 0.85) * expected_seconds
    while time.monotonic() < deadline and not watch.look(job).is_finished:
        time.sleep(0.02)
    watch.look(job)
    workers.kill()
    return f"running: {job.message}" if job.status == JobStatus.RUNNING else job.status


def reap_and_restart(workers: Workers) -> dict[str, int]:
    """Start a new worker, let the dead one's heartbeats go stale, run the real reaper.

    The reaper runs while the new worker still boots (seconds), so it cannot take a live job.
    """
    workers.start()
    time.sleep(HEARTBEAT.total_seconds() + 0.2)
    return reap_jobs()


def wait_until_all_finished(
    protocol: Protocol, workers: Workers, timeout: float = 120
) -> list[Job]:
    """Every job of the protocol finished (the import queues a relabel when it commits)."""
    wait_for(
        lambda: not Job.objects.filter(protocol=protocol).exclude(status__in=Job.FINISHED).exists(),
        workers,
        what=f"the jobs of protocol {protocol.pk}",
        timeout=timeout,
    )
    return list(Job.objects.filter(protocol=protocol).order_by("pk"))


def enqueue_import(protocol: Protocol, curator, path: Path) -> Job:
    with path.open("rb") as source:
        return report_import_enqueue(
            protocol=protocol,
            source=source,
            filename=path.name,
            fmt="csv",
            actor=curator,
            channel="api",
        )


def assert_import_once(job: Job, clean: Clean, protocol: Protocol) -> None:
    """Succeeded, with a clean run's result, one audit row, complete progress, upload removed."""
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.message, job.errors)
    assert job.result == clean.import_result
    assert job.done == job.total == clean.import_result["created"]
    assert (
        AccessEvent.objects.filter(
            action=AuditAction.REPORT_IMPORT, object_type="job", object_id=str(job.pk)
        ).count()
        == 1
    )
    assert reports_digest(protocol) == clean.reports
    assert not (Path(django_settings.UPLOAD_DIR) / job.params["upload"]).exists()


def relabel_job(protocol: Protocol) -> Job:
    """The relabel the import queued (reports.hooks), or a new one when there is none to wait for."""
    pending = (
        Job.objects.filter(protocol=protocol, kind=RELABEL_JOB)
        .exclude(status__in=Job.FINISHED)
        .first()
    )
    return pending or relabel_start(protocol=protocol, actor=None, force=True)


# -- the soak --------------------------------------------------------------------------------------


def _record_kill(expected: dict[str, float], kind: str, landed: str, round_no: int) -> None:
    # Where each kill landed, as it happens: the log of a long soak.
    print(f"round {round_no} {kind}: {landed}", flush=True)  # noqa: T201
    if not landed.startswith("running"):
        expected[kind] /= 2


def test_a_worker_killed_at_random_points_of_imports_and_relabels_loses_and_repeats_nothing(
    workers, curator, tmp_path
):
    clean = clean_run(tmp_path / "soak.csv", REPORTS)
    assert clean.import_result["created"] == REPORTS
    rng = random.Random(SEED)
    landed: list[str] = []
    # How long each job is expected to run: a clean run's time, halved whenever a job was
    # faster than the kill (the machine got less busy), so the kills keep landing mid-job.
    expected = {"import": clean.import_seconds, "relabel": clean.relabel_seconds}
    workers.start()

    for round_no in range(ROUNDS):
        protocol = new_protocol(curator)
        watch = Watch()

        job = enqueue_import(protocol, curator, clean.path)
        landed.append(kill_mid_job(job, workers, rng, expected["import"], watch))
        _record_kill(expected, "import", landed[-1], round_no)
        assert reap_and_restart(workers)["failed"] == 0
        wait_for(
            lambda job=job, watch=watch: watch.look(job).is_finished, workers, what="the import"
        )
        assert_import_once(job, clean, protocol)

        confirmed = confirm_first_studies(protocol, curator)
        relabel = relabel_job(protocol)
        landed.append(
            kill_mid_job(
                relabel, workers, rng, expected["relabel"], watch, from_first_progress=True
            )
        )
        _record_kill(expected, "relabel", landed[-1], round_no)
        assert reap_and_restart(workers)["failed"] == 0
        jobs = wait_until_all_finished(protocol, workers)

        failed = [(j.kind, j.status, j.message) for j in jobs if j.status != JobStatus.SUCCEEDED]
        assert failed == [], workers.tracebacks()
        assert [j.kind for j in jobs].count(IMPORT_JOB) == 1
        assert soft_labels_digest(protocol) == clean.soft_labels, f"round {round_no}"
        assert confirmations_digest(protocol) == confirmed
        relabel.refresh_from_db()
        assert relabel.done == relabel.total
        assert relabel.result["reports"] + relabel.result["skipped"] == REPORTS

    # Most kills must hit a job mid-run, or the soak proves little.
    assert sum(state.startswith("running") for state in landed) >= len(landed) // 2, landed
