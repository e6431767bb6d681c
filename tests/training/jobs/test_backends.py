"""Slurm and LSF backends render a batch script and drive the scheduler's commands.

There is no cluster here: the tests put stand-in `sbatch` / `squeue` / `sacct` / `scancel` and
`bsub` / `bjobs` / `bkill` scripts on PATH that record their arguments and answer as the real
commands do (docs/TRAINING.md says so).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from training.services.backends import (
    LaunchSpec,
    LSFBackend,
    SlurmBackend,
    backend,
    torchrun_command,
)


def _stand_in(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/bash\n" + f'echo "{name} $*" >> "{folder}/calls.log"\n' + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def scheduler(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stand_in(bin_dir, "sbatch", 'cp "$2" "$(dirname "$0")/submitted.sbatch"\necho "4242;cluster"\n')
    _stand_in(bin_dir, "squeue", 'echo "RUNNING"\n')
    _stand_in(bin_dir, "sacct", 'echo "COMPLETED"\n')
    _stand_in(bin_dir, "scancel", "exit 0\n")
    _stand_in(bin_dir, "bsub", 'cat > "$(dirname "$0")/submitted.bsub"\necho "Job <777> is submitted to queue <gpu>."\n')
    _stand_in(bin_dir, "bjobs", 'echo "PEND"\n')
    _stand_in(bin_dir, "bkill", 'echo "Job <$1> is being terminated"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def _spec(tmp_path: Path) -> LaunchSpec:
    command = torchrun_command(nproc=4, nnodes=2, rendezvous="__RDZV__", data=tmp_path / "job.json",
                               out=tmp_path / "result.json", python="python3")
    return LaunchSpec(command=command, workdir=tmp_path / "work", name="radlabel-run-9", nodes=2, processes_per_node=4,
                      gpus_per_node=4, queue="gpu", env={"NCCL_DEBUG": "WARN"})


def test_slurm_submits_a_rendered_script_and_maps_its_states(scheduler, tmp_path):
    slurm = SlurmBackend()
    spec = _spec(tmp_path)

    handle = slurm.submit(spec)

    assert handle == "4242"
    script = (scheduler / "submitted.sbatch").read_text()
    for line in ("#SBATCH --nodes=2", "#SBATCH --gpus-per-node=4", "#SBATCH --partition=gpu", "export NCCL_DEBUG=WARN"):
        assert line in script
    assert "srun python3 -m torch.distributed.run --nproc_per_node=4 --nnodes=2" in script
    assert "--rdzv_endpoint=${head_node}:29500" in script
    assert slurm.status(handle) == "running"
    slurm.cancel(handle)
    assert "scancel 4242" in (scheduler / "calls.log").read_text()
    (scheduler / "squeue").write_text("#!/bin/bash\necho ''\n")
    assert slurm.status(handle) == "succeeded"  # gone from squeue: sacct has the end state


def test_lsf_submits_the_script_on_stdin(scheduler, tmp_path):
    lsf = LSFBackend()
    spec = _spec(tmp_path)

    handle = lsf.submit(spec)

    assert handle == "777"
    script = (scheduler / "submitted.bsub").read_text()
    assert "#BSUB -n 8" in script
    assert '#BSUB -gpu "num=4:mode=exclusive_process"' in script
    assert "#BSUB -q gpu" in script
    assert lsf.status(handle) == "pending"
    lsf.cancel(handle)
    assert "bkill 777" in (scheduler / "calls.log").read_text()


def test_a_scheduler_error_is_raised_with_its_message(scheduler, tmp_path):
    (scheduler / "sbatch").write_text("#!/bin/bash\necho 'sbatch: error: invalid partition' >&2\nexit 1\n")

    with pytest.raises(RuntimeError, match="invalid partition"):
        SlurmBackend().submit(_spec(tmp_path))


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="local, slurm, lsf"):
        backend("kubernetes")
