"""Which soft labels a phrase edit would change, exactly as the relabel that follows would.

The relabel after a phrase edit re-reads every report (the phrase-set hash changed) and rewrites a
soft label only when its value, p or evidence differs from what is stored. The preview gives the
same answer without running the engine over every report:

- a report's soft labels can differ between the old and the new phrase set only where the two
  compiled labelers differ: a pattern added or removed (either labeler's entries, including the
  lexicon's synonyms and exclusions for every label, since one label's phrases can change what
  the lexicon adds to another), a changed precision prior, or a word whose NORM differs (an
  inflection now claimed by a new phrase word, a misspelling now corrected to another word).
  All of these need a word in the text whose NORM (under either labeler) is a word of a changed
  pattern, or whose NORM differs: the *flagged* words. Only reports containing a flagged word
  are run through the new labeler;
- reports already stale under the old phrase set (edited text, never labelled, an interrupted
  relabel) would be rewritten by the relabel whatever the edit: they are always run too;
- every other report keeps what is stored, as the relabel would.

The candidates' new soft labels are compared with the stored ones with the relabel's own
comparison (annotation.services.relabel), so "changed" means what the relabel would write.
Tests (tests/annotation/curation/test_phrase_preview_matches_relabel.py) check preview == relabel
over random edits; docs/CURATION.md says why the word filter is a superset.
"""
from __future__ import annotations

import bisect
import json
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Count, Max

from annotation.engine import ENGINE_VERSION
from annotation.models import Label, SoftLabel
from annotation.selectors.labels import last_full_pass_started, stale_reports
from annotation.services.relabel import _chunks, _evidence_json, _jsonb_text, _stored_soft_labels
from annotation.services.schemas import labeler_for_schema, schema_to_engine
from reports.models import Protocol, Report, Study

if TYPE_CHECKING:
    from annotation.engine import Schema
    from annotation.engine.labeler import Labeler

ABSENT = "absent"
_ALNUM_RE = re.compile(r"[a-z0-9]+")
_SPELL_RE = re.compile(r"[a-z]{5,}")


@dataclass(frozen=True)
class SoftLabelChange:
    report_id: int
    study_id: int
    label: str
    before: tuple[str, float, list[Any]] | None  # value, p, evidence; None = absent
    after: tuple[str, float, list[Any]] | None

    @property
    def transition(self) -> str:
        return f"{self.before[0] if self.before else ABSENT}->{self.after[0] if self.after else ABSENT}"


@dataclass
class PhrasePreview:
    hash_before: str
    hash_after: str
    changes: list[SoftLabelChange] = field(default_factory=list)
    reports: int = 0  # the protocol's reports
    candidates: int = 0  # reports the engine read
    stale: int = 0  # of which stale before the edit
    flagged_words: int = 0
    elapsed_ms: int = 0

    @property
    def studies(self) -> list[int]:
        return sorted({c.study_id for c in self.changes})

    @property
    def changed(self) -> int:
        return len(self.studies)

    def transitions(self, label: str | None = None) -> dict[str, int]:
        counts = Counter(c.transition for c in self.changes if label is None or c.label == label)
        return dict(sorted(counts.items()))

    def by_label(self) -> dict[str, dict[str, int]]:
        return {name: self.transitions(name) for name in sorted({c.label for c in self.changes})}

    def summary(self) -> dict[str, Any]:
        """What a PhraseChange keeps of its preview (no report text, ids and counts only)."""
        return {
            "hash_before": self.hash_before, "hash_after": self.hash_after, "changed": self.changed,
            "transitions": self.transitions(), "studies": self.studies, "elapsed_ms": self.elapsed_ms,
        }


def _entries(labeler: Labeler) -> set[tuple[str, str, str]]:
    from annotation.engine.labeler import KIND_SENT, KIND_TRIGGER

    return {info for info in labeler._key_info.values() if info[0] not in (KIND_TRIGGER, KIND_SENT)}


def _norm(labeler: Labeler, word: str) -> str:
    """The NORM the labeler gives a lower-case word: its spelling correction, else its lexeme's."""
    if _SPELL_RE.fullmatch(word):
        corrected = labeler._speller.correct(word)
        if corrected is not None:
            return corrected
    return labeler._nlp.vocab[word].norm_


class WordFilter:
    """Decides which report texts two labelers can label differently (a superset, never a miss).

    A pattern that one labeler has and the other lacks (or whose prior differs) can only change a
    report in which it can match, and it matches only where *every* one of its tokens appears
    under some spelling whose NORM is that token: its *surfaces* (the word, an inflection the
    labeler maps to it, a misspelling its spelling corrector maps to it, a tokenizer exception).
    A word whose NORM differs between the two labelers ("moved") can change any match it is in,
    so one is enough. Everything else matches alike under both labelers.
    """

    def __init__(self, old: Labeler, new: Labeler) -> None:
        self.old, self.new = old, new
        self.everything = False
        changed = _entries(old) ^ _entries(new)
        priors = set(old._precision.items()) ^ set(new._precision.items())
        changed |= {("prior", label, phrase) for (label, phrase), _ in priors}
        if old.schema.no_finding != new.schema.no_finding or (old.rules is not new.rules and old.rules != new.rules):
            self.everything = True
        # Each changed pattern as a list of tokens, each token the set of NORMs it has in either labeler.
        self.patterns: list[list[frozenset[str]]] = []
        for _kind, _label, phrase in sorted(changed):
            tokens = []
            for old_tok, new_tok in zip(old._nlp.make_doc(phrase), new._nlp.make_doc(phrase), strict=False):
                norms = frozenset(_ALNUM_RE.findall(f"{old_tok.lower_} {old_tok.norm_} {new_tok.norm_}"))
                if norms:  # a punctuation token: the pattern's other tokens still have to be there
                    tokens.append(norms)
            if not tokens:
                self.everything = True  # a pattern of punctuation only: no word to look for
            self.patterns.append(tokens)
        self.token_words = frozenset(w for tokens in self.patterns for norms in tokens for w in norms)
        # surfaces[norm]: the lower-case words that can carry that NORM under either labeler.
        self.surfaces: dict[str, set[str]] = {w: {w} for w in self.token_words}
        self.moved: set[str] = set()
        self._exact = old._exact_forms | new._exact_forms
        for word in self._exact:
            self._classify(word)
        # Tokenizer exceptions split inside a letter run ("isn't" -> "is", "n't" with NORM "not"):
        # the exception's letter runs stand for its pieces' NORMs.
        for orth, pieces in getattr(old._nlp.tokenizer, "rules", {}).items():
            runs = _ALNUM_RE.findall(orth.lower())
            for piece in pieces:
                for key in ("NORM", 67, "ORTH", 65):
                    norm = str(piece.get(key, "") or "").lower()
                    if norm in self.surfaces:
                        self.surfaces[norm].update(runs)
        targets_old, targets_new = old._speller._targets, new._speller._targets
        retargeted = {w for w in targets_old.keys() | targets_new.keys() if targets_old.get(w) != targets_new.get(w)}
        retargeted |= old._speller._known ^ new._speller._known
        # A misspelling is corrected only to a target with the same first letter.
        self.spell_initials = frozenset(w[0] for w in retargeted | self.token_words if w and w[0].isalpha())

    def _classify(self, word: str) -> None:
        a, b = _norm(self.old, word), _norm(self.new, word)
        if a != b:
            self.moved.add(word)
        for norm in (a, b):
            if norm in self.surfaces:
                self.surfaces[norm].add(word)

    def add_corpus_words(self, words: Iterable[str]) -> None:
        """Classify the corpus's words (letter runs of 5+, lower-cased, as the spelling corrector reads
        them) that a corrector could map to a changed token, or that it maps differently now."""
        if self.everything or not self.spell_initials:
            return
        initials = self.spell_initials
        for word in words:
            if word[0] in initials and word not in self._exact and word not in self.token_words:
                self._classify(word)

    def sql_condition(self, column: str, like: str) -> tuple[str, list[str]] | None:
        """A WHERE condition on `column` that every candidate text meets (a superset); None: no filter.

        Substring tests, ANDed over a pattern's tokens and ORed over patterns and moved words, so a
        frequent word ("pleural") fetches a report only with the pattern's other words.
        """
        if self.everything:
            return None
        params: list[str] = []

        def any_of(words: Iterable[str]) -> str:
            words = sorted(words)
            params.extend(f"%{w}%" for w in words)
            return "(" + " OR ".join(f"{column} {like} %s" for _ in words) + ")"

        terms: list[str] = []
        seen: set[tuple[frozenset[str], ...]] = set()
        for tokens in self.patterns:
            needs = tuple(frozenset().union(*(self.surfaces[n] for n in norms)) for norms in tokens)
            if needs in seen or not all(needs):
                continue
            seen.add(needs)
            # The database stops an AND at its first false test: longer (rarer) words first.
            ordered = sorted(needs, key=lambda need: -min(len(w) for w in need))
            terms.append("(" + " AND ".join(any_of(need) for need in ordered) + ")")
        if self.moved:
            terms.append(any_of(self.moved))
        # Python's lower() makes ASCII letters of two non-ASCII capitals (KELVIN SIGN, I WITH DOT
        # ABOVE), which a database's ASCII case folding does not: such texts are always fetched.
        terms.append(any_of(["\u212a", "\u0130"]))
        return " OR ".join(terms), params

    @property
    def flagged(self) -> set[str]:
        return self.moved.union(*self.surfaces.values())

    def candidates(self, lowered: list[str]) -> set[int] | None:
        """Indexes of the lower-cased texts that can be labelled differently; None: every one.

        One regex pass over the texts joined (by line breaks, which are word boundaries), so the
        cost is the regex engine's scan, not a Python call per report. No look-behind in front:
        a pattern that starts with its alternatives lets the engine skip ahead to their first
        letters; the left boundary is checked per match.
        """
        if self.everything:
            return None
        flagged = self.flagged
        if not flagged:
            return set()
        alternatives = "|".join(re.escape(w) for w in sorted(flagged, key=lambda w: (-len(w), w)))
        finder = re.compile(rf"(?:{alternatives})(?![a-z])")
        corpus = "\n".join(lowered)
        starts: list[int] = []
        offset = 0
        for text in lowered:
            starts.append(offset)
            offset += len(text) + 1
        found: dict[int, set[str]] = {}
        for match in finder.finditer(corpus):
            start = match.start()
            if start and "a" <= corpus[start - 1] <= "z":
                continue
            found.setdefault(bisect.bisect_right(starts, start) - 1, set()).add(match.group())
        moved = frozenset(self.moved)
        # Per pattern, per token: the surfaces that satisfy it.
        needs = [[frozenset().union(*(self.surfaces[n] for n in norms)) for norms in tokens] for tokens in self.patterns]
        # Reports share few distinct sets of found words ({"pleural"} in most): decide each set once.
        decided: dict[frozenset[str], bool] = {}
        chosen: set[int] = set()
        for index, words in found.items():
            key = frozenset(words)
            verdict = decided.get(key)
            if verdict is None:
                verdict = not moved.isdisjoint(key) or any(
                    all(not need.isdisjoint(key) for need in tokens) for tokens in needs
                )
                decided[key] = verdict
            if verdict:
                chosen.add(index)
        return chosen


def phrase_preview(*, protocol: Protocol, old_schema: Schema, new_schema: Schema) -> PhrasePreview:
    """The soft labels a relabel with `new_schema` would change in the protocol, read-only."""
    started = time.monotonic()
    hash_before, hash_after = old_schema.phrase_set_hash(), new_schema.phrase_set_hash()
    preview = PhrasePreview(hash_before=hash_before, hash_after=hash_after)
    old, new = labeler_for_schema(old_schema), labeler_for_schema(new_schema)
    reports = Report.objects.filter(study__protocol=protocol)
    covered = last_full_pass_started(protocol=protocol, engine_version=ENGINE_VERSION, phrase_set_hash=hash_before)
    stale = set(
        stale_reports(reports, engine_version=ENGINE_VERSION, phrase_set_hash=hash_before, covered_until=covered)
        .values_list("pk", flat=True)
    )
    preview.reports = reports.count()
    preview.stale = len(stale)
    if old is new:
        candidates = _report_rows(protocol, ids=sorted(stale))
    else:
        words = WordFilter(old, new)
        words.add_corpus_words(corpus_words(protocol))
        preview.flagged_words = len(words.flagged)
        condition = words.sql_condition("r.text", "ILIKE" if connection.vendor == "postgresql" else "LIKE")
        fetched = _report_rows(protocol, where=condition)
        chosen = words.candidates([row[2].lower() for row in fetched])
        if chosen is not None:
            fetched = [row for i, row in enumerate(fetched) if i in chosen]
        missing = sorted(stale - {row[0] for row in fetched})
        candidates = sorted(fetched + _report_rows(protocol, ids=missing))
    preview.candidates = len(candidates)
    label_names = dict(Label.objects.filter(schema__name=new_schema.name).values_list("pk", "name"))
    label_ids = {name: pk for pk, name in label_names.items()}
    for page in _chunks(candidates, 2000):
        results = new.label_many([text for _, _, text in page])
        stored_by_report: dict[int, dict[int, Any]] = {}
        for (rid, label_id), old_row in _stored_rows([pk for pk, _, _ in page]).items():
            stored_by_report.setdefault(rid, {})[label_id] = old_row
        for (report_id, study_id, _), by_label in zip(page, results, strict=True):
            stored = stored_by_report.get(report_id, {})
            seen: set[int] = set()
            for name, result in by_label.items():
                label_id = label_ids[name]
                seen.add(label_id)
                value, p, evidence = str(result.value), min(max(float(result.p), 0.0), 1.0), _evidence_json(result)
                old_row = stored.get(label_id)
                if old_row is not None and old_row[1] == value and old_row[2] == p and _same(old_row[3], evidence):
                    continue
                before = None if old_row is None else (old_row[1], old_row[2], _decoded(old_row[3]))
                preview.changes.append(SoftLabelChange(report_id, study_id, name, before, (value, p, evidence)))
            for label_id, old_row in stored.items():
                if label_id not in seen:
                    preview.changes.append(
                        SoftLabelChange(report_id, study_id, label_names.get(label_id, str(label_id)),
                                        (old_row[1], old_row[2], _decoded(old_row[3])), None)
                    )
    preview.elapsed_ms = round((time.monotonic() - started) * 1000)
    return preview


def _report_rows(
    protocol: Protocol, *, where: tuple[str, list[str]] | None = None, ids: list[int] | None = None
) -> list[tuple[int, int, str]]:
    """(report id, study id, text) of the protocol's reports, in id order: those meeting `where`
    (a condition on r.text with its parameters), or those of `ids`, or all."""
    report, study = Report._meta.db_table, Study._meta.db_table
    sql = f"SELECT r.id, r.study_id, r.text FROM {report} r JOIN {study} s ON s.id = r.study_id WHERE s.protocol_id = %s"
    rows: list[tuple[int, int, str]] = []
    with connection.cursor() as cursor:
        if ids is not None:
            for chunk in _chunks(ids):
                cursor.execute(f"{sql} AND r.id IN ({', '.join(['%s'] * len(chunk))})", [protocol.pk, *chunk])
                rows.extend(cursor.fetchall())
            return sorted(rows)
        if where is not None:
            sql, params = f"{sql} AND ({where[0]})", [protocol.pk, *where[1]]
        else:
            params = [protocol.pk]
        cursor.execute(f"{sql} ORDER BY r.id", params)
        return cursor.fetchall()


# Distinct words of a protocol's reports, per process: reading every text costs about a second per
# 100k reports, and the words change only when reports do (the key says when).
_CORPUS_CACHE: OrderedDict[tuple[Any, ...], frozenset[str]] = OrderedDict()
_CORPUS_CACHE_SIZE = 4
_corpus_lock = threading.Lock()
_RUN_RE = re.compile(r"[A-Za-z]{5,}")


def corpus_words(protocol: Protocol) -> frozenset[str]:
    """The lower-cased letter runs of 5+ letters in the protocol's reports (what the speller reads)."""
    reports = Report.objects.filter(study__protocol=protocol)
    stats = reports.aggregate(n=Count("id"), last=Max("id"), changed=Max("updated_at"))
    key = (protocol.pk, stats["n"], stats["last"], stats["changed"])
    with _corpus_lock:
        if key in _CORPUS_CACHE:
            _CORPUS_CACHE.move_to_end(key)
            return _CORPUS_CACHE[key]
    words: set[str] = set()
    batch: list[str] = []
    for (text,) in reports.values_list("text").iterator(chunk_size=5000):
        batch.append(text)
        if len(batch) >= 5000:
            words.update(_RUN_RE.findall("\n".join(batch)))
            batch = []
    words.update(_RUN_RE.findall("\n".join(batch)))
    result = frozenset(w.lower() for w in words)
    with _corpus_lock:
        _CORPUS_CACHE[key] = result
        while len(_CORPUS_CACHE) > _CORPUS_CACHE_SIZE:
            _CORPUS_CACHE.popitem(last=False)
    return result


def _decoded(evidence: str | list[Any]) -> list[Any]:
    return json.loads(evidence) if isinstance(evidence, str) else evidence


def _stored_rows(report_ids: list[int]) -> dict[tuple[int, int], tuple[int, str, float, str | list[Any]]]:
    """The relabel's read of stored soft labels, with the evidence left as JSON text on every vendor.

    PostgreSQL already answers text (relabel._stored_soft_labels); elsewhere the column is read
    raw, so most rows are compared without decoding (see _same).
    """
    if connection.vendor == "postgresql":
        return _stored_soft_labels(report_ids)
    table = SoftLabel._meta.db_table
    stored: dict[tuple[int, int], tuple[int, str, float, str | list[Any]]] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(report_ids):
            cursor.execute(
                f"SELECT id, report_id, label_id, value, p, evidence FROM {table} "
                f"WHERE report_id IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            for pk, report_id, label_id, value, p, evidence in cursor.fetchall():
                stored[(report_id, label_id)] = (pk, value, p, evidence)
    return stored


def _same(stored: str | list[Any], evidence: list[dict[str, Any]]) -> bool:
    """Stored evidence equals the new evidence, as JSON values (the relabel's test).

    Equal text is equal JSON, so the text as Django writes it (SQLite) or as jsonb prints it
    (PostgreSQL) settles most rows; any other text is decoded and compared.
    """
    if not isinstance(stored, str):
        return stored == evidence
    return stored == json.dumps(evidence) or stored == _jsonb_text(evidence) or json.loads(stored) == evidence


def phrase_preview_current(*, protocol: Protocol, new_schema: Schema) -> PhrasePreview:
    from annotation.selectors.queue import protocol_schema  # read only: selectors do not store

    schema = protocol_schema(protocol)
    if schema is None:
        # Reached through one of the protocol's labels, so its schema is stored; never guess one.
        raise LookupError(f"Protocol {protocol.pk} has no stored schema")
    return phrase_preview(protocol=protocol, old_schema=schema_to_engine(schema), new_schema=new_schema)


# --- A sample of changed reports for the page, their evidence old and new (report text: audited by the caller) ---

_CONTEXT = 80


@dataclass
class SampleItem:
    study_id: int
    report_id: int
    changes: list[SoftLabelChange]
    # (text, kind): kind "" (context), "gap" (left out), "old" (evidence that goes), "new" (evidence
    # that comes), "same" (evidence on both sides)
    pieces: list[tuple[str, str]] = field(default_factory=list)


def _spans(evidence: list[Any] | None) -> set[tuple[int, int, str, tuple[str, ...]]]:
    return {(e["start"], e["end"], e.get("phrase", ""), tuple(e.get("modifiers") or ())) for e in evidence or ()}


def preview_sample(preview: PhrasePreview, *, limit: int = 8) -> list[SampleItem]:
    """The first `limit` changed reports with their text cut to the changed evidence, marked."""
    by_report: dict[int, list[SoftLabelChange]] = {}
    for change in sorted(preview.changes, key=lambda c: (c.study_id, c.report_id, c.label)):
        if change.report_id in by_report or len(by_report) < limit:
            by_report.setdefault(change.report_id, []).append(change)
    texts = dict(Report.objects.filter(pk__in=list(by_report)).values_list("pk", "text"))
    items: list[SampleItem] = []
    for report_id, changes in by_report.items():
        text = texts.get(report_id, "")
        old: set[tuple[int, int]] = set()
        new: set[tuple[int, int]] = set()
        for change in changes:
            before = _spans(change.before[2] if change.before else None)
            after = _spans(change.after[2] if change.after else None)
            old |= {(s, e) for s, e, _, _ in before - after}
            new |= {(s, e) for s, e, _, _ in after - before}
            same = {(s, e) for s, e, _, _ in before & after}
            old |= same
            new |= same
        items.append(SampleItem(changes[0].study_id, report_id, changes, _pieces(text, old, new)))
    return items


def _pieces(text: str, old: set[tuple[int, int]], new: set[tuple[int, int]]) -> list[tuple[str, str]]:
    spans = sorted(old | new)
    if not spans:
        return [(text[: 2 * _CONTEXT] + ("…" if len(text) > 2 * _CONTEXT else ""), "")]
    windows: list[list[int]] = []
    for start, end in spans:
        a, b = max(0, start - _CONTEXT), min(len(text), end + _CONTEXT)
        if windows and a <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], b)
        else:
            windows.append([a, b])
    pieces: list[tuple[str, str]] = []
    for index, (a, b) in enumerate(windows):
        if a > 0 or index:
            pieces.append(("…", "gap"))
        cuts = sorted({a, b, *(x for s, e in spans for x in (s, e) if a <= x <= b)})
        for left, right in zip(cuts, cuts[1:], strict=False):
            inside_old = any(s <= left and right <= e for s, e in old)
            inside_new = any(s <= left and right <= e for s, e in new)
            kind = "same" if inside_old and inside_new else "old" if inside_old else "new" if inside_new else ""
            pieces.append((text[left:right], kind))
    if windows[-1][1] < len(text):
        pieces.append(("…", "gap"))
    return pieces
