"""The load benchmark (SECURITY.md promise 16): 50 radiologists confirming while 5 exports run.

    DATABASE_URL=postgres://... python manage.py bench_load --duration 60

Seeds a protocol of N synthetic studies (benchmarks/confirm.py's bulk inserts) with `users`
radiologists and one data scientist, each with an API token, and freezes a cohort of every study
(confirmed labels, else soft). Then serves the app the way production does, gunicorn on
config.wsgi with the production settings (the clients send `X-Forwarded-Proto: https` as the
TLS proxy would), and runs over HTTP, for `duration` seconds:

- `users` radiologist clients, each looping: next study from the queue, read it, confirm it;
- `exports` clients downloading the cohort's JSONL export, one after another.

Prints requests, errors (any answer but 2xx; 409 conflicts are expected under concurrency and
counted apart), p50/p95/p99 per operation (confirm = the POST, end to end from the client),
throughput, and the server processes' total RSS at start, middle and end with the slope over the
second half (the first minutes include the workers' lazy imports, so flatness is judged from
the middle on). Clients and server share the machine, so the figures are for the whole box.
PostgreSQL only: SQLite serialises writers, which measures SQLite's lock, not the app.

Afterwards the protocol is closed and its users deactivated; its studies stay, because the
cohort refers to them and cohorts are immutable. `keep` leaves it open for a `protocol_irb` rerun.
"""
from __future__ import annotations

import contextlib
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotation.models import QueueLease
from benchmarks.confirm import _ConfirmBench
from reports.models import Membership, Protocol, ProtocolStatus, Role
from training.models import Cohort
from training.services.cohorts import cohort_freeze, cohort_spec_build

ROOT = Path(__file__).resolve().parent.parent
COHORT_NAME = "bench-load"
FLAT_PERCENT = 10.0
RSS_EVERY_S = 1.0
READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 120.0
ERROR_SAMPLES = 5


class LoadBenchError(RuntimeError):
    """The benchmark cannot run here; the message says why and what to do."""


@dataclass
class Seeded:
    protocol: Protocol
    cohort: Cohort
    radiologist_tokens: list[str]
    scientist_token: str
    user_ids: list[int]
    # The reader bench_confirm's seeding made, when this run made the protocol (else None).
    bench_reader: Any = None


@dataclass
class OpStats:
    """One operation's answers; latencies of every answer that came back, in ms."""

    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    conflicts: int = 0
    errors: int = 0
    empty: int = 0


class Recorder:
    """Thread-safe tally of every request, by operation, with a few error samples."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ops: dict[str, OpStats] = defaultdict(OpStats)
        self.error_samples: list[str] = []
        self.export_bytes = 0
        self.exports_cut = 0
        self.warmup_errors = 0

    def reset(self) -> None:
        """Start the figures afresh after the warm-up; its errors still count (and their samples stay)."""
        with self._lock:
            self.warmup_errors += sum(stats.errors for stats in self.ops.values())
            self.ops = defaultdict(OpStats)
            self.export_bytes = 0
            self.exports_cut = 0

    def answer(self, op: str, status: int, ms: float, body: str = "") -> None:
        with self._lock:
            stats = self.ops[op]
            stats.latencies.append(ms)
            if status == 409:
                stats.conflicts += 1
            elif 200 <= status < 300:
                stats.ok += 1
                stats.empty += status == 204
            else:
                stats.errors += 1
                self._sample(f"{op}: {status} {body[:200]!r}")

    def failure(self, op: str, exc: Exception) -> None:
        with self._lock:
            self.ops[op].errors += 1
            self._sample(f"{op}: {type(exc).__name__}: {str(exc)[:200]}")

    def exported(self, size: int) -> None:
        with self._lock:
            self.export_bytes += size

    def export_cut(self) -> None:
        with self._lock:
            self.exports_cut += 1

    def _sample(self, text: str) -> None:
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(text)


def bench_load(
    *,
    studies: int,
    users: int,
    exports: int,
    duration: float,
    workers: int,
    threads: int,
    write: Callable[[str], Any],
    protocol_irb: str | None = None,
    think_s: float = 0.0,
    warmup_s: float = 5.0,
    seed: int = 0,
    keep: bool = False,
) -> dict[str, Any]:
    """Seed (or reuse), serve with gunicorn, load for `duration` s, print and return the figures."""
    if connection.vendor != "postgresql":
        raise LoadBenchError(
            f"bench_load needs PostgreSQL, not {connection.vendor}: set DATABASE_URL=postgres://user@host:5432/db "
            "(SQLite takes one writer at a time, so 50 readers would measure its lock, not radlabel)."
        )
    started = time.perf_counter()
    seeded = _seed(studies=studies, users=users, protocol_irb=protocol_irb, seed=seed, write=write)
    write(
        f"seeded in {time.perf_counter() - started:.1f}s: protocol {seeded.protocol.irb_number} "
        f"({'reused' if seeded.bench_reader is None else 'new'}), {users} radiologists, cohort of {seeded.cohort.study_count} studies"
    )
    try:
        with _gunicorn(workers=workers, threads=threads) as server:
            # The server inherits this environment, so it keeps connections as this process would.
            max_age = settings.DATABASES["default"].get("CONN_MAX_AGE", 0)
            write(f"gunicorn on {server.url}: {workers} workers x {threads} threads (gthread), production settings, "
                  f"database connections kept {max_age} s (DB_CONN_MAX_AGE)")
            figures = _load(
                server=server, seeded=seeded, exports=exports, duration=duration, warmup_s=warmup_s,
                think_s=think_s, seed=seed,
            )
    finally:
        if seeded.bench_reader is not None and not keep:
            _close(seeded)
        elif seeded.bench_reader is not None:
            write(f"kept: reuse with --protocol {seeded.protocol.irb_number}")
    _report(figures, write=write, users=len(seeded.radiologist_tokens), exports=exports, duration=duration)
    return figures


# --- seeding ---


def _seed(*, studies: int, users: int, protocol_irb: str | None, seed: int, write: Callable[[str], Any]) -> Seeded:
    tag = secrets.token_hex(4)
    if protocol_irb is None:
        protocol, bench_reader = _ConfirmBench(write)._populate(studies=studies, rng=random.Random(seed), tag=tag)
    else:
        protocol = Protocol.objects.filter(irb_number=protocol_irb).first()
        if protocol is None:
            raise LoadBenchError(f"no protocol {protocol_irb!r}")
        bench_reader = None
    radiologists = _members(protocol, Role.RADIOLOGIST, users, prefix=f"bench-load-{protocol.pk}-r")
    (scientist,) = _members(protocol, Role.DATA_SCIENTIST, 1, prefix=f"bench-load-{protocol.pk}-s")
    tokens = _tokens([*radiologists, scientist])
    cohort = Cohort.objects.filter(protocol=protocol, name=COHORT_NAME).order_by("-version").first()
    if cohort is None:
        spec = cohort_spec_build(protocol=protocol, data={"name": COHORT_NAME, "source": "confirmed+soft"})
        cohort = cohort_freeze(spec=spec, actor=None)
    return Seeded(
        protocol=protocol, cohort=cohort, radiologist_tokens=[tokens[u.pk] for u in radiologists],
        scientist_token=tokens[scientist.pk], user_ids=[u.pk for u in (*radiologists, scientist)],
        bench_reader=bench_reader,
    )


def _members(protocol: Protocol, role: str, count: int, *, prefix: str) -> list[Any]:
    """`count` active users named `prefix`N with a current `role` membership (made if missing)."""
    user_model = get_user_model()
    names = [f"{prefix}{i:03d}" for i in range(count)]
    today = timezone.localdate()
    with transaction.atomic():
        existing = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
        user_model.objects.bulk_create(
            user_model(username=name, is_active=True) for name in names if name not in existing
        )
        found = list(user_model.objects.filter(username__in=names).order_by("username"))
        user_model.objects.filter(pk__in=[u.pk for u in found]).update(is_active=True)
        member = set(
            Membership.objects.filter(protocol=protocol, role=role, user__in=found).values_list("user_id", flat=True)
        )
        Membership.objects.bulk_create(
            Membership(user=u, protocol=protocol, role=role, valid_from=today) for u in found if u.pk not in member
        )
    return found


def _tokens(users: list[Any]) -> dict[int, str]:
    """An API token for each user, as POST /api/v1/auth/token/ would hand out (without 55 argon2 hashes)."""
    have = dict(Token.objects.filter(user__in=users).values_list("user_id", "key"))
    Token.objects.bulk_create(
        Token(user=u, key=Token.generate_key()) for u in users if u.pk not in have
    )
    return dict(Token.objects.filter(user__in=users).values_list("user_id", "key"))


def _close(seeded: Seeded) -> None:
    """Close the protocol this run made, and sign its users out for good.

    Its studies stay: the cohort refers to them and cohorts are immutable (a database trigger
    refuses their deletion), like the audit log that names the users.
    """
    with transaction.atomic():
        Token.objects.filter(user_id__in=seeded.user_ids).delete()
        QueueLease.objects.filter(study__protocol=seeded.protocol).delete()
        Protocol.objects.filter(pk=seeded.protocol.pk).update(status=ProtocolStatus.CLOSED)
        get_user_model().objects.filter(pk__in=[*seeded.user_ids, seeded.bench_reader.pk]).update(is_active=False)


# --- the server ---


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str

    def pids(self) -> list[int]:
        """The master and its worker processes."""
        master = self.proc.pid
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            return [master]
        return [master, *map(int, children)]


def _database_url() -> str:
    """The URL of the database this process uses (the test database under pytest)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _gunicorn(*, workers: int, threads: int) -> Iterator[Server]:
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": _database_url(),
        "RADLABEL_VAR_DIR": str(settings.VAR_DIR),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    argv = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
        "--no-control-socket", "--log-level", "warning",
        # A slow export under load is not a hung worker.
        "--timeout", "300",
    ]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)
    server = Server(proc=proc, url=f"http://127.0.0.1:{port}")
    try:
        _wait_ready(server)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise LoadBenchError(f"gunicorn exited with {server.proc.returncode} before answering")
        with contextlib.suppress(requests.RequestException):
            # Any answer from Django will do: 401 without a token.
            requests.get(f"{server.url}/api/v1/protocols/", headers=_HEADERS, timeout=5)
            return
        time.sleep(0.2)
    raise LoadBenchError(f"gunicorn did not answer within {READY_TIMEOUT_S:.0f}s")


# --- the load ---

# What the TLS proxy in front of production adds (production settings redirect plain HTTP).
_HEADERS = {"X-Forwarded-Proto": "https"}


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({**_HEADERS, "Authorization": f"Token {token}"})
    return session


def _timed(
    recorder: Recorder, op: str, session: requests.Session, method: str, url: str, **kwargs: Any
) -> requests.Response | None:
    began = time.perf_counter()
    try:
        response = session.request(method, url, timeout=REQUEST_TIMEOUT_S, **kwargs)
    except requests.RequestException as exc:
        recorder.failure(op, exc)
        return None
    ms = (time.perf_counter() - began) * 1000
    recorder.answer(op, response.status_code, ms, "" if response.ok else response.text)
    return response


def _radiologist(
    *, url: str, token: str, protocol_id: int, stop: threading.Event, recorder: Recorder, think_s: float,
    rng: random.Random,
) -> None:
    """Next study, read it, confirm it (changing one label a time in five), until stopped."""
    session = _session(token)
    while not stop.is_set():
        nxt = _timed(recorder, "queue-next", session, "GET", f"{url}/api/v1/queue/next/", params={"protocol": protocol_id})
        if nxt is None or nxt.status_code != 200:
            # An empty queue (204) or an error: don't spin on it.
            stop.wait(0.5)
            continue
        body = nxt.json()
        study = body["study"]
        if _timed(recorder, "read", session, "GET", f"{url}/api/v1/studies/{study}/") is None:
            continue
        labels = {row["label"]: row["value"] for row in body["labels"]}
        if labels and rng.random() < 0.2:
            labels[rng.choice(sorted(labels))] = rng.choice(["positive", "negative", "uncertain", "absent"])
        stop.wait(think_s)
        _timed(
            recorder, "confirm", session, "POST", f"{url}/api/v1/studies/{study}/confirmations/",
            json={"labels": labels, "version": body["version"], "time_spent_ms": int(think_s * 1000)},
        )


def _exporter(*, url: str, token: str, cohort_id: int, stop: threading.Event, recorder: Recorder) -> None:
    """Download the cohort's export, whole, again and again; one cut short at the stop is not counted."""
    session = _session(token)
    while not stop.is_set():
        began = time.perf_counter()
        size = 0
        try:
            with session.get(f"{url}/api/v1/cohorts/{cohort_id}/export/", params={"format": "jsonl"},
                             stream=True, timeout=REQUEST_TIMEOUT_S) as response:
                if not response.ok:
                    recorder.answer("export", response.status_code, (time.perf_counter() - began) * 1000, response.text)
                    stop.wait(0.5)
                    continue
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if stop.is_set():
                        recorder.export_cut()
                        return
        except requests.RequestException as exc:
            recorder.failure("export", exc)
            continue
        recorder.answer("export", response.status_code, (time.perf_counter() - began) * 1000)
        recorder.exported(size)


def _rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used (fields 14 and 15 of /proc/PID/stat)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            # The command name (field 2) may hold spaces; the fields after its ")" do not.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _sample_rss(server: Server, stop: threading.Event, samples: list[tuple[float, int, int]]) -> None:
    began = time.monotonic()
    while True:
        pids = server.pids()
        samples.append((time.monotonic() - began, _rss_kib(pids), len(pids)))
        if stop.wait(RSS_EVERY_S):
            return


def _load(
    *, server: Server, seeded: Seeded, exports: int, duration: float, warmup_s: float, think_s: float, seed: int
) -> dict[str, Any]:
    recorder = Recorder()
    stop = threading.Event()
    rss: list[tuple[float, int, int]] = []
    rss_stop = threading.Event()
    sampler = threading.Thread(target=_sample_rss, args=(server, rss_stop, rss), daemon=True)
    clients = [
        threading.Thread(target=_radiologist, daemon=True, kwargs={
            "url": server.url, "token": token, "protocol_id": seeded.protocol.pk, "stop": stop,
            "recorder": recorder, "think_s": think_s, "rng": random.Random(seed * 1000 + i),
        })
        for i, token in enumerate(seeded.radiologist_tokens)
    ] + [
        threading.Thread(target=_exporter, daemon=True, kwargs={
            "url": server.url, "token": seeded.scientist_token, "cohort_id": seeded.cohort.pk, "stop": stop,
            "recorder": recorder,
        })
        for _ in range(exports)
    ]
    sampler.start()
    for thread in clients:
        thread.start()
    # Each gunicorn worker imports most of the app on its first requests (seconds on a busy
    # machine); a long-lived production worker has long paid that, so it is left out.
    stop.wait(warmup_s)
    recorder.reset()
    began = time.perf_counter()
    # Server CPU per request does not depend on what else the machine runs, unlike latency.
    cpu_began = _cpu_s(server.pids())
    stop.wait(duration)
    stop.set()
    for thread in clients:
        thread.join(REQUEST_TIMEOUT_S)
    cpu_s = _cpu_s(server.pids()) - cpu_began
    elapsed = time.perf_counter() - began
    rss_stop.set()
    sampler.join()
    return {
        "elapsed_s": elapsed,
        "server_cpu_s": cpu_s,
        "ops": dict(recorder.ops),
        "error_samples": recorder.error_samples,
        "export_bytes": recorder.export_bytes,
        "exports_cut": recorder.exports_cut,
        "rss": rss,
        "errors": recorder.warmup_errors + sum(stats.errors for stats in recorder.ops.values()),
        "warmup_errors": recorder.warmup_errors,
        "conflicts": sum(stats.conflicts for stats in recorder.ops.values()),
    }


# --- the figures ---


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100) of the values; 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), int(round(q / 100 * len(ordered)))) - 1)]


def rss_summary(samples: list[tuple[float, int, int]]) -> dict[str, float]:
    """Start, middle and end RSS (MiB), end vs middle (%), and the second half's slope (MiB/min)."""
    if not samples:
        return {"start": 0.0, "middle": 0.0, "end": 0.0, "change_pct": 0.0, "slope": 0.0}
    mib = [(t, kib / 1024) for t, kib, _ in samples]
    middle_at = mib[-1][0] / 2
    middle = min(mib, key=lambda s: abs(s[0] - middle_at))
    half = [s for s in mib if s[0] >= middle[0]]
    slope = 0.0
    if len(half) >= 2:
        slope = statistics.linear_regression([t for t, _ in half], [m for _, m in half]).slope * 60
    end = mib[-1][1]
    return {
        "start": mib[0][1], "middle": middle[1], "end": end,
        "change_pct": (end - middle[1]) / middle[1] * 100 if middle[1] else 0.0, "slope": slope,
    }


def _report(figures: dict[str, Any], *, write: Callable[[str], Any], users: int, exports: int, duration: float) -> None:
    elapsed = figures["elapsed_s"]
    write(f"load: {users} radiologists + {exports} exports for {duration:.0f}s after the warm-up (ran {elapsed:.1f}s)")
    write(f"{'operation':<11}{'requests':>9}{'2xx':>8}{'409':>6}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    total = 0
    for op in ("queue-next", "read", "confirm", "export"):
        stats: OpStats = figures["ops"].get(op, OpStats())
        count = stats.ok + stats.conflicts + stats.errors
        total += count
        lat = stats.latencies
        write(f"{op:<11}{count:>9}{stats.ok:>8}{stats.conflicts:>6}{stats.errors:>8}"
              f"{percentile(lat, 50):>9.1f}{percentile(lat, 95):>9.1f}{percentile(lat, 99):>9.1f}")
    confirm = figures["ops"].get("confirm", OpStats())
    empty = figures["ops"].get("queue-next", OpStats()).empty
    write(f"requests {total}, errors {figures['errors']} ({figures['warmup_errors']} in the warm-up), "
          f"conflicts (409) {figures['conflicts']}")
    write(f"throughput: {total / elapsed:.1f} requests/s, {confirm.ok / elapsed:.1f} confirmations/s, "
          f"{figures['export_bytes'] / elapsed / 2**20:.1f} MiB/s exported ({figures['exports_cut']} exports cut at the stop)")
    write(f"server CPU: {figures['server_cpu_s']:.1f} s in {elapsed:.1f} s "
          f"({figures['server_cpu_s'] / elapsed:.2f} cores), {figures['server_cpu_s'] * 1000 / max(total, 1):.1f} ms per request")
    if empty:
        write(f"the queue ran dry {empty} times: seed more studies (--studies) for a run this long")
    rss = rss_summary(figures["rss"])
    flat = abs(rss["change_pct"]) <= FLAT_PERCENT
    processes = figures["rss"][-1][2] if figures["rss"] else 0
    write(f"server RSS ({processes} processes): start {rss['start']:.0f} MiB, middle {rss['middle']:.0f} MiB, "
          f"end {rss['end']:.0f} MiB; end vs middle {rss['change_pct']:+.1f}% "
          f"({'flat' if flat else 'NOT flat'}: within {FLAT_PERCENT:.0f}%); slope {rss['slope']:+.2f} MiB/min over the second half")
    for sample in figures["error_samples"]:
        write(f"error: {sample}")
