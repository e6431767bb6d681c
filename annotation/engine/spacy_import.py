"""Import spaCy without dragging in torch.

spaCy imports thinc, and ``thinc.compat`` tries ``import torch`` at import time to learn whether
torch-backed models can run. The engine only uses spaCy's tokenizer, vocab and PhraseMatcher, which
never touch torch, yet importing torch costs ~1.6 s of CPU per process (more than labelling 3,851
real reports). thinc offers no setting to skip the probe, so while spaCy is first imported,
``sys.modules["torch"]`` is set to None (Python's documented "import raises ModuleNotFoundError"
marker); thinc then records ``has_torch = False``. The marker is removed right after, so code that
imports torch later (a training script, medspaCy) still gets the real package, but thinc's torch
layers stay off in this process.

The probe is skipped only when neither torch nor thinc is already loaded (otherwise spaCy is
imported as usual) and when the environment does not set ``RADLABEL_SPACY_TORCH=1``.

Second, spaCy's ``__init__`` runs ``from .cli.info import info`` only to re-export ``spacy.info``;
that imports the whole command line (typer, click, every ``spacy`` subcommand: ~260 modules,
~0.35 s of CPU on the shared dev box, measured). While spaCy is first imported,
``spacy.cli`` and ``spacy.cli.info`` are stand-in modules whose ``info`` imports the real one
when called; both are removed from ``sys.modules`` right after, so ``import spacy.cli`` later (or
``spacy.info()``) loads the real command line. If the stand-in ever breaks the import (a spaCy
upgrade), the half-imported modules are dropped and spaCy is imported as usual.

Third, ``spacy.util`` imports ``langcodes`` (~0.1-0.2 s of CPU, most of it one module of data
tables) only to find a language other than the one asked for when that one is missing; while
spaCy is first imported, ``langcodes`` is a stand-in that imports the real module on its first
attribute read (``spacy.util`` keeps the stand-in; ``import langcodes`` later gets the real one).
"""
from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Any

from annotation.engine.gc_pause import cyclic_gc_paused


def import_spacy() -> ModuleType:
    """Return the spaCy module, imported without torch where that is safe (see above)."""
    loaded = sys.modules.get("spacy")
    if loaded is not None:
        return loaded
    block = (
        "torch" not in sys.modules
        and "thinc" not in sys.modules
        and os.environ.get("RADLABEL_SPACY_TORCH", "").lower() not in ("1", "true", "yes")
    )
    if block:
        sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        # ~800 modules and their classes: the cycle collector's passes during the import find
        # no garbage (~0.04 s CPU of ~0.3 s).
        with cyclic_gc_paused():
            return _import_without_cli() if "spacy.cli" not in sys.modules else importlib.import_module("spacy")
    finally:
        if block and "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]


def _spacy_info(*args: Any, **kwargs: Any) -> Any:
    """``spacy.info``: imports spaCy's real command line on first call."""
    from spacy.cli.info import info

    return info(*args, **kwargs)


class _LazyModule(ModuleType):
    """A module imported on its first attribute read (``spacy.util`` keeps the stand-in)."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def _import_without_cli() -> ModuleType:
    cli = ModuleType("spacy.cli")
    cli.__path__ = []  # a package, so that "spacy.cli.info" resolves to the stand-in below
    info = ModuleType("spacy.cli.info")
    info.info = _spacy_info  # type: ignore[attr-defined]
    cli.info = info  # type: ignore[attr-defined]
    stand_ins: dict[str, ModuleType] = {"spacy.cli": cli, "spacy.cli.info": info}
    if "langcodes" not in sys.modules:
        stand_ins["langcodes"] = _LazyModule("langcodes")
    sys.modules.update(stand_ins)
    try:
        spacy = importlib.import_module("spacy")
    except Exception:
        # Drop the stand-ins and what the failed import left behind; import spaCy the usual way.
        for name in [n for n in sys.modules if n == "spacy" or n.startswith("spacy.")]:
            del sys.modules[name]
        return importlib.import_module("spacy")
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    if spacy.__dict__.get("cli") is cli:
        del spacy.__dict__["cli"]
    return spacy


import_spacy()
