"""The models a training job can pick: name -> kind, description, search space and functions.

Each model module registers itself when imported (textclf: "ngram-bag", imagecnn: "cnn3d-small");
`get` and `models` import the built-in ones first, so a caller never depends on import order.
Every model has one calling convention, so trials, the best model's predictions and the job
picker need not know which they run:

    fit(labels=, train_inputs=, train_targets=, val_inputs=, val_targets=, params=, on_epoch=,
        threads=) -> (result with .history / .weights / .device, module)
    load(weights) -> (module, labels, params);  predict(module, inputs, params=) -> (n, labels) p

`kind` says what the inputs are: "text" (report texts) or "image" (paths of NIfTI volumes).
Importing this module imports neither torch nor Optuna.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KINDS = ("text", "image")
_BUILTIN = ("training.ml.textclf", "training.ml.imagecnn")
_MODELS: dict[str, ModelSpec] = {}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str
    description: str
    space: Callable[[], dict[str, Any]]
    params: Callable[[dict[str, Any]], Any]
    fit: Callable[..., tuple[Any, Any]]
    load: Callable[[bytes], tuple[Any, list[str], Any]]
    predict: Callable[..., Any]

    def search_space(self, strategy: str) -> dict[str, Any]:
        """Optuna distributions to search; none for "fixed" (the model's defaults)."""
        return {} if strategy == "fixed" else self.space()


def register(spec: ModelSpec) -> None:
    if spec.kind not in KINDS:
        raise ValueError(f"Unknown model kind {spec.kind!r}; one of {KINDS}")
    _MODELS[spec.name] = spec


def _load_builtin() -> None:
    for module in _BUILTIN:
        importlib.import_module(module)


def models() -> list[ModelSpec]:
    """Every registered model, text first (the default), in registration order."""
    _load_builtin()
    return list(_MODELS.values())


def names() -> tuple[str, ...]:
    return tuple(spec.name for spec in models())


def get(name: str) -> ModelSpec:
    """The model called `name`; KeyError naming the known ones otherwise."""
    _load_builtin()
    try:
        return _MODELS[name]
    except KeyError:
        raise KeyError(f"Unknown model {name!r}; one of: {', '.join(_MODELS)}") from None
