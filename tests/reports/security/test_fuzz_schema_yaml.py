"""Hostile schema files (SECURITY.md promise 12): the YAML loader answers a Schema or a SchemaError.

Hypothesis feeds `load_schema_yaml` arbitrary text, mutated copies of a good schema, schema-shaped
data with wrong types in every place, and arbitrary bytes on disk. Each input must give a Schema or
a SchemaError whose message says where the problem is (the file, then a line and column or the
key), never another exception, and within two seconds.

More examples: FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/reports/security/test_fuzz_schema_yaml.py
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.engine import Schema, SchemaError, load_schema_yaml

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
SECONDS = 2.0
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
GOOD = """\
name: ct-head
description: fuzzing seed
labels:
  - name: Intracranial Hemorrhage
    phrases: [hemorrhage, hematoma, subdural, bleed]
    exclude: [no bleed]
    precision: {hemorrhage: 0.9, bleed: 0.6}
  - name: Midline Shift
    phrases: [midline shift]
    attributes: [midline]
    uncertain: [possible shift]
no_finding:
  label: Midline Shift
  ignore: [Intracranial Hemorrhage]
  blockers: [mass effect]
"""
# Where a message may say the problem is: a line and column of the YAML, or the key path.
LOCATION = re.compile(
    r"^: (line \d+, column \d+: (malformed YAML|not UTF-8 text)|top level|key '\w+'|unknown top-level key"
    r"|labels\[\d+\]|no_finding|larger than|cannot read schema file)"
)
KEYS = ["name", "labels", "phrases", "exclude", "exclusions", "precision", "attributes", "uncertain",
        "no_finding", "label", "ignore", "blockers", "description", "version"]
NASTY = ["\x00", "\x07", "\ufeff", "\ud7ff", "\n", "\t", ":", "- ", "[", "]", "{", "}", "&a ", "*a", "!!python/object",
         "'", '"', "? ", "|", ">", "%YAML 1.1\n", "---\n", "...\n", "#", "\\", "é", "9" * 400]


def _assert_schema_or_located_error(source: str, load: Any) -> None:
    started = time.perf_counter()
    try:
        result = load()
    except SchemaError as exc:
        message = str(exc)
        assert message.startswith(source), message
        assert LOCATION.match(message[len(source):]), message
    else:
        assert isinstance(result, Schema)
        assert result.name
        assert result.labels
    assert time.perf_counter() - started < SECONDS


def _mutate(text: str, edits: list[tuple[int, int, str]]) -> str:
    for position, cut, insert in edits:
        at = position % (len(text) + 1)
        text = text[:at] + insert + text[at + cut:]
    return text


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.sampled_from(KEYS),
    st.dates(),
)
schema_shaped = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), scalars), children, max_size=5),
    ),
    max_leaves=25,
)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_gives_a_schema_or_a_located_error(text: str) -> None:
    # A newline makes the loader treat the argument as YAML text, not a path.
    _assert_schema_or_located_error("schema", lambda: load_schema_yaml(text + "\n"))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GOOD)), st.integers(0, 12), st.sampled_from(NASTY) | st.text(max_size=8)),
                min_size=1, max_size=6))
def test_a_mutated_good_schema_gives_a_schema_or_a_located_error(edits: list[tuple[int, int, str]]) -> None:
    _assert_schema_or_located_error("schema", lambda: load_schema_yaml(_mutate(GOOD, edits) + "\n"))


# Mostly-right labels, so the checks past the first one are reached too; no_finding names them.
label_names = st.sampled_from(["Alpha", "Beta"])
labels = st.fixed_dictionaries(
    {"name": label_names | st.text(max_size=12) | schema_shaped, "phrases": st.lists(st.text(max_size=12), max_size=3) | schema_shaped},
    optional=dict.fromkeys(("exclude", "exclusions", "precision", "attributes", "uncertain", "x", 1), schema_shaped),
)


@FUZZ
@given(
    st.fixed_dictionaries(
        {"name": st.text(max_size=12) | schema_shaped, "labels": st.lists(labels, max_size=3) | schema_shaped},
        optional={
            "no_finding": st.fixed_dictionaries(
                {"label": label_names | schema_shaped},
                optional={"ignore": st.lists(label_names | schema_shaped, max_size=3) | schema_shaped,
                          "blockers": schema_shaped},
            ),
            "description": schema_shaped, 2: schema_shaped, "x": schema_shaped,
        },
    )
)
def test_schema_shaped_data_with_wrong_types_gives_a_schema_or_a_located_error(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    _assert_schema_or_located_error("schema", lambda: load_schema_yaml(text))


@FUZZ
@given(st.binary(max_size=400) | st.builds(lambda cut: GOOD.encode()[:cut] + b"\xff\xfe\x00", st.integers(0, 400)))
def test_arbitrary_bytes_in_a_file_give_a_schema_or_a_located_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "schema.yaml"
        path.write_bytes(data)
        _assert_schema_or_located_error(str(path), lambda: load_schema_yaml(path))


def test_deep_nesting_is_refused_quickly_with_its_line() -> None:
    # PyYAML's scanner is quadratic in nesting depth: 2,000 "[" took seconds before the limit.
    for text in ("[" * 5000 + "\n", "- " * 5000 + "x\n", "".join(" " * i + "- \n" for i in range(3000))):
        _assert_schema_or_located_error("schema", lambda text=text: load_schema_yaml(text))


def test_an_oversize_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(1024**3)  # a sparse 1 GiB file: costs nothing unless it is read
    _assert_schema_or_located_error(str(path), lambda: load_schema_yaml(path))


def test_a_path_with_a_nul_byte_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="cannot read schema file"):
        load_schema_yaml("schema\0.yaml")
