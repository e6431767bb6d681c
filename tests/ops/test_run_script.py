"""scripts/run.py end to end, as `make run` uses it: a fresh var dir, migrate, seed, then serve.

The children get what a new user's first `make run` gets, whatever this run's environment says:
a private var dir with a SQLite file and kombu's filesystem broker. (A shared Redis queue could
hold messages other tests left, naming jobs of another database; tests/integration covers Redis.)
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.worker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "run-script-password"
REPORTS = 12
# Enqueues a real relabel job, then waits for the worker started by run.py to finish it.
RELABEL_THROUGH_WORKER = """
import time
from reports.models import Job, Protocol
from annotation.services.relabel import relabel_start
job = relabel_start(protocol=Protocol.objects.get(irb_number="IRB-DEMO-0001"), actor=None, force=True)
deadline = time.monotonic() + 240
while not Job.objects.get(pk=job.pk).is_finished and time.monotonic() < deadline:
    time.sleep(0.5)
print("JOB", Job.objects.get(pk=job.pk).status)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(url: str, *, data: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method="POST" if data is not None else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            is_json = response.headers.get_content_type() == "application/json"
            return response.status, json.loads(response.read()) if is_json else {}
    except urllib.error.HTTPError as error:
        return error.code, {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for its parent has exited too.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().split(") ", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _named_worker_pids(port: str) -> list[int]:
    """Celery processes (main and pool) that run.py started for `port`, found by worker name."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)):
            try:
                if f"radlabel-{port}@".encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


@pytest.fixture(scope="module")
def app_env(tmp_path_factory) -> dict[str, str]:
    """A migrated and seeded var dir, shared by this module's tests (each picks its own port)."""
    private = {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "CELERY_BROKER_FOLDER", "SECRET_KEY"}
    env = {key: value for key, value in os.environ.items() if key not in private}
    env.update(
        RADLABEL_VAR_DIR=str(tmp_path_factory.mktemp("run") / "var"), DEMO_PASSWORD=PASSWORD,
        DJANGO_SETTINGS_MODULE="config.settings.base", PYTHONUNBUFFERED="1",
    )
    for argv in (["migrate", "--noinput", "-v0"], ["seed_demo", "--reports", str(REPORTS)]):
        subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=env, check=True, timeout=300)
    return env


def test_run_serves_the_demo_with_a_real_worker_and_stops_both_on_ctrl_c(app_env, tmp_path) -> None:
    app_env = {**app_env, "PORT": str(_free_port())}
    url = f"http://127.0.0.1:{app_env['PORT']}"
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=app_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Generous: starting Django and Celery takes seconds alone, minutes on a crowded machine.
        deadline = time.monotonic() + 300
        while "radlabel is running" not in Path(log.name).read_text():
            assert proc.poll() is None, Path(log.name).read_text()
            assert time.monotonic() < deadline, Path(log.name).read_text()
            time.sleep(0.5)
        children = _children(proc.pid)
        assert len(children) == 2

        assert _call(f"{url}/accounts/login/")[0] == 200
        tokens = {}
        for username in ("admin", "curator", "radiologist", "scientist", "outsider"):
            status, body = _call(f"{url}/api/v1/auth/token/", data={"username": username, "password": PASSWORD})
            assert status == 200, username
            tokens[username] = body["token"]
        status, studies = _call(f"{url}/api/v1/studies/", token=tokens["radiologist"])
        assert status == 200
        assert studies["count"] == REPORTS
        study_id = studies["results"][0]["id"]
        assert _call(f"{url}/api/v1/studies/{study_id}/", token=tokens["radiologist"])[0] == 200
        assert _call(f"{url}/api/v1/studies/", token=tokens["outsider"])[1]["count"] == 0
        assert _call(f"{url}/api/v1/studies/{study_id}/", token=tokens["outsider"])[0] == 404
        assert _call(f"{url}/api/v1/studies/")[0] in (401, 403)

        shell = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", RELABEL_THROUGH_WORKER],
            cwd=ROOT, env=app_env, capture_output=True, text=True, timeout=300,
        )
        assert "JOB succeeded" in shell.stdout, shell.stdout + shell.stderr

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        time.sleep(0.5)
        assert [pid for pid in children if _alive(pid)] == []
        assert _named_worker_pids(app_env["PORT"]) == []
        assert "[run] stopped" in Path(log.name).read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_stops_the_worker_and_fails_when_the_web_server_cannot_start(app_env) -> None:
    app_env = {**app_env, "PORT": str(_free_port())}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(app_env["PORT"])))
        taken.listen()
        proc = subprocess.run(
            [sys.executable, "scripts/run.py"], cwd=ROOT, env=app_env, capture_output=True, text=True, timeout=300
        )
    assert proc.returncode != 0
    assert "web exited" in proc.stderr
    assert "[run] stopped" in proc.stdout
    assert _named_worker_pids(app_env["PORT"]) == []
