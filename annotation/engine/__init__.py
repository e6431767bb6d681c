"""radlabel's soft-label engine: pure Python, no Django imports (see docs/ENGINE.md)."""
from __future__ import annotations

from annotation.engine.aggregate import Evidence, LabelResult
from annotation.engine.labeler import ENGINE_VERSION, Labeler, results_to_json
from annotation.engine.schema import LabelSpec, Schema, SchemaError, load_builtin_schema, load_schema_yaml

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
]
