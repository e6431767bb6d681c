"""Label schemas: which phrases name which label.

A schema is plain data so it can be hashed, pickled to worker processes and loaded from the YAML
contract in DESIGN.md ("Schema file"). Users give phrases only; negation, uncertainty, inflections
and misspellings are the engine's job.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

_WS_RE = re.compile(r"\s+")
BUILTIN_SCHEMAS = ("chexpert",)


class SchemaError(ValueError):
    """A schema file or text is malformed; the message names the key or line."""


def normalise_phrase(phrase: str) -> str:
    """Lower-case and collapse whitespace, so hashes and matching ignore cosmetic differences."""
    return _WS_RE.sub(" ", phrase.strip().lower())


@dataclass
class LabelSpec:
    """One label and its phrases.

    ``attributes`` are anchors such as "heart size" that only count with a qualifier
    ("enlarged" -> positive, "normal" -> negative, "stable" -> uncertain); ``uncertain`` phrases
    are uncertain even when unhedged (CheXpert: "vascular congestion" for Edema).
    ``precision`` maps a phrase to its measured precision, used as the prior of p.
    ``exclusions`` (YAML ``exclude:`` or ``exclusions:``): things that look like a mention but are
    not ("rib fracture" for a skull-fracture label); a mention overlapping one does not count.
    ``disabled``: terms a curator switched off (set by the app, not by YAML): an inferred term
    (``schema_inferred_phrases``) with this text is not added; a disabled term that is also in
    ``exclusions`` (a switched-off mention) stops only the matches lying inside it.
    """

    name: str
    phrases: list[str]
    exclusions: list[str] = field(default_factory=list)
    precision: dict[str, float] | None = None
    attributes: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)


@dataclass
class NoFindingRule:
    """CheXpert's "No Finding": positive when no other label (but ``ignore``) is positive/uncertain."""

    label: str
    ignore: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)


@dataclass
class Schema:
    name: str
    labels: list[LabelSpec]
    no_finding: NoFindingRule | None = None

    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]

    def phrase_set_hash(self) -> str:
        """Return a sha256 of the normalised phrases: stable across runs, processes and key order.

        Phrases, attribute anchors and uncertain phrases are hashed in their order (first
        occurrence): it is their priority (priority.py), so a reorder is a phrase-set change.
        """
        payload: dict[str, Any] = {
            "name": self.name,
            "labels": [
                {
                    # only when set, so hashes of schemas without disabled terms stay as they were
                    **({"disabled": sorted({normalise_phrase(p) for p in label.disabled})} if label.disabled else {}),
                    "name": label.name,
                    "phrases": _unique_list([normalise_phrase(p) for p in label.phrases]),
                    "exclusions": sorted({normalise_phrase(p) for p in label.exclusions}),
                    "attributes": _unique_list([normalise_phrase(p) for p in label.attributes]),
                    "uncertain": _unique_list([normalise_phrase(p) for p in label.uncertain]),
                    "precision": sorted(
                        (normalise_phrase(k), round(float(v), 6)) for k, v in (label.precision or {}).items()
                    ),
                }
                for label in sorted(self.labels, key=lambda spec: spec.name)
            ],
            "no_finding": None
            if self.no_finding is None
            else {
                "label": self.no_finding.label,
                "ignore": sorted(self.no_finding.ignore),
                "blockers": sorted({normalise_phrase(p) for p in self.no_finding.blockers}),
            },
        }
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _phrase_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise SchemaError(f"{where}: expected a list of phrases, got {type(value).__name__}")
    out: list[str] = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise SchemaError(f"{where}[{i}]: expected a phrase (text), got {type(item).__name__}")
        text = normalise_phrase(str(item))
        if not text:
            raise SchemaError(f"{where}[{i}]: empty phrase")
        out.append(text)
    return out


def _unique_list(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def schema_from_dict(data: Any, source: str = "schema") -> Schema:
    """Validate a parsed YAML mapping and build a Schema; errors name the offending key."""
    if not isinstance(data, dict):
        raise SchemaError(f"{source}: top level must be a mapping with 'name' and 'labels'")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SchemaError(f"{source}: key 'name' is missing or not text")
    raw_labels = data.get("labels")
    if not isinstance(raw_labels, list) or not raw_labels:
        raise SchemaError(f"{source}: key 'labels' must be a non-empty list")
    labels: list[LabelSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_labels):
        where = f"{source}: labels[{i}]"
        if not isinstance(raw, dict):
            raise SchemaError(f"{where}: expected a mapping with 'name' and 'phrases'")
        label_name = raw.get("name")
        if not isinstance(label_name, str) or not label_name.strip():
            raise SchemaError(f"{where}: key 'name' is missing or not text")
        label_name = label_name.strip()
        if label_name in seen:
            raise SchemaError(f"{where}: duplicate label name {label_name!r}")
        seen.add(label_name)
        where = f"{source}: labels[{i}] ({label_name})"
        if "phrases" not in raw:
            raise SchemaError(f"{where}: key 'phrases' is missing")
        unknown = set(raw) - {"name", "phrases", "exclusions", "exclude", "precision", "attributes", "uncertain"}
        if unknown:
            raise SchemaError(f"{where}: unknown key(s) {sorted(map(str, unknown))}")
        precision_raw = raw.get("precision")
        precision: dict[str, float] | None = None
        if precision_raw is not None:
            if not isinstance(precision_raw, dict):
                raise SchemaError(f"{where}: key 'precision' must map phrase -> number")
            precision = {}
            for key, value in precision_raw.items():
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                    raise SchemaError(f"{where}: precision[{key!r}] must be a number in [0, 1]")
                precision[normalise_phrase(str(key))] = float(value)
        labels.append(
            LabelSpec(
                name=label_name,
                phrases=_phrase_list(raw.get("phrases"), f"{where}.phrases"),
                exclusions=_unique_list(
                    _phrase_list(raw.get("exclude"), f"{where}.exclude")
                    + _phrase_list(raw.get("exclusions"), f"{where}.exclusions")
                ),
                precision=precision,
                attributes=_phrase_list(raw.get("attributes"), f"{where}.attributes"),
                uncertain=_phrase_list(raw.get("uncertain"), f"{where}.uncertain"),
            )
        )
    no_finding = None
    raw_nf = data.get("no_finding")
    if raw_nf is not None:
        if not isinstance(raw_nf, dict) or not isinstance(raw_nf.get("label"), str):
            raise SchemaError(f"{source}: key 'no_finding' must be a mapping with 'label'")
        if raw_nf["label"] not in seen:
            raise SchemaError(f"{source}: no_finding.label {raw_nf['label']!r} is not a label of the schema")
        ignore = raw_nf.get("ignore") or []
        if not isinstance(ignore, list) or any(not isinstance(x, str) or x not in seen for x in ignore):
            raise SchemaError(f"{source}: no_finding.ignore must list label names of the schema")
        no_finding = NoFindingRule(
            label=raw_nf["label"],
            ignore=list(ignore),
            blockers=_phrase_list(raw_nf.get("blockers"), f"{source}: no_finding.blockers"),
        )
    unknown_top = set(data) - {"name", "labels", "no_finding", "description", "version"}
    if unknown_top:
        raise SchemaError(f"{source}: unknown top-level key(s) {sorted(map(str, unknown_top))}")
    return Schema(name=name.strip(), labels=labels, no_finding=no_finding)


# A schema file is a few labels and their phrases (chexpert.yaml: 9 KB). PyYAML's pure-Python
# reader takes about a second per 100 KB, and its scanner is quadratic in nesting depth ("[" * 2000
# takes seconds before failing), so larger or deeper files are refused before they cost more
# (SECURITY.md promise 12: no hostile file slower than 2 s). Real schemas nest 4 levels deep.
MAX_SCHEMA_BYTES = 128 * 1024
MAX_SCHEMA_DEPTH = 16


class _SchemaLoader(yaml.SafeLoader):
    """yaml.SafeLoader that stops at MAX_SCHEMA_DEPTH, before the scanner reaches deeper levels."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_SCHEMA_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_SCHEMA_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _parse_yaml(text: str, source: str) -> Any:
    if len(text) > MAX_SCHEMA_BYTES:
        raise SchemaError(f"{source}: larger than {MAX_SCHEMA_BYTES // 1024} KiB, too big for a schema file")
    try:
        return yaml.load(text, Loader=_SchemaLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is None and isinstance(exc, yaml.reader.ReaderError):
            # A character YAML refuses (a control character) comes with its offset only.
            line = text.count("\n", 0, exc.position)
            mark = yaml.Mark(source, exc.position, line, exc.position - text.rfind("\n", 0, exc.position) - 1, None, None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemaError(f"{source}:{where}: malformed YAML ({problem})") from exc


def _read_schema_file(path: Path) -> str:
    try:
        too_big = path.stat().st_size > MAX_SCHEMA_BYTES
        data = b"" if too_big else path.read_bytes()
    except OSError as exc:
        raise SchemaError(f"{path}: cannot read schema file ({exc.strerror})") from exc
    except ValueError as exc:  # a NUL byte in the path
        raise SchemaError(f"{path!r}: cannot read schema file (not a valid path)") from exc
    if too_big:
        raise SchemaError(f"{path}: larger than {MAX_SCHEMA_BYTES // 1024} KiB, too big for a schema file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise SchemaError(f"{path}: line {line}, column {column}: not UTF-8 text") from None


def load_schema_yaml(path_or_text: str | os.PathLike[str]) -> Schema:
    """Load a schema from a YAML file path or from YAML text (anything with a newline or colon)."""
    if isinstance(path_or_text, os.PathLike) or (
        isinstance(path_or_text, str) and "\n" not in path_or_text and ":" not in path_or_text
    ):
        path = Path(path_or_text)
        text = _read_schema_file(path)
        source = str(path)
    else:
        text = str(path_or_text)
        if "\n" not in text and "\0" not in text and Path(text).is_file():
            source = text
            text = _read_schema_file(Path(text))
        else:
            source = "schema"
    return schema_from_dict(_parse_yaml(text, source), source)


def load_builtin_schema(name: str) -> Schema:
    """Return a schema shipped in annotation/data (KeyError for an unknown name)."""
    if name not in BUILTIN_SCHEMAS:
        raise KeyError(f"unknown built-in schema {name!r}; known: {', '.join(BUILTIN_SCHEMAS)}")
    return schema_from_dict(load_data_yaml(f"{name}.yaml"), f"{name}.yaml")


# libyaml's C loader when PyYAML was built with it: the same data as yaml.safe_load for the packaged
# files (checked), ~10x faster (~0.15 s of start-up). User schema files keep the pure-Python loader,
# whose error messages name the line / column the same way everywhere.
_DATA_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_data_yaml(filename: str) -> Any:
    """Parse a YAML file shipped in annotation/data."""
    return yaml.load(data_text(filename), Loader=_DATA_LOADER)  # noqa: S506 - a safe loader


def data_text(filename: str) -> str:
    """Read a file from annotation/data (works from a wheel too)."""
    return resources.files("annotation.data").joinpath(filename).read_text(encoding="utf-8")
