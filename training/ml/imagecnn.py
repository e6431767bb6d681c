"""A small 3D CNN for multi-label classification of NIfTI volumes (2D for one-slice images).

Three blocks of convolution, group norm and ReLU (max-pooled between them), then the mean and
the maximum of the last feature maps side by side, dropout and one linear layer: one sigmoid per
label. The maximum lets a small finding anywhere in the volume (a nodule, an effusion's edge)
decide a label that averaging over the whole volume would dilute. Group norm, not batch norm, so
a batch of one and the small batches a CPU affords behave as a large one.

Preprocessing makes every volume the same shape: intensities clipped to their 0.5-99.5
percentiles and standardised per volume, then resampled preserving the voxels' physical aspect
(area averaging to shrink, trilinear to grow) to fit `depth` x `size` x `size`, centred and
padded with the volume's background. When every training volume has one slice (CR, DX) the
network is 2D: depth 1, kernels 1 x 3 x 3.

Targets are 1, 0 or None ("no target"), masked out of the loss exactly as in textclf, whose
EpochReport, TrainResult and loss this module shares so trials, metrics and predictions treat
both models alike. Seeded (weights, shuffling). On a GPU the forward pass runs under
torch.autocast in bfloat16, or float16 with a GradScaler where bfloat16 is not supported; the
result says which (`amp`). torch and nibabel are imported inside the functions.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from training.ml import registry, weights
from training.ml.textclf import (
    EpochReport,
    TrainResult,
    macro_auroc,
    masked_bce,
    pick_device,
    targets_array,
)

MODEL_NAME = "cnn3d-small"
AMP_MODES = ("auto", "bf16", "fp16", "off")
CLIP_PERCENTILES = (0.5, 99.5)


@dataclass(frozen=True)
class ImageParams:
    lr: float = 3e-3
    channels: int = 8
    dropout: float = 0.1
    weight_decay: float = 1e-4
    epochs: int = 8
    batch_size: int = 8
    size: int = 32
    depth: int = 32
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ImageParams:
        known = {key: values[key] for key in cls.__dataclass_fields__ if key in values}
        return cls(**known)


@dataclass
class ImageTrainResult(TrainResult):
    amp: str = "off"


# --- preprocessing ---


def read_volume(path: str | Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The volume as (slices, rows, columns) float32 with the scaling applied, and its spacing in that order."""
    import nibabel as nib

    image = nib.load(str(path))
    data = np.asarray(image.get_fdata(dtype=np.float32))
    while data.ndim > 3:  # a 4D series: its first volume
        data = data[..., 0]
    if data.ndim == 2:
        data = data[:, :, None]
    zooms = [float(z) for z in image.header.get_zooms()[:3]] + [1.0] * 3
    # NIfTI's axes are (columns, rows, slices); torch's Conv3d wants (depth, height, width).
    return np.ascontiguousarray(data.transpose(2, 1, 0)), (zooms[2], zooms[1], zooms[0])


def slice_count(path: str | Path) -> int:
    """Slices of a volume, from its header alone."""
    import nibabel as nib

    shape = nib.load(str(path)).shape
    return int(shape[2]) if len(shape) > 2 else 1


def normalise(data: np.ndarray) -> np.ndarray:
    """Clip to the central percentiles and standardise; a constant volume becomes zeros."""
    low, high = np.percentile(data, CLIP_PERCENTILES)
    clipped = np.clip(data, low, high)
    std = float(clipped.std())
    if std < 1e-6:
        return np.zeros_like(clipped, dtype=np.float32)
    return ((clipped - float(clipped.mean())) / std).astype(np.float32)


def fitted_shape(shape: Sequence[int], spacing: Sequence[float], target: Sequence[int]) -> tuple[int, ...]:
    """Voxel counts that keep the physical aspect and fit inside `target` (an axis of one voxel stays one)."""
    extents = [n * max(s, 1e-6) for n, s in zip(shape, spacing, strict=True)]
    scale = min(t / e for t, e, n in zip(target, extents, shape, strict=True) if n > 1 and t > 1)
    return tuple(
        1 if n == 1 or t == 1 else int(min(t, max(1, round(e * scale))))
        for n, t, e in zip(shape, target, extents, strict=True)
    )


def resample(data: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Area averaging along the axes that shrink (no aliasing), then trilinear to the exact size."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's own convention

    tensor = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))[None, None]
    shrunk = tuple(min(n, s) for n, s in zip(data.shape, size, strict=True))
    if shrunk != data.shape:
        tensor = F.adaptive_avg_pool3d(tensor, shrunk)
    if tuple(tensor.shape[2:]) != tuple(size):
        tensor = F.interpolate(tensor, size=tuple(size), mode="trilinear", align_corners=False)
    return tensor[0, 0].numpy()


def pad_centre(data: np.ndarray, target: Sequence[int], value: float) -> np.ndarray:
    out = np.full(tuple(target), value, dtype=np.float32)
    starts = [(t - n) // 2 for n, t in zip(data.shape, target, strict=True)]
    out[tuple(slice(s, s + n) for s, n in zip(starts, data.shape, strict=True))] = data
    return out


def preprocess(data: np.ndarray, spacing: Sequence[float], *, depth: int, size: int) -> np.ndarray:
    """One (slices, rows, columns) volume -> a (depth, size, size) float32 array (this module's docstring)."""
    if depth == 1 and data.shape[0] > 1:
        data = data[data.shape[0] // 2 : data.shape[0] // 2 + 1]  # a 2D model reads the middle slice
    data = normalise(data)
    target = (depth, size, size)
    data = resample(data, fitted_shape(data.shape, spacing, target))
    return pad_centre(data, target, float(data.min()))


@functools.lru_cache(maxsize=512)
def _prepared(path: str, mtime_ns: int, file_size: int, depth: int, size: int) -> np.ndarray:
    # Keyed by the file's mtime and size too: trials of one job reuse the work, a rewritten file is read again.
    data, spacing = read_volume(path)
    array = preprocess(data, spacing, depth=depth, size=size)
    array.setflags(write=False)
    return array


def prepare(paths: Sequence[str | Path], *, depth: int, size: int) -> np.ndarray:
    """(n, 1, depth, size, size) float32, each volume preprocessed once per process."""
    arrays = []
    for path in paths:
        stat = Path(path).stat()
        arrays.append(_prepared(str(path), stat.st_mtime_ns, stat.st_size, depth, size))
    if not arrays:
        return np.zeros((0, 1, depth, size, size), dtype=np.float32)
    return np.stack(arrays)[:, None]


# --- the network ---


def build_model(*, n_labels: int, params: ImageParams) -> Any:
    import torch
    from torch import nn

    kernel = (3 if params.depth > 1 else 1, 3, 3)
    padding = tuple(k // 2 for k in kernel)
    pool = (2 if params.depth >= 4 else 1, 2, 2)
    layers: list[Any] = []
    channels_in = 1
    for block in range(3):
        channels = params.channels * 2**block
        layers += [
            nn.Conv3d(channels_in, channels, kernel, padding=padding, bias=False),
            nn.GroupNorm(min(4, channels), channels),
            nn.ReLU(inplace=True),
        ]
        if block < 2:
            layers.append(nn.MaxPool3d(pool))
        channels_in = channels

    class SmallCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.dropout = nn.Dropout(params.dropout)
            self.out = nn.Linear(2 * channels_in, n_labels)

        def forward(self, volumes: torch.Tensor) -> torch.Tensor:
            maps = self.features(volumes)
            pooled = torch.cat([maps.mean(dim=(2, 3, 4)), maps.amax(dim=(2, 3, 4))], dim=1)
            return self.out(self.dropout(pooled))

    torch.manual_seed(params.seed)
    return SmallCNN()


def amp_dtype(device: str, amp: str) -> Any:
    """The autocast dtype for `amp` on `device`, or None (float32): AMP only on CUDA."""
    import torch

    if amp not in AMP_MODES:
        raise ValueError(f"Unknown amp mode {amp!r}; one of {AMP_MODES}")
    if not device.startswith("cuda") or amp == "off":
        return None
    if amp == "fp16" or (amp == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def _logits(model: Any, volumes: np.ndarray, *, device: str, batch_size: int = 32) -> Any:
    import torch

    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(volumes), batch_size):
            batch = torch.from_numpy(volumes[start : start + batch_size]).to(device)
            outputs.append(model(batch).float().cpu())
    if not outputs:
        return torch.zeros((0, model.out.out_features))
    return torch.cat(outputs)


def train(
    *,
    labels: Sequence[str],
    train_volumes: Sequence[str | Path],
    train_targets: Sequence[Sequence[float | None]],
    val_volumes: Sequence[str | Path],
    val_targets: Sequence[Sequence[float | None]],
    params: ImageParams,
    on_epoch: Callable[[EpochReport], None] | None = None,
    device: str = "auto",
    amp: str = "auto",
    threads: int | None = None,
) -> tuple[ImageTrainResult, Any]:
    """Train one model on NIfTI files; `on_epoch` sees each epoch's report and may raise to stop.

    Returns the result (history, weights as bytes, device, amp) and the trained module on
    `device`. The result's params say the depth used: 1 when every training volume has one slice.
    """
    import torch

    if threads:
        torch.set_num_threads(threads)
    device = pick_device(device)
    if all(slice_count(path) == 1 for path in train_volumes):
        params = replace(params, depth=1)
    dtype = amp_dtype(device, amp)
    n_labels = len(labels)
    model = build_model(n_labels=n_labels, params=params).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    # float16 needs its gradients scaled (they underflow); bfloat16 has float32's range and does not.
    scaler = torch.amp.GradScaler("cuda", enabled=dtype is torch.float16)
    x_all = torch.from_numpy(prepare(train_volumes, depth=params.depth, size=params.size)).to(device)
    y_np, mask_np = targets_array(train_targets, n_labels)
    y_all, mask_all = torch.from_numpy(y_np).to(device), torch.from_numpy(mask_np).to(device)
    val_x = prepare(val_volumes, depth=params.depth, size=params.size)
    val_y, val_mask = targets_array(val_targets, n_labels)
    rng = np.random.default_rng(params.seed)
    amp_name = {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "off")
    result = ImageTrainResult(labels=list(labels), params=params, device=device, amp=amp_name)

    for epoch in range(1, params.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = rng.permutation(len(x_all))
        total_loss, batches = 0.0, 0
        for start in range(0, len(order), params.batch_size):
            index = torch.from_numpy(order[start : start + params.batch_size]).to(device)
            with torch.autocast(device_type=device.split(":")[0], dtype=dtype or torch.bfloat16,
                                enabled=dtype is not None):
                logits = model(x_all[index])
            loss = masked_bce(logits, y_all[index], mask_all[index])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total_loss += float(loss.detach())
            batches += 1
        seconds = time.perf_counter() - started
        val_loss = val_metric = None
        if len(val_x):
            logits = _logits(model, val_x, device=device)
            val_loss = float(masked_bce(logits, torch.from_numpy(val_y), torch.from_numpy(val_mask)))
            val_metric = macro_auroc(val_y, val_mask, torch.sigmoid(logits).numpy())
        report = EpochReport(
            epoch=epoch, train_loss=total_loss / max(batches, 1), val_loss=val_loss, val_macro_auroc=val_metric,
            seconds=seconds, reports_per_second=len(x_all) / seconds if seconds > 0 else 0.0,
        )
        result.history.append(report)
        if on_epoch is not None:
            on_epoch(report)

    result.weights = save_weights(model, labels=labels, params=params)
    return result, model


def save_weights(model: Any, *, labels: Sequence[str], params: ImageParams) -> bytes:
    return weights.save(model, model_name=MODEL_NAME, labels=labels, params=params)


def load_weights(data: bytes, device: str = "cpu") -> tuple[Any, list[str], ImageParams]:
    return weights.load(data, device=device, params_from=ImageParams.from_dict, build=build_model)


def predict(model: Any, volumes: Sequence[str | Path], *, params: ImageParams, device: str = "cpu") -> np.ndarray:
    """p per volume and label, shape (len(volumes), n_labels)."""
    import torch

    logits = _logits(model, prepare(volumes, depth=params.depth, size=params.size), device=device)
    return torch.sigmoid(logits).numpy()


def search_space() -> dict[str, Any]:
    import optuna

    return {
        "lr": optuna.distributions.FloatDistribution(3e-4, 3e-2, log=True),
        "channels": optuna.distributions.IntDistribution(8, 16, step=8),
        "dropout": optuna.distributions.FloatDistribution(0.0, 0.5),
        "weight_decay": optuna.distributions.FloatDistribution(1e-6, 1e-2, log=True),
    }


def _fit(
    *, train_inputs: Sequence[str | Path], val_inputs: Sequence[str | Path], **kwargs: Any
) -> tuple[ImageTrainResult, Any]:
    return train(train_volumes=train_inputs, val_volumes=val_inputs, **kwargs)


registry.register(registry.ModelSpec(
    name=MODEL_NAME, kind="image",
    description="Images: a small 3D CNN on the cohort's NIfTI volumes (2D for one-slice images; GPU with AMP if present)",
    space=search_space, params=ImageParams.from_dict, fit=_fit, load=load_weights, predict=predict,
))
