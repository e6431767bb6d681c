"""The data-parallel trainer under torchrun with two processes (gloo on the CPU), via the local backend."""
from __future__ import annotations

import json

import pytest

from tests.training.ml.data import LABELS, make_reports
from training.ml import textclf
from training.services.backends import LaunchSpec, LocalBackend, torchrun_command


@pytest.mark.slow
def test_torchrun_with_two_processes_trains_one_model(tmp_path):
    train_texts, train_targets = make_reports(120, seed=1)
    val_texts, val_targets = make_reports(40, seed=2)
    data = tmp_path / "job.json"
    data.write_text(json.dumps({
        "labels": LABELS, "train_texts": train_texts, "train_targets": train_targets,
        "val_texts": val_texts, "val_targets": val_targets,
        "params": {"epochs": 3, "buckets": 4096, "embed_dim": 16, "lr": 0.05, "seed": 3},
    }))
    out, progress = tmp_path / "result.json", tmp_path / "progress.jsonl"
    backend = LocalBackend()
    spec = LaunchSpec(command=torchrun_command(nproc=2, data=data, out=out, progress=progress), workdir=tmp_path,
                      env={"OMP_NUM_THREADS": "1"})

    handle = backend.submit(spec)
    state = backend.wait(handle, timeout=120)

    assert state == "succeeded", backend.logs(handle, spec)
    result = json.loads(out.read_text())
    assert result["world_size"] == 2
    assert result["backend"] == "gloo"
    assert [e["epoch"] for e in result["history"]] == [1, 2, 3]
    assert [json.loads(line)["epoch"] for line in progress.read_text().splitlines()] == [1, 2, 3]
    assert result["history"][-1]["val_metric"] > 0.9
    model, labels, params = textclf.load_weights((tmp_path / "result.pt").read_bytes())
    assert labels == LABELS
    scores = textclf.predict(model, ["FINDINGS: small left pleural effusion. no pneumothorax."], params=params)
    assert scores[0][0] > scores[0][1]


def test_cancel_stops_every_rank(tmp_path):
    backend = LocalBackend()
    spec = LaunchSpec(command=["bash", "-c", "sleep 30 & sleep 30 & wait"], workdir=tmp_path)
    handle = backend.submit(spec)

    backend.cancel(handle)

    assert backend.status(handle) == "cancelled"
