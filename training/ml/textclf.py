"""A multi-label report-text classifier: hashed word and bigram n-grams -> EmbeddingBag -> linear.

fastText's recipe (Joulin et al. 2017) with one sigmoid per label: it trains in seconds on a CPU,
learns from confirmations and soft labels alike, and can generalise past the engine's phrases (the
CheXbert idea, with a far smaller encoder). Targets are 1, 0 or None; None ("no target": the
U-ignore policy, a label the cohort has no value for) is masked out of the loss.

torch is imported inside the functions, so importing this module costs nothing in a web process.
Every run is seeded (weights, shuffling); on a GPU the forward pass runs under torch.autocast
(bfloat16), on the CPU in float32.
"""
from __future__ import annotations

import hashlib
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from training.ml import metrics, registry, weights

MODEL_NAME = "ngram-bag"
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class TrainParams:
    lr: float = 0.05
    embed_dim: int = 32
    dropout: float = 0.1
    weight_decay: float = 1e-5
    ngrams: int = 2
    epochs: int = 8
    batch_size: int = 32
    buckets: int = 1 << 16
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainParams:
        known = {key: values[key] for key in cls.__dataclass_fields__ if key in values}
        return cls(**known)


@dataclass
class EpochReport:
    epoch: int
    train_loss: float
    val_loss: float | None
    val_macro_auroc: float | None
    seconds: float
    reports_per_second: float


@dataclass
class TrainResult:
    labels: list[str]
    params: TrainParams
    history: list[EpochReport] = field(default_factory=list)
    weights: bytes = b""
    device: str = "cpu"

    @property
    def weights_sha256(self) -> str:
        return hashlib.sha256(self.weights).hexdigest()


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def hashed_ngrams(text: str, *, buckets: int, ngrams: int) -> list[int]:
    """Bucket ids of a text's words and (if ngrams >= 2) word bigrams; crc32, so stable across processes."""
    tokens = tokenize(text)
    grams = [f"1 {token}" for token in tokens]
    if ngrams >= 2:
        grams += [f"2 {a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    # Bucket 0 stands for "no words" so an empty report still has one input.
    return [1 + zlib.crc32(gram.encode()) % (buckets - 1) for gram in grams] or [0]


def encode(texts: Sequence[str], *, buckets: int, ngrams: int) -> list[np.ndarray]:
    return [np.asarray(hashed_ngrams(text, buckets=buckets, ngrams=ngrams), dtype=np.int64) for text in texts]


def targets_array(targets: Sequence[Sequence[float | None]], n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets with 0 where masked, mask of 1 where there is a target) as float32 arrays."""
    y = np.zeros((len(targets), n_labels), dtype=np.float32)
    mask = np.zeros((len(targets), n_labels), dtype=np.float32)
    for i, row in enumerate(targets):
        for j, value in enumerate(row):
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                y[i, j] = float(value)
                mask[i, j] = 1.0
    return y, mask


def pick_device(prefer: str = "auto") -> str:
    import torch

    if prefer == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return prefer


def build_model(*, n_labels: int, params: TrainParams, sparse: bool = False) -> Any:
    import torch
    from torch import nn

    class NgramBag(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.EmbeddingBag(params.buckets, params.embed_dim, mode="mean", sparse=sparse)
            self.dropout = nn.Dropout(params.dropout)
            self.out = nn.Linear(params.embed_dim, n_labels)

        def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
            return self.out(self.dropout(self.embedding(ids, offsets)))

    torch.manual_seed(params.seed)
    return NgramBag()


def _batch(encoded: list[np.ndarray], rows: np.ndarray, device: str) -> tuple[Any, Any]:
    import torch

    pieces = [encoded[i] for i in rows]
    lengths = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    ids = torch.from_numpy(np.concatenate(pieces)).to(device)
    return ids, torch.from_numpy(offsets).to(device)


def _autocast(device: str) -> Any:
    import contextlib

    import torch

    if device.startswith("cuda"):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def make_optimizers(model: Any, params: TrainParams, *, sparse: bool) -> list[Any]:
    import torch

    if not sparse:
        return [torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)]
    dense = [p for name, p in model.named_parameters() if not name.startswith("embedding.")]
    return [
        torch.optim.SparseAdam(list(model.embedding.parameters()), lr=params.lr),
        torch.optim.AdamW(dense, lr=params.lr, weight_decay=params.weight_decay),
    ]


def predict_encoded(model: Any, encoded: list[np.ndarray], *, device: str, batch_size: int = 256) -> np.ndarray:
    import torch

    model.eval()
    outputs = []
    with torch.no_grad(), _autocast(device):
        for start in range(0, len(encoded), batch_size):
            rows = np.arange(start, min(start + batch_size, len(encoded)))
            ids, offsets = _batch(encoded, rows, device)
            outputs.append(torch.sigmoid(model(ids, offsets).float()).cpu().numpy())
    n_labels = model.out.out_features
    return np.concatenate(outputs) if outputs else np.zeros((0, n_labels), dtype=np.float32)


def masked_bce(logits: Any, y: Any, mask: Any) -> Any:
    import torch

    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), y, reduction="none")
    return (loss * mask).sum() / mask.sum().clamp(min=1.0)


def macro_auroc(targets: np.ndarray, mask: np.ndarray, scores: np.ndarray) -> float | None:
    values = []
    for j in range(targets.shape[1]):
        keep = mask[:, j] > 0
        values.append(metrics.auroc(targets[keep, j].tolist(), scores[keep, j].tolist()))
    return metrics.macro(values)


def train(
    *,
    labels: Sequence[str],
    train_texts: Sequence[str],
    train_targets: Sequence[Sequence[float | None]],
    val_texts: Sequence[str],
    val_targets: Sequence[Sequence[float | None]],
    params: TrainParams,
    on_epoch: Callable[[EpochReport], None] | None = None,
    device: str = "auto",
    threads: int | None = None,
    sparse: bool = True,
) -> tuple[TrainResult, Any]:
    """Train one model; `on_epoch` sees each epoch's report and may raise to stop (pruning, cancel).

    Returns the result (history, weights as bytes) and the trained module, left on `device`.
    With `sparse` the embedding table gets sparse gradients and SparseAdam, so a step costs the
    rows a batch touches rather than the whole table (the data-parallel trainer turns it off).
    """
    import torch

    if threads:
        torch.set_num_threads(threads)
    device = pick_device(device)
    n_labels = len(labels)
    model = build_model(n_labels=n_labels, params=params, sparse=sparse).to(device)
    optimizers = make_optimizers(model, params, sparse=sparse)
    encoded = encode(train_texts, buckets=params.buckets, ngrams=params.ngrams)
    y_np, mask_np = targets_array(train_targets, n_labels)
    y_all, mask_all = torch.from_numpy(y_np).to(device), torch.from_numpy(mask_np).to(device)
    val_encoded = encode(val_texts, buckets=params.buckets, ngrams=params.ngrams)
    val_y, val_mask = targets_array(val_targets, n_labels)
    rng = np.random.default_rng(params.seed)
    result = TrainResult(labels=list(labels), params=params, device=device)

    for epoch in range(1, params.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = rng.permutation(len(encoded))
        total_loss, batches = 0.0, 0
        for start in range(0, len(order), params.batch_size):
            rows = order[start : start + params.batch_size]
            ids, offsets = _batch(encoded, rows, device)
            index = torch.from_numpy(rows).to(device)
            with _autocast(device):
                logits = model(ids, offsets)
            loss = masked_bce(logits, y_all[index], mask_all[index])
            for optimizer in optimizers:
                optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
            total_loss += float(loss.detach())
            batches += 1
        seconds = time.perf_counter() - started
        val_loss = val_metric = None
        if val_encoded:
            scores = predict_encoded(model, val_encoded, device=device)
            with torch.no_grad():
                logits = torch.logit(torch.from_numpy(scores).clamp(1e-6, 1 - 1e-6))
                val_loss = float(masked_bce(logits, torch.from_numpy(val_y), torch.from_numpy(val_mask)))
            val_metric = macro_auroc(val_y, val_mask, scores)
        report = EpochReport(
            epoch=epoch,
            train_loss=total_loss / max(batches, 1),
            val_loss=val_loss,
            val_macro_auroc=val_metric,
            seconds=seconds,
            reports_per_second=len(encoded) / seconds if seconds > 0 else 0.0,
        )
        result.history.append(report)
        if on_epoch is not None:
            on_epoch(report)

    result.weights = save_weights(model, labels=labels, params=params)
    return result, model


def save_weights(model: Any, *, labels: Sequence[str], params: TrainParams) -> bytes:
    return weights.save(model, model_name=MODEL_NAME, labels=labels, params=params)


def load_weights(data: bytes, device: str = "cpu") -> tuple[Any, list[str], TrainParams]:
    return weights.load(data, device=device, params_from=TrainParams.from_dict, build=build_model)


def predict(model: Any, texts: Sequence[str], *, params: TrainParams, device: str = "cpu") -> np.ndarray:
    """p per text and label, shape (len(texts), n_labels)."""
    return predict_encoded(model, encode(texts, buckets=params.buckets, ngrams=params.ngrams), device=device)


def _search_space() -> dict[str, Any]:
    # The n-gram model's space lives in search.py, which predates the model registry.
    from training.ml.search import search_space

    return search_space("random")


def _fit(*, train_inputs: Sequence[str], val_inputs: Sequence[str], **kwargs: Any) -> tuple[TrainResult, Any]:
    return train(train_texts=train_inputs, val_texts=val_inputs, **kwargs)


registry.register(registry.ModelSpec(
    name=MODEL_NAME, kind="text", description="Report text: hashed word n-grams, EmbeddingBag (seconds on a CPU)",
    space=_search_space, params=TrainParams.from_dict, fit=_fit, load=load_weights, predict=predict,
))
