"""Where a training process runs: this host, or a cluster's scheduler (submit / status / cancel / logs).

The worker launches the data-parallel trainer (`torchrun ... -m training.ml.ddp`) through a
backend. `LocalBackend` runs it as a subprocess of the worker (its own process group, so cancel
stops every rank). `SlurmBackend` and `LSFBackend` render a batch script and hand it to `sbatch`
/ `bsub`; they are tested here against stand-in `sbatch` / `bsub` / `squeue` / ... scripts on
PATH (docs/TRAINING.md), not a real cluster. Nothing here imports Django.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# Our states; each scheduler's own are mapped onto them.
PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, UNKNOWN = "pending", "running", "succeeded", "failed", "cancelled", "unknown"


@dataclass
class LaunchSpec:
    """One training process group: the command every node runs, its resources and where logs go."""

    command: list[str]
    workdir: Path
    name: str = "radlabel-training"
    nodes: int = 1
    processes_per_node: int = 1
    gpus_per_node: int = 0
    cpus_per_process: int = 1
    time_limit_minutes: int = 60
    queue: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"


class JobBackend(Protocol):
    name: str

    def submit(self, spec: LaunchSpec) -> str: ...
    def status(self, handle: str) -> str: ...
    def cancel(self, handle: str) -> None: ...
    def logs(self, handle: str, spec: LaunchSpec, tail: int = 4000) -> str: ...


def torchrun_command(*, nproc: int, data: Path, out: Path, progress: Path | None = None, python: str | None = None,
                     nnodes: int = 1, rendezvous: str | None = None) -> list[str]:
    """torchrun for the data-parallel trainer: standalone on one node, c10d rendezvous across nodes."""
    command = [python or sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}"]
    if nnodes > 1 and rendezvous:
        command += [f"--nnodes={nnodes}", "--rdzv_backend=c10d", f"--rdzv_endpoint={rendezvous}"]
    else:
        command += ["--standalone", "--nnodes=1"]
    command += ["-m", "training.ml.ddp", "--data", str(data), "--out", str(out)]
    if progress is not None:
        command += ["--progress", str(progress)]
    return command


def _tail(path: Path, tail: int) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - tail))
        return handle.read().decode(errors="replace")


class LocalBackend:
    """Runs the command on this host as a child process (its own session, so cancel reaches every rank)."""

    name = "local"

    def __init__(self) -> None:
        self._processes: dict[str, subprocess.Popen] = {}

    def submit(self, spec: LaunchSpec) -> str:
        spec.workdir.mkdir(parents=True, exist_ok=True)
        with spec.log_path.open("ab") as log:
            process = subprocess.Popen(
                spec.command, cwd=spec.workdir, env={**os.environ, **spec.env}, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        handle = str(process.pid)
        self._processes[handle] = process
        return handle

    def status(self, handle: str) -> str:
        process = self._processes.get(handle)
        if process is None:
            return UNKNOWN
        code = process.poll()
        if code is None:
            return RUNNING
        if code == 0:
            return SUCCEEDED
        return CANCELLED if code in (-signal.SIGTERM, -signal.SIGKILL) else FAILED

    def wait(self, handle: str, timeout: float | None = None) -> str:
        process = self._processes.get(handle)
        if process is not None:
            process.wait(timeout=timeout)
        return self.status(handle)

    def cancel(self, handle: str) -> None:
        process = self._processes.get(handle)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def logs(self, handle: str, spec: LaunchSpec, tail: int = 4000) -> str:
        return _tail(spec.log_path, tail)


def _run(command: list[str], *, stdin: str | None = None) -> str:
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} exited {done.returncode}: {done.stderr.strip()[:300]}")
    return done.stdout


def _script_lines(spec: LaunchSpec) -> list[str]:
    lines = [f"cd {shlex.quote(str(spec.workdir))}"]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in sorted(spec.env.items())]
    return lines


class SlurmBackend:
    """sbatch a script whose one task per node runs torchrun with a c10d rendezvous on the first node."""

    name = "slurm"
    _STATES = {"PENDING": PENDING, "CONFIGURING": PENDING, "RUNNING": RUNNING, "COMPLETING": RUNNING,
               "COMPLETED": SUCCEEDED, "CANCELLED": CANCELLED, "FAILED": FAILED, "TIMEOUT": FAILED,
               "NODE_FAIL": FAILED, "OUT_OF_MEMORY": FAILED, "PREEMPTED": FAILED}

    def render(self, spec: LaunchSpec) -> str:
        lines = [
            "#!/bin/bash",
            f"#SBATCH --job-name={spec.name}",
            f"#SBATCH --nodes={spec.nodes}",
            "#SBATCH --ntasks-per-node=1",
            f"#SBATCH --cpus-per-task={spec.cpus_per_process * spec.processes_per_node}",
            f"#SBATCH --time={spec.time_limit_minutes}",
            f"#SBATCH --output={spec.log_path}",
        ]
        if spec.gpus_per_node:
            lines.append(f"#SBATCH --gpus-per-node={spec.gpus_per_node}")
        if spec.queue:
            lines.append(f"#SBATCH --partition={spec.queue}")
        lines += ["set -euo pipefail", *_script_lines(spec),
                  'head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
                  "srun " + shlex.join(spec.command).replace("__RDZV__", "${head_node}:29500")]
        return "\n".join(lines) + "\n"

    def submit(self, spec: LaunchSpec) -> str:
        spec.workdir.mkdir(parents=True, exist_ok=True)
        script = spec.workdir / f"{spec.name}.sbatch"
        script.write_text(self.render(spec))
        out = _run(["sbatch", "--parsable", str(script)]).strip()
        job_id = out.split(";")[0]
        if not job_id.isdigit():
            raise RuntimeError(f"sbatch did not answer a job id: {out[:100]!r}")
        return job_id

    def status(self, handle: str) -> str:
        out = _run(["squeue", "-h", "-j", handle, "-o", "%T"]).strip()
        if not out:
            out = _run(["sacct", "-n", "-X", "-j", handle, "-o", "State"]).strip()
        state = out.split()[0].rstrip("+") if out else ""
        return self._STATES.get(state, UNKNOWN)

    def cancel(self, handle: str) -> None:
        _run(["scancel", handle])

    def logs(self, handle: str, spec: LaunchSpec, tail: int = 4000) -> str:
        return _tail(spec.log_path, tail)


class LSFBackend:
    """bsub a script (read from stdin, as LSF expects) that runs torchrun across the allocated hosts."""

    name = "lsf"
    _STATES = {"PEND": PENDING, "PSUSP": PENDING, "RUN": RUNNING, "USUSP": RUNNING, "SSUSP": RUNNING,
               "DONE": SUCCEEDED, "EXIT": FAILED}
    _SUBMITTED = re.compile(r"Job <(\d+)> is submitted")

    def render(self, spec: LaunchSpec) -> str:
        lines = [
            "#!/bin/bash",
            f"#BSUB -J {spec.name}",
            f"#BSUB -n {spec.nodes * spec.processes_per_node * spec.cpus_per_process}",
            f'#BSUB -R "span[ptile={spec.processes_per_node * spec.cpus_per_process}]"',
            f"#BSUB -W {spec.time_limit_minutes}",
            f"#BSUB -o {spec.log_path}",
        ]
        if spec.gpus_per_node:
            lines.append(f'#BSUB -gpu "num={spec.gpus_per_node}:mode=exclusive_process"')
        if spec.queue:
            lines.append(f"#BSUB -q {spec.queue}")
        lines += ["set -euo pipefail", *_script_lines(spec),
                  "head_node=$(echo $LSB_HOSTS | cut -d ' ' -f 1)",
                  shlex.join(spec.command).replace("__RDZV__", "${head_node}:29500")]
        return "\n".join(lines) + "\n"

    def submit(self, spec: LaunchSpec) -> str:
        spec.workdir.mkdir(parents=True, exist_ok=True)
        script = self.render(spec)
        (spec.workdir / f"{spec.name}.bsub").write_text(script)
        out = _run(["bsub"], stdin=script)
        match = self._SUBMITTED.search(out)
        if match is None:
            raise RuntimeError(f"bsub did not answer a job id: {out[:100]!r}")
        return match.group(1)

    def status(self, handle: str) -> str:
        out = _run(["bjobs", "-noheader", "-o", "stat", handle]).strip()
        return self._STATES.get(out.split()[0] if out else "", UNKNOWN)

    def cancel(self, handle: str) -> None:
        _run(["bkill", handle])

    def logs(self, handle: str, spec: LaunchSpec, tail: int = 4000) -> str:
        return _tail(spec.log_path, tail)


BACKENDS = {"local": LocalBackend, "slurm": SlurmBackend, "lsf": LSFBackend}


def backend(name: str) -> JobBackend:
    try:
        return BACKENDS[name]()
    except KeyError:
        raise ValueError(f"Unknown training backend {name!r}; one of {', '.join(BACKENDS)}") from None
