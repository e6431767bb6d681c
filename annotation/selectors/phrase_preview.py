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
  are run through the new labeler, found through the protocol's word index (report_terms.py)
  without reading any other text; the labelers are read through annotation.engine.inspect;
- reports already stale under the old phrase set (edited text, never labelled, an interrupted
  relabel) would be rewritten by the relabel whatever the edit: they are always run too;
- every other report keeps what is stored, as the relabel would.

The candidates' new soft labels are compared with the stored ones with the relabel's own
comparison (annotation.services.relabel), so "changed" means what the relabel would write.
Tests (tests/annotation/curation/test_phrase_preview_matches_relabel.py) check preview == relabel
over random edits; docs/CURATION.md says why the word filter is a superset.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connection

from annotation.engine import ENGINE_VERSION, inspect
from annotation.engine.priority import reordered_texts
from annotation.models import Label, SoftLabel
from annotation.selectors.labels import last_full_pass_started, stale_reports
from annotation.selectors.report_terms import (
    changed_report_ids,
    indexed_postings,
    indexed_vocabulary,
    text_terms,
)
from annotation.services.relabel import (
    _chunks,
    _evidence_json,
    _jsonb_text,
    _pg_execute,
)
from annotation.services.schemas import labeler_for_schema, schema_to_engine
from reports.models import Protocol, Report, Study

if TYPE_CHECKING:
    from annotation.engine import Schema
    from annotation.engine.labeler import Labeler

ABSENT = "absent"


@dataclass(frozen=True)
class SoftLabelChange:
    report_id: int
    study_id: int
    label: str
    # value, p, evidence (JSON text until decoded_evidence reads it); None = absent
    before: tuple[str, float, str | list[Any]] | None
    after: tuple[str, float, str | list[Any]] | None

    @property
    def transition(self) -> str:
        return f"{self.before[0] if self.before else ABSENT}->{self.after[0] if self.after else ABSENT}"

    @property
    def evidence_only(self) -> bool:
        """Same value and p, other evidence: the relabel rewrites it, the study API shows no change."""
        return self.before is not None and self.after is not None and self.before[:2] == self.after[:2]


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
    processes: int = 1  # labelling processes
    # seconds per step: find candidates, fetch texts, read stored, engine, compare
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def studies(self) -> list[int]:
        return sorted({c.study_id for c in self.changes})

    @property
    def changed(self) -> int:
        return len(self.studies)

    # The study API shows a soft label as its value and p, so the API's preview lists the studies
    # where one of those moves and names evidence-only changes apart: a client that diffs the
    # soft labels before and after the relabel then finds exactly the listed studies.
    @property
    def value_changes(self) -> list[SoftLabelChange]:
        return [c for c in self.changes if not c.evidence_only]

    @property
    def value_studies(self) -> list[int]:
        return sorted({c.study_id for c in self.value_changes})

    @property
    def evidence_only_studies(self) -> list[int]:
        """Studies whose soft labels keep every value and p and only cite other evidence."""
        return sorted(set(self.studies) - set(self.value_studies))

    def transitions(self, label: str | None = None, *, evidence_only: bool = True) -> dict[str, int]:
        counts = Counter(
            c.transition for c in self.changes
            if (label is None or c.label == label) and (evidence_only or not c.evidence_only)
        )
        return dict(sorted(counts.items()))

    def by_label(self) -> dict[str, dict[str, int]]:
        """Per label, soft labels per transition; evidence-only changes counted on their own line."""
        table: dict[str, Counter[str]] = {name: Counter() for name in sorted({c.label for c in self.changes})}
        for c in self.changes:
            table[c.label][f"{c.transition} (evidence only)" if c.evidence_only else c.transition] += 1
        return {name: dict(sorted(counts.items())) for name, counts in table.items()}

    def summary(self) -> dict[str, Any]:
        """What a PhraseChange keeps of its preview (no report text, ids and counts only)."""
        return {
            "hash_before": self.hash_before, "hash_after": self.hash_after, "changed": self.changed,
            "transitions": self.transitions(), "studies": self.studies, "elapsed_ms": self.elapsed_ms,
        }


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
        changed = set(inspect.pattern_entries(old) ^ inspect.pattern_entries(new))
        priors = set(inspect.priors(old).items()) ^ set(inspect.priors(new).items())
        changed |= {("prior", label, phrase) for (label, phrase), _ in priors}
        # A reorder moves p where two phrases of a label that now rank the other way both match.
        reordered = reordered_texts(old.schema, old.ranks, new.schema, new.ranks)
        changed |= {("rank", label, text) for label, text in reordered}
        if old.schema.no_finding != new.schema.no_finding or (old.rules is not new.rules and old.rules != new.rules):
            self.everything = True
        # Each changed pattern as a list of tokens, each token the set of NORMs it has in either labeler.
        self.patterns: list[list[frozenset[str]]] = []
        for _kind, _label, phrase in sorted(changed):
            tokens = []
            pairs = zip(inspect.phrase_tokens(old, phrase), inspect.phrase_tokens(new, phrase), strict=False)
            for (old_lower, old_norm), (_new_lower, new_norm) in pairs:
                norms = frozenset(inspect.alnum_runs(f"{old_lower} {old_norm} {new_norm}"))
                if norms:  # a punctuation token: the pattern's other tokens still have to be there
                    tokens.append(norms)
            if not tokens:
                self.everything = True  # a pattern of punctuation only: no word to look for
            self.patterns.append(tokens)
        self.token_words = frozenset(w for tokens in self.patterns for norms in tokens for w in norms)
        # surfaces[norm]: the lower-case words that can carry that NORM under either labeler.
        self.surfaces: dict[str, set[str]] = {w: {w} for w in self.token_words}
        self.moved: set[str] = set()
        self._exact = inspect.exact_forms(old) | inspect.exact_forms(new)
        for word in self._exact:
            self._classify(word)
        # Tokenizer exceptions split inside a letter run ("isn't" -> "is", "n't" with NORM "not"):
        # the exception's letter runs stand for its pieces' NORMs.
        for orth, forms in inspect.tokenizer_exceptions(old):
            runs = inspect.alnum_runs(orth.lower())
            for form in forms:
                if form in self.surfaces:
                    self.surfaces[form].update(runs)
        targets_old, targets_new = inspect.speller_targets(old), inspect.speller_targets(new)
        retargeted = {w for w in targets_old.keys() | targets_new.keys() if targets_old.get(w) != targets_new.get(w)}
        retargeted |= inspect.speller_known(old) ^ inspect.speller_known(new)
        self.spell_initials = inspect.misspelling_initials(retargeted | self.token_words)

    def _classify(self, word: str) -> None:
        a, b = inspect.word_norm(self.old, word), inspect.word_norm(self.new, word)
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

    @property
    def flagged(self) -> set[str]:
        return self.moved.union(*self.surfaces.values())

    def candidate_ids(
        self, vocabulary: Collection[str], postings: Callable[[set[str]], Mapping[str, Collection[int]]]
    ) -> set[int] | None:
        """Ids of the reports that can be labelled differently (a superset); None: every report.

        `postings(terms)` gives the reports holding each term (selectors/report_terms.py). A flagged
        word occurs in a text only as a maximal letter run (a term) or, when it has a digit, inside
        a run of letters and digits: the terms of `vocabulary` that contain it. A report is a
        candidate when it holds a moved word, or some surface of every token of a changed pattern.
        """
        if self.everything:
            return None
        flagged = self.flagged
        if not flagged:
            return set()
        expand = {w: [w] if w.isalpha() else [t for t in vocabulary if w in t] for w in flagged}
        found = postings({t for terms in expand.values() for t in terms})
        by_word: dict[str, set[int]] = {}

        def holding(words: Iterable[str]) -> set[int]:
            ids: set[int] = set()
            for word in words:
                if word not in by_word:
                    by_word[word] = set().union(*(found.get(t, ()) for t in expand[word]))
                ids |= by_word[word]
            return ids

        chosen = holding(self.moved)
        for tokens in self.patterns:
            # The rarest token first: most patterns end at an empty intersection there.
            needs = sorted((holding(self.surfaces_of(norms)) for norms in tokens), key=len)
            hit = needs[0] if needs else set()
            for ids in needs[1:]:
                if not hit:
                    break
                hit = hit & ids
            chosen |= hit
        return chosen

    def surfaces_of(self, norms: frozenset[str]) -> set[str]:
        return set().union(*(self.surfaces[n] for n in norms))


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
    candidate_ids = set(stale)
    if old is not new:
        chosen = _word_candidates(protocol, WordFilter(old, new), preview)
        candidate_ids = set(reports.values_list("pk", flat=True)) if chosen is None else candidate_ids | chosen
    preview.timings["find candidates"] = time.monotonic() - started

    mark = time.monotonic()
    candidates = _report_rows(protocol, sorted(candidate_ids))
    preview.candidates = len(candidates)
    preview.timings["fetch texts"] = time.monotonic() - mark
    label_names = dict(Label.objects.filter(schema__name=new_schema.name).values_list("pk", "name"))
    _compare(preview, new, candidates, label_names)
    preview.elapsed_ms = round((time.monotonic() - started) * 1000)
    return preview


def _word_candidates(protocol: Protocol, words: WordFilter, preview: PhrasePreview) -> set[int] | None:
    """The reports whose words let the two labelers differ, from the word index (None: every report).

    Reports the index does not hold as they are now (added, edited or moved since the last
    refresh) are read and their terms taken from their text, so the answer never lags the reports.
    """
    changed = changed_report_ids(protocol)
    fresh: dict[int, set[str]] = {pk: text_terms(text) for pk, _study, text in _report_rows(protocol, changed)}
    # Their indexed terms are of their old text. (Reports deleted or moved out may linger in the
    # postings until the next refresh: harmless, the texts are fetched from the protocol's reports.)
    unindexed = set(changed)
    vocabulary = set(indexed_vocabulary(protocol)).union(*fresh.values())
    words.add_corpus_words(w for w in vocabulary if len(w) >= inspect.MISSPELLING_MIN_LETTERS and w.isalpha())
    preview.flagged_words = len(words.flagged)

    def postings(terms: set[str]) -> Mapping[str, Collection[int]]:
        found: dict[str, set[int]] = {
            term: {pk for pk in ids if pk not in unindexed} if unindexed else set(ids)
            for term, ids in indexed_postings(protocol, terms).items()
        }
        for pk, held in fresh.items():
            for term in held & terms:
                found.setdefault(term, set()).add(pk)
        return found

    return words.candidate_ids(vocabulary, postings)


# Candidates per process below which labelling them here beats starting a second process.
PARALLEL_MIN = 3000
_CHUNK = 1000
# What forked labelling processes read (set just before the fork): labeler, texts, database vendor.
_FORKED: tuple[Labeler, list[str], str] | None = None


def _label_texts(
    labeler: Labeler, texts: list[str], vendor: str, bounds: tuple[int, int]
) -> list[list[tuple[str, str, float, str]]]:
    """Label texts[a:b]: per report, (label, value, p, evidence JSON text) of each label given.

    The evidence is printed as the database prints it back (Django's JSON on SQLite, jsonb's on
    PostgreSQL), so most stored rows compare equal as text without decoding (see _same).
    """
    dump = _jsonb_text if vendor == "postgresql" else json.dumps
    out: list[list[tuple[str, str, float, str]]] = []
    for by_label in labeler.iter_label(texts[bounds[0] : bounds[1]]):
        out.append([
            (name, str(r.value), min(max(float(r.p), 0.0), 1.0), dump(_evidence_json(r))) for name, r in by_label.items()
        ])
    return out


def _label_forked(bounds: tuple[int, int]) -> list[list[tuple[str, str, float, str]]]:
    """_label_texts in a forked process, on what the parent left in _FORKED (nothing is pickled)."""
    assert _FORKED is not None
    return _label_texts(*_FORKED, bounds)


def _processes(count: int) -> int:
    """Labelling processes for `count` candidates: forked only from a single-threaded, non-daemon process
    (a fork copies no other thread, and a daemon, e.g. a Celery pool process, may not have children)."""
    if not hasattr(os, "fork") or threading.active_count() > 1 or multiprocessing.current_process().daemon:
        return 1
    from annotation.engine.batch import default_processes  # with the labeler: spaCy on first use

    return max(1, min(default_processes(), count // PARALLEL_MIN))


def _compare(preview: PhrasePreview, labeler: Labeler, candidates: list[tuple[int, int, str]], label_names: dict[int, str]) -> None:
    """Label the candidates and keep each soft label that differs from the stored one (the relabel's test).

    With many candidates the labelling runs in forked processes while this one reads the stored
    soft labels; the comparison is on text first, decoding only rows whose text differs.
    """
    global _FORKED
    label_ids = {name: pk for pk, name in label_names.items()}
    texts = [text for _, _, text in candidates]
    bounds = [(a, min(a + _CHUNK, len(texts))) for a in range(0, len(texts), _CHUNK)]
    processes = preview.processes = _processes(len(texts))
    report_ids = [pk for pk, _, _ in candidates]
    mark = time.monotonic()
    if processes > 1:
        # Only a single-threaded process forks (_processes), so no other preview can be using _FORKED.
        _FORKED = (labeler, texts, connection.vendor)
        try:
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                pending = pool.imap(_label_forked, bounds)
                stored = _stored_rows(report_ids)
                preview.timings["read stored"] = time.monotonic() - mark
                results = [report for chunk in pending for report in chunk]
        finally:
            _FORKED = None
        preview.timings["engine"] = time.monotonic() - mark  # wall time, the read overlapping it
    else:
        stored = _stored_rows(report_ids)
        preview.timings["read stored"] = time.monotonic() - mark
        mark = time.monotonic()
        results = [report for b in bounds for report in _label_texts(labeler, texts, connection.vendor, b)]
        preview.timings["engine"] = time.monotonic() - mark
    mark = time.monotonic()
    changes = preview.changes
    for (report_id, study_id, _), labels in zip(candidates, results, strict=True):
        before_rows = stored.get(report_id, {})
        seen: set[int] = set()
        for name, value, p, evidence in labels:
            label_id = label_ids[name]
            seen.add(label_id)
            old_row = before_rows.get(label_id)
            if old_row is not None and old_row[0] == value and old_row[1] == p and _same(old_row[2], evidence):
                continue
            changes.append(SoftLabelChange(report_id, study_id, name, old_row, (value, p, evidence)))
        for label_id, old_row in before_rows.items():
            if label_id not in seen:
                changes.append(SoftLabelChange(report_id, study_id, label_names.get(label_id, str(label_id)), old_row, None))
    preview.timings["compare"] = time.monotonic() - mark


def _report_rows(protocol: Protocol, ids: list[int]) -> list[tuple[int, int, str]]:
    """(report id, study id, text) of those of `ids` that are the protocol's reports, in id order."""
    # CROSS JOIN: SQLite then walks the reports by id; with a plain JOIN it chose to walk every
    # study of the protocol for each batch of ids (seconds per batch on 100,000 reports).
    sql = (
        f"SELECT r.id, r.study_id, r.text FROM {Report._meta.db_table} r CROSS JOIN {Study._meta.db_table} s "
        "WHERE s.id = r.study_id AND s.protocol_id = %s"
    )
    if connection.vendor == "postgresql":
        # The ids as one array joined through unnest(): `id = ANY(array)` right after a bulk import
        # (no ANALYZE yet) was planned as a scan testing every row against the whole array, 6.5 to
        # 7.8 s for 21,880 ids of 100,000 reports (0.14 s once analysed).
        return sorted(_pg_execute(
            f"SELECT r.id, r.study_id, r.text FROM unnest(%s::bigint[]) AS u(id) "
            f"JOIN {Report._meta.db_table} r ON r.id = u.id JOIN {Study._meta.db_table} s ON s.id = r.study_id "
            "WHERE s.protocol_id = %s",
            [ids, protocol.pk],
        ) or [])
    rows: list[tuple[int, int, str]] = []
    with connection.cursor() as cursor:
        for chunk in _chunks(ids):
            cursor.execute(f"{sql} AND r.id IN ({', '.join(['%s'] * len(chunk))})", [protocol.pk, *chunk])
            rows.extend(cursor.fetchall())
    return sorted(rows)


# A stored soft label as the preview compares it: value, p, evidence (JSON text, or decoded).
Stored = tuple[str, float, str | list[Any]]


def _stored_rows(report_ids: list[int]) -> dict[int, dict[int, Stored]]:
    """The stored soft labels of these reports, by report and label, evidence left as JSON text.

    The column is read as text on every vendor, so rows are compared without decoding (see _same).
    """
    stored: dict[int, dict[int, Stored]] = {}
    table = SoftLabel._meta.db_table
    if connection.vendor == "postgresql":
        # Joined through unnest(), as in _report_rows; the evidence as jsonb prints it.
        for report_id, label_id, value, p, evidence in _pg_execute(
            f"SELECT l.report_id, l.label_id, l.value, l.p, l.evidence::text FROM unnest(%s::bigint[]) AS u(id) "
            f"JOIN {table} l ON l.report_id = u.id",
            [report_ids],
        ) or []:
            stored.setdefault(report_id, {})[label_id] = (value, p, evidence)
        return stored
    with connection.cursor() as cursor:
        for chunk in _chunks(report_ids):
            cursor.execute(
                f"SELECT report_id, label_id, value, p, evidence FROM {table} "
                f"WHERE report_id IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            for report_id, label_id, value, p, evidence in cursor.fetchall():
                stored.setdefault(report_id, {})[label_id] = (value, p, evidence)
    return stored


def _same(stored: str | list[Any], evidence: str) -> bool:
    """Stored evidence equals the new evidence (JSON text printed as the database prints it), as JSON values.

    Equal text is equal JSON, which settles almost every row; any other text is decoded and
    compared, so a difference in printing can never hide or invent a change (the relabel's test).
    """
    if isinstance(stored, str):
        return stored == evidence or json.loads(stored) == json.loads(evidence)
    return stored == json.loads(evidence)


def decoded_evidence(evidence: str | list[Any] | None) -> list[Any]:
    """The evidence of one side of a change as JSON values (it is kept as text until asked for)."""
    if evidence is None:
        return []
    return json.loads(evidence) if isinstance(evidence, str) else evidence


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
            before = _spans(decoded_evidence(change.before[2]) if change.before else None)
            after = _spans(decoded_evidence(change.after[2]) if change.after else None)
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
