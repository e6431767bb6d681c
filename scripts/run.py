#!/usr/bin/env python
"""Run radlabel on this machine: the web server and a Celery worker, stopped together.

`make run` migrates and seeds first, then calls this. Both children run in their own process
group, so Ctrl-C reaches only this supervisor, which then stops them in order (a worker that got
a second SIGINT from the terminal would skip its warm shutdown). If either child dies, the other
is stopped and this exits non-zero.

Environment: PORT (default 8000), DEMO_PASSWORD (else the one seed_demo generated), and
everything config/settings/base.py reads (DATABASE_URL, CELERY_BROKER_URL, RADLABEL_VAR_DIR...).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_USERS = ("admin", "curator", "radiologist", "scientist", "outsider")
GRACE_SECONDS = 10.0


def _say(text: str, *, error: bool = False) -> None:
    """Write a line of our own between the children's output (this is a terminal program)."""
    stream = sys.stderr if error else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child if the supervisor is killed outright (no orphans)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # Not Linux: Ctrl-C still stops both children through the supervisor.


def _start(name: str, argv: list[str], env: dict[str, str], *, ready: bytes | None = None) -> tuple[subprocess.Popen[bytes], threading.Event]:
    """Start a child; with `ready`, copy its output through and set the event when a line has it."""
    _say(f"[run] starting {name}: {' '.join(argv)}")
    seen = threading.Event()
    if ready is None:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True, preexec_fn=_die_with_parent)
        seen.set()
        return proc, seen
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, start_new_session=True, preexec_fn=_die_with_parent,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )

    def copy() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
            if ready in line:
                seen.set()

    threading.Thread(target=copy, name=f"{name}-output", daemon=True).start()
    return proc, seen


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM each child (warm shutdown), then kill whatever is left of its group after the grace."""
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for name, proc in children.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"[run] {name} did not stop in {GRACE_SECONDS:.0f} s; killing it")
        # The worker's pool processes share its group: make sure none outlives it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _demo_password(var_dir: Path) -> str | None:
    if os.environ.get("DEMO_PASSWORD"):
        return os.environ["DEMO_PASSWORD"]
    path = var_dir / "demo_password"
    return path.read_text().strip() if path.exists() else None


def _banner(url: str, var_dir: Path) -> str:
    password = _demo_password(var_dir)
    lines = ["", "=" * 64, f"  radlabel is running at {url}", ""]
    if password:
        lines.append("  Demo logins (username / password):")
        lines += [f"    {user:<12} {password}" for user in DEMO_USERS]
        lines.append("  outsider is on no protocol, so it sees no study; admin manages protocols.")
    else:
        lines.append("  No demo password found: run `python manage.py seed_demo` first.")
    lines += ["", "  Press Ctrl-C to stop the web server and the worker.", "=" * 64, ""]
    return "\n".join(lines)


def main() -> int:
    port = os.environ.get("PORT") or "8000"
    if not port.isdigit():
        _say(f"[run] PORT must be a number, got {port!r}", error=True)
        return 2
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    bin_dir = Path(sys.executable).parent
    url = f"http://127.0.0.1:{port}/"

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    var_dir = Path(os.environ.get("RADLABEL_VAR_DIR", ROOT / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    web, _ = _start("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env)
    # -B embeds beat, which sends the periodic job reaper (CELERY_BEAT_SCHEDULE); production
    # runs one `celery -A config beat` instead.
    worker, worker_ready = _start(
        "worker",
        [str(bin_dir / "celery"), "-A", "config", "worker", "--concurrency", "1", "-l", "INFO",
         "-n", f"radlabel-{port}@%h", "-Q", "celery,training", "-B", "--schedule", str(var_dir / "celerybeat-schedule")],
        env,
        ready=b" ready.",
    )
    children = {"web": web, "worker": worker}
    code = 0
    banner_due = True
    try:
        while not stopping:
            dead = [(name, proc.returncode) for name, proc in children.items() if proc.poll() is not None]
            if dead:
                name, returncode = dead[0]
                _say(f"[run] {name} exited with status {returncode}; stopping the rest", error=True)
                code = returncode or 1
                break
            # The banner comes once both answer, so the URL and logins are not buried in start-up logs.
            if banner_due and worker_ready.is_set() and _answers(f"{url}accounts/login/"):
                _say(_banner(url, var_dir))
                banner_due = False
            time.sleep(0.5)
    finally:
        _say("[run] stopping the web server and the worker")
        _stop(children)
    _say("[run] stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
