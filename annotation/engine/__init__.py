"""radlabel's soft-label engine: pure Python, no Django imports (see docs/ENGINE.md)."""
from __future__ import annotations

from typing import Any

from annotation.engine.aggregate import Evidence, LabelResult
from annotation.engine.lexicon import schema_inferred_phrases
from annotation.engine.schema import (
    LabelSpec,
    Schema,
    SchemaError,
    load_builtin_schema,
    load_schema_yaml,
)
from annotation.engine.version import ENGINE_VERSION

# The labeler loads spaCy (and, through thinc, torch): seconds at start-up. Web and worker
# processes import this package for schemas and versions long before they label anything,
# so the labeler is imported on first use (PEP 562).
_LAZY = {"Labeler", "results_to_json"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from annotation.engine import labeler

        return getattr(labeler, name)
    raise AttributeError(f"module 'annotation.engine' has no attribute {name!r}")


__all__ = [
    "ENGINE_VERSION",
    "Evidence",
    "LabelResult",
    "LabelSpec",
    "Labeler",
    "Schema",
    "SchemaError",
    "load_builtin_schema",
    "load_schema_yaml",
    "results_to_json",
    "schema_inferred_phrases",
]
