"""Data-parallel training of the n-gram classifier, launched by torchrun (no Django).

    torchrun --standalone --nproc_per_node 2 -m training.ml.ddp --data job.json --out result.json

Every process builds the same model from the same seed, DistributedDataParallel averages the
gradients (gloo on the CPU, NCCL when each process has a GPU), and each process trains on its
own shard of every epoch's shuffled order (the shards padded to the same number of batches,
as DistributedSampler does, so every rank takes the same number of steps). Rank 0 evaluates on
the validation split after each epoch, appends the epoch's report as a JSON line to --progress
(the worker reads it to report to Optuna, prune and heartbeat), and writes the weights and the
result at the end.

--data is JSON: {"labels", "train_texts", "train_targets", "val_texts", "val_targets", "params"}.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from training.ml import textclf


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help="result JSON, written by rank 0")
    parser.add_argument("--weights", type=Path, help="weights file, written by rank 0 (default: beside --out)")
    parser.add_argument("--progress", type=Path, help="JSON lines, one per epoch, written by rank 0")
    return parser.parse_args(argv)


def _shard(order: np.ndarray, rank: int, world: int, batch_size: int) -> list[np.ndarray]:
    """This rank's batches of `order`: padded by wrapping so every rank has the same number of steps."""
    per_rank = -(-len(order) // world)
    padded = np.resize(order, per_rank * world)
    mine = padded[rank::world]
    return [mine[i : i + batch_size] for i in range(0, len(mine), batch_size)]


def train_distributed(data: dict[str, Any], *, progress: Path | None = None) -> tuple[dict[str, Any], bytes | None]:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    use_cuda = torch.cuda.is_available()
    backend = "nccl" if use_cuda else "gloo"
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = f"cuda:{local_rank}" if use_cuda else "cpu"
    if use_cuda:
        torch.cuda.set_device(local_rank)
    torch.set_num_threads(1)
    try:
        params = textclf.TrainParams.from_dict(data["params"])
        labels = list(data["labels"])
        model = textclf.build_model(n_labels=len(labels), params=params, sparse=False).to(device)
        ddp = DistributedDataParallel(model, device_ids=[local_rank] if use_cuda else None)
        optimizer = torch.optim.AdamW(ddp.parameters(), lr=params.lr, weight_decay=params.weight_decay)
        encoded = textclf.encode(data["train_texts"], buckets=params.buckets, ngrams=params.ngrams)
        y_np, mask_np = textclf.targets_array(data["train_targets"], len(labels))
        y_all, mask_all = torch.from_numpy(y_np).to(device), torch.from_numpy(mask_np).to(device)
        val_encoded = textclf.encode(data["val_texts"], buckets=params.buckets, ngrams=params.ngrams)
        val_y, val_mask = textclf.targets_array(data["val_targets"], len(labels))
        rng = np.random.default_rng(params.seed)  # the same order on every rank; each takes its shard
        history = []
        for epoch in range(1, params.epochs + 1):
            started = time.perf_counter()
            ddp.train()
            total, steps = torch.zeros(1, device=device), 0
            for rows in _shard(rng.permutation(len(encoded)), rank, world, params.batch_size):
                ids, offsets = textclf._batch(encoded, rows, device)
                index = torch.from_numpy(rows).to(device)
                with textclf._autocast(device):
                    logits = ddp(ids, offsets)
                loss = textclf.masked_bce(logits, y_all[index], mask_all[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach()
                steps += 1
            dist.all_reduce(total)
            seconds = time.perf_counter() - started
            if rank == 0:
                scores = textclf.predict_encoded(model, val_encoded, device=device) if val_encoded else None
                report = {
                    "epoch": epoch, "train_loss": float(total) / max(steps * world, 1),
                    "val_metric": textclf.macro_auroc(val_y, val_mask, scores) if scores is not None else None,
                    "seconds": seconds, "reports_per_second": len(encoded) / seconds if seconds > 0 else 0.0,
                }
                history.append(report)
                if progress is not None:
                    with progress.open("a") as handle:
                        handle.write(json.dumps(report) + "\n")
        weights = textclf.save_weights(model, labels=labels, params=params) if rank == 0 else None
        result = {"world_size": world, "backend": backend, "device": device, "history": history, "params": asdict(params)}
        return result, weights
    finally:
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    data = json.loads(args.data.read_text())
    result, weights = train_distributed(data, progress=args.progress)
    if weights is not None:
        weights_path = args.weights or args.out.with_suffix(".pt")
        weights_path.write_bytes(weights)
        result["weights"] = str(weights_path)
        result["weights_sha256"] = hashlib.sha256(weights).hexdigest()
        partial = args.out.with_name(args.out.name + ".partial")
        partial.write_text(json.dumps(result))
        partial.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
