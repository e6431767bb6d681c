"""Broker and database restarts mid-job (SECURITY.md promise 14): no job lost, none run twice.

Redis: every connection to the broker's database is killed (CLIENT KILL) and this run's queue is
emptied while one import runs and another waits, as a restart of a Redis without persistence
does. PostgreSQL: every backend of the test database but this test's own is terminated while an
import writes; once with the database back at once (the job re-queues itself), once kept closed
for a while (the reaper re-queues it). Each runs where its server is (CI has both) and skips
elsewhere. A real worker on a private queue, as in test_worker_death_soak.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection

from benchmarks.imports import write_file
from reports.models import AccessEvent, AuditAction, Job, JobStatus, Study
from reports.services.imports import upload_path
from reports.tasks import reap_jobs
from tests.integration.test_import_worker import broker_env  # noqa: F401  (a fixture)
from tests.integration.test_worker_death_soak import (  # noqa: F401  (fixtures)
    HEARTBEAT,
    Watch,
    Workers,
    curator,
    drop_queue_messages,
    enqueue_import,
    new_protocol,
    private_queue,
    redis_admin,
    wait_for,
    wait_until_all_finished,
    workers,
)

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# BIG: long enough on PostgreSQL to be caught writing (3 batches of 1000).
BIG, SMALL = 3000, 50


def _imported_once(job: Job, count: int) -> None:
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.message, job.errors)
    assert job.result["created"] == count
    assert job.done == job.total == count
    assert Study.objects.filter(protocol=job.protocol, report__isnull=False).count() == count
    assert (
        AccessEvent.objects.filter(action=AuditAction.REPORT_IMPORT, object_id=str(job.pk)).count()
        == 1
    )
    assert not upload_path(job.params["upload"]).exists()


def _file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / f"reports-{count}.csv"
    write_file(path, "csv", count)
    return path


@pytest.fixture
def redis(broker_env):  # noqa: F811
    client = redis_admin()
    if client is None:
        pytest.skip("the broker is not Redis (set CELERY_BROKER_URL=redis://...; CI runs on Redis)")
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it means: no Redis here
        pytest.skip(
            f"Redis at {client.connection_pool.connection_kwargs.get('host')} is unreachable: {exc}"
        )
    return client


def test_a_redis_restart_loses_the_waiting_message_and_the_reaper_sends_it_again(
    redis, workers, curator, private_queue, tmp_path  # noqa: F811
):
    workers.start()
    running = enqueue_import(new_protocol(curator), curator, _file(tmp_path, BIG))
    waiting = enqueue_import(new_protocol(curator), curator, _file(tmp_path, SMALL))
    wait_for(
        lambda: Watch().look(running).status == JobStatus.RUNNING,
        workers,
        what="the first import to start",
    )

    # The restart: this run's messages are gone (the waiting one, and the running one's
    # unacknowledged copy), and every client of this database must reconnect.
    assert drop_queue_messages(private_queue) >= 1
    own = redis.client_id()
    db = redis.connection_pool.connection_kwargs.get("db", 0)
    killed = [c["id"] for c in redis.client_list() if int(c["db"]) == db and int(c["id"]) != own]
    for client_id in killed:
        redis.client_kill_filter(_id=client_id)
    assert killed

    # The running import finishes on its worker, which reconnects; the waiting one is lost...
    wait_until_all_finished(running.protocol, workers)
    _imported_once(running, BIG)
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.QUEUED
    # ...until the reaper finds it queued past the heartbeat timeout and sends it again.
    time.sleep(HEARTBEAT.total_seconds() + 0.2)
    assert reap_jobs() == {"requeued": 1, "failed": 0}
    wait_until_all_finished(waiting.protocol, workers)
    _imported_once(waiting, SMALL)
    assert waiting.attempts == 1
    workers.assert_alive()


def _terminate_other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _allow_connections(allow: bool) -> None:
    """Open or close the test database to new connections (PostgreSQL refuses that change from a
    connection to the database itself, so it goes through the server's `postgres` database)."""
    import psycopg

    db = connection.settings_dict
    name = connection.ops.quote_name(db["NAME"])
    with psycopg.connect(
        dbname="postgres",
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        autocommit=True,
    ) as admin:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {'true' if allow else 'false'}")


def _wait_until_writing(job: Job, pool: Workers) -> None:
    # On PostgreSQL the import reports its writing progress through a second connection.
    wait_for(
        lambda: Watch().look(job).message.startswith("Writing reports"),
        pool,
        what="the import to write",
    )


def test_a_database_restart_mid_import_requeues_the_job_and_loses_nothing(
    workers, curator, tmp_path  # noqa: F811
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "terminates PostgreSQL backends (set DATABASE_URL=postgres://...; CI runs on PostgreSQL)"
        )
    path = _file(tmp_path, BIG)
    workers.start()

    # A short outage: the worker's transaction dies, it reconnects and hands the job back itself.
    quick = enqueue_import(new_protocol(curator), curator, path)
    _wait_until_writing(quick, workers)
    assert _terminate_other_backends() >= 1
    wait_until_all_finished(quick.protocol, workers)
    _imported_once(quick, BIG)
    assert quick.attempts == 2

    # A longer one: the database refuses connections, so the worker cannot even hand the job back;
    # it stays "running" without heartbeat until the database is back and the reaper re-queues it.
    slow = enqueue_import(new_protocol(curator), curator, path)
    _wait_until_writing(slow, workers)
    _allow_connections(False)
    try:
        assert _terminate_other_backends() >= 1
        time.sleep(HEARTBEAT.total_seconds() + 0.5)
        slow.refresh_from_db()
        assert slow.status == JobStatus.RUNNING
        assert not Study.objects.filter(protocol=slow.protocol).exists()
    finally:
        _allow_connections(True)
    assert reap_jobs() == {"requeued": 1, "failed": 0}
    wait_until_all_finished(slow.protocol, workers)
    _imported_once(slow, BIG)
    assert slow.attempts == 2
    workers.assert_alive()
