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
"""
from __future__ import annotations

import os
import sys
from types import ModuleType


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
        import spacy
    finally:
        if block and "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
    return spacy


import_spacy()
