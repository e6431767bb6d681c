"""One file format for every model's kept weights: name, labels, params and the state dict.

Pure (torch only, imported on use), so textclf and imagecnn share the format instead of each
writing its own copy.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any


def save(model: Any, *, model_name: str, labels: Sequence[str], params: Any) -> bytes:
    import torch

    buffer = io.BytesIO()
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    torch.save({"model": model_name, "labels": list(labels), "params": asdict(params), "state_dict": state}, buffer)
    return buffer.getvalue()


def load(
    data: bytes, *, device: str, params_from: Callable[[dict[str, Any]], Any], build: Callable[..., Any]
) -> tuple[Any, list[str], Any]:
    """(model on `device`, labels, params); `build(n_labels=, params=)` makes the empty model."""
    import torch

    saved = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    params = params_from(saved["params"])
    model = build(n_labels=len(saved["labels"]), params=params)
    model.load_state_dict(saved["state_dict"])
    return model.to(device), list(saved["labels"]), params
