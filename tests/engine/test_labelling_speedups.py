"""The speed-ups of issue 7 part 5 change no output: each is checked against the slower form."""
from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
import spacy

from annotation.engine import Labeler, load_builtin_schema, results_to_json
from annotation.engine import labeler as labeler_module
from annotation.engine.batch import label_file
from annotation.engine.labeler import _SEGMENT_RE, _SEGMENT_SPLIT_RE
from annotation.engine.sections import split_sections
from annotation.engine.tokens import make_nlp
from tests.engine.test_joint_tokenize import EDGES
from tests.engine.test_prefilter import _corpus

# Separators next to abbreviations, tabs, "!" and runs of line breaks.
SEPARATORS = [
    "Dr. Smith vs. Dr. Jones.  Vs. this!\tThat.\t \tNext.\n\n\nLast",
    "No effusion.No pneumothorax. \n Edema!  \n\n.  .\t\n",
    "mr. vs.\tdr. Dr.\tDr.  x. y",
    "\n\nLeading breaks. Trailing space. ",
]


def _finditer_parts(text: str) -> list[str]:
    """Segments and separators as the labeller cut them before (``_SEGMENT_RE.finditer``)."""
    parts: list[str] = []
    pos = 0
    for sep in _SEGMENT_RE.finditer(text):
        parts += [text[pos : sep.start()], sep.group()]
        pos = sep.end()
    return [*parts, text[pos:]]


@pytest.mark.parametrize("text", SEPARATORS + EDGES)
def test_segment_split_cuts_where_the_segment_regex_does(text: str) -> None:
    assert _SEGMENT_SPLIT_RE.split(text) == _finditer_parts(text)


def test_segment_split_cuts_every_corpus_report_alike() -> None:
    texts = _corpus()
    assert all(_SEGMENT_SPLIT_RE.split(t) == _finditer_parts(t) for t in texts)


def test_lean_lexemes_tokenise_like_spacy_and_keep_the_attributes_read() -> None:
    lean, full = make_nlp(), spacy.blank("en")
    for text in EDGES + _corpus()[:400]:
        a, b = lean(text), full(text)
        assert [(t.text, t.idx) for t in a] == [(t.text, t.idx) for t in b]
        read = [(t.lower_, t.norm_, t.is_alpha, t.is_punct, t.is_space) for t in a]
        assert read == [(t.lower_, t.norm_, t.is_alpha, t.is_punct, t.is_space) for t in b]
    # a word never seen before: attributes the engine does not read are left unset
    word = lean("Zqxwvortle")[0]
    assert (word.lower_, word.norm_, word.is_alpha) == ("zqxwvortle", "zqxwvortle", True)
    assert word.shape_ == ""


def test_labels_are_those_of_a_full_spacy_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = EDGES + _corpus()
    schema = load_builtin_schema("chexpert")
    lean = Labeler(schema)
    monkeypatch.setattr(labeler_module, "make_nlp", lambda: spacy.blank("en"))
    full = Labeler(schema)
    assert full._nlp.vocab.lex_attr_getters.keys() > lean._nlp.vocab.lex_attr_getters.keys()

    def lines(labeler: Labeler) -> list[str]:
        return [json.dumps(results_to_json(r), ensure_ascii=False) for r in labeler.iter_label(texts)]

    assert lines(lean) == lines(full)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  FINDINGS  \nClear lungs.\n\tIMPRESSION\t\nNormal.", [("findings", 2), ("impression", 27)]),
        ("History of cough.\nfindings\nClear.", [("findings", 0)]),  # lower-case: not a heading
        ("NO ACUTE DISEASE.\nIMPRESSION:\nNormal.", [("findings", 0), ("impression", 18)]),
    ],
)
def test_headings_alone_on_a_line(text: str, expected: list[tuple[str, int]]) -> None:
    assert [(s.name, s.start) for s in split_sections(text)] == expected


def test_label_file_pauses_the_cycle_collector_only_while_it_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text('{"id": "1", "text": "Small left pleural effusion."}\n')
    seen: list[bool] = []
    original = Labeler._segment_entries  # every report passes here, whichever output it takes

    def spy(self: Labeler, text: str) -> object:
        seen.append(gc.isenabled())
        return original(self, text)

    monkeypatch.setattr(Labeler, "_segment_entries", spy)
    label_file(str(inp), "chexpert", str(out))
    assert seen == [False]
    assert gc.isenabled()
    assert json.loads(out.read_text())["labels"]["Pleural Effusion"]["value"] == "positive"
