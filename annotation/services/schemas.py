"""Label schemas in the database, and their translation to the engine's plain `Schema`.

The database is where curators edit phrases (admin, phrase pages); the engine only ever sees the
`Schema` built here from the *enabled* phrases, and the soft labels it writes record that schema's
`phrase_set_hash()`, so a phrase edit is detectable report by report.
"""
from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from django.db import transaction

from annotation.engine import LabelSpec, Schema, SchemaError, load_builtin_schema, load_schema_yaml

if TYPE_CHECKING:
    from annotation.engine.labeler import Labeler
from annotation.engine.schema import BUILTIN_SCHEMAS, normalise_phrase
from annotation.models import Label, LabelSchema, Phrase, PhraseKind

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from reports.models import Protocol

BUILTIN_DEFAULT = "chexpert"

# Highlight colours, one per label in schema order: distinct hues that stay readable as a
# translucent background behind black text (Tableau 20, darker shades first).
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)

_SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
_LABEL_NAME_MAX = Label._meta.get_field("name").max_length
_PHRASE_MAX = Phrase._meta.get_field("text").max_length
_SCHEMA_NAME_MAX = LabelSchema._meta.get_field("name").max_length


def label_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def schema_sync_builtin(*, name: str = BUILTIN_DEFAULT) -> LabelSchema:
    """Create or complete the built-in schema `name` from annotation/data; safe to run any time.

    Curators own the phrases once they exist: a sync adds labels and phrases the shipped file has
    and the database lacks, and refreshes label order and colour, but never re-enables a phrase a
    curator disabled nor deletes one a curator added.
    """
    engine_schema = load_builtin_schema(name)
    return _schema_store(engine_schema, builtin=True, authoritative=False)


def schema_import_yaml(*, text_or_path: str | os.PathLike[str], actor: AbstractBaseUser | None = None) -> LabelSchema:
    """Import a schema file (the YAML of DESIGN.md); all or nothing.

    Raises SchemaError naming the key at fault. Re-importing a name updates it: the file is the
    authority, so its phrases are enabled in the file's order and phrases missing from the file
    are disabled (kept, with their measured precision, rather than deleted). Built-in schemas are
    not overwritten by a file of the same name.
    """
    engine_schema = load_schema_yaml(text_or_path)
    _check_storable(engine_schema)
    existing = LabelSchema.objects.filter(name=engine_schema.name).first()
    if existing is not None and existing.builtin:
        raise SchemaError(f"key 'name': {engine_schema.name!r} is a built-in schema; choose another name")
    return _schema_store(engine_schema, builtin=False, authoritative=True)


def _check_storable(schema: Schema) -> None:
    """Refuse what the database cannot hold, naming the key (the engine checked the rest)."""
    if len(schema.name) > _SCHEMA_NAME_MAX or not _SLUG_RE.match(schema.name):
        raise SchemaError(
            f"key 'name': {schema.name[:80]!r} must be a short slug (letters, digits, '-' or '_', "
            f"at most {_SCHEMA_NAME_MAX} characters)"
        )
    # Attribute anchors, always-uncertain phrases and a No Finding rule are engine features the
    # database has no place for yet; importing them silently would drop them.
    if schema.no_finding is not None:
        raise SchemaError("key 'no_finding': not supported in imported schemas (only the built-in one)")
    for i, spec in enumerate(schema.labels):
        where = f"labels[{i}] ({spec.name[:80]})"
        if len(spec.name) > _LABEL_NAME_MAX:
            raise SchemaError(f"{where}: key 'name' is longer than {_LABEL_NAME_MAX} characters")
        for key in ("attributes", "uncertain"):
            if getattr(spec, key):
                raise SchemaError(f"{where}: key '{key}' is not supported in imported schemas")
        for key in ("phrases", "exclusions"):
            for j, phrase in enumerate(getattr(spec, key)):
                if len(phrase) > _PHRASE_MAX:
                    raise SchemaError(f"{where}: {key}[{j}] is longer than {_PHRASE_MAX} characters")
        unknown = set(spec.precision or {}) - set(spec.phrases) - set(spec.exclusions)
        if unknown:
            raise SchemaError(f"{where}: key 'precision' names phrases the label lacks: {sorted(unknown)[:5]}")


def _schema_store(engine_schema: Schema, *, builtin: bool, authoritative: bool) -> LabelSchema:
    with transaction.atomic():
        schema, _ = LabelSchema.objects.select_for_update().get_or_create(
            name=engine_schema.name, defaults={"builtin": builtin}
        )
        if schema.builtin != builtin:
            schema.builtin = builtin
            schema.save(update_fields=["builtin", "updated_at"])
        labels = {label.name: label for label in schema.labels.all()}
        names_in_file = set(engine_schema.label_names())
        for index, spec in enumerate(engine_schema.labels):
            label = labels.get(spec.name)
            if label is None:
                label = Label.objects.create(schema=schema, name=spec.name, order=index, color=label_color(index))
            elif (label.order, label.color) != (index, label_color(index)):
                label.order, label.color = index, label_color(index)
                label.save(update_fields=["order", "color"])
            _phrases_store(label, spec, authoritative=authoritative)
        if authoritative:
            # A label dropped from the file keeps its row (confirmations may point at it) but
            # stops matching: its phrases are disabled, so the next relabel removes its soft labels.
            dropped = [label.pk for name, label in labels.items() if name not in names_in_file]
            Phrase.objects.filter(label_id__in=dropped).update(enabled=False)
    return schema


def _phrases_store(label: Label, spec: LabelSpec, *, authoritative: bool) -> None:
    existing = {(p.kind, normalise_phrase(p.text)): p for p in label.phrases.all()}
    wanted: dict[tuple[str, str], int] = {}
    for kind, texts in ((PhraseKind.MENTION, spec.phrases), (PhraseKind.EXCLUSION, spec.exclusions)):
        for order, text in enumerate(texts):
            wanted.setdefault((kind, text), order)
    precision = spec.precision or {}
    to_create: list[Phrase] = []
    to_update: list[Phrase] = []
    for (kind, text), order in wanted.items():
        phrase = existing.get((kind, text))
        if phrase is None:
            to_create.append(
                Phrase(label=label, kind=kind, text=text, order=order, enabled=True, precision=precision.get(text))
            )
        elif authoritative:
            phrase.order, phrase.enabled = order, True
            if text in precision:
                phrase.precision = precision[text]
            to_update.append(phrase)
    if authoritative:
        for key, phrase in existing.items():
            if key not in wanted and phrase.enabled:
                phrase.enabled = False
                to_update.append(phrase)
    Phrase.objects.bulk_create(to_create)
    if to_update:
        Phrase.objects.bulk_update(to_update, ["order", "enabled", "precision"])


def schema_for_protocol(protocol: Protocol) -> LabelSchema:
    """Return the protocol's schema, or the built-in chexpert one (stored on first use)."""
    if protocol.label_schema_id is not None:
        return protocol.label_schema
    schema = LabelSchema.objects.filter(name=BUILTIN_DEFAULT, builtin=True).first()
    return schema if schema is not None else schema_sync_builtin(name=BUILTIN_DEFAULT)


def schema_to_engine(schema: LabelSchema) -> Schema:
    """Build the engine's Schema from the enabled phrases, in label and phrase order.

    Phrase order (`Phrase.order`, then text) is the curator's priority: the engine lets the
    best-ranked matching phrase set p, and the phrase-set hash includes the order.

    Disabled mention phrases are passed as exclusions, so nothing brings them back.

    A built-in schema keeps what only the shipped file holds (attribute anchors, always-uncertain
    phrases, the No Finding rule); its mention and exclusion phrases come from the database, so
    curators' edits apply. A phrase's stored precision is the engine's prior for it.
    """
    phrases_by_label: dict[int, list[Phrase]] = {}
    for phrase in Phrase.objects.filter(label__schema=schema).order_by("label_id", "order", "text"):
        phrases_by_label.setdefault(phrase.label_id, []).append(phrase)
    shipped = load_builtin_schema(schema.name) if schema.builtin and schema.name in BUILTIN_SCHEMAS else None
    base = {spec.name: spec for spec in shipped.labels} if shipped is not None else {}
    specs = []
    for label in schema.labels.order_by("order", "name"):
        every = phrases_by_label.get(label.pk, [])
        own = [p for p in every if p.enabled]
        mentions = _unique(normalise_phrase(p.text) for p in own if p.kind == PhraseKind.MENTION)
        # A disabled mention becomes an exclusion: the engine's synonym table would otherwise
        # bring it back through another phrase ("bleed" through "hemorrhage"), and a curator
        # who switched a phrase off means it to stop counting.
        disabled = [normalise_phrase(p.text) for p in every if not p.enabled and p.kind == PhraseKind.MENTION]
        exclusions = _unique(
            [*(normalise_phrase(p.text) for p in own if p.kind == PhraseKind.EXCLUSION), *disabled]
        )
        # Every switched-off phrase, of either kind, also reaches the engine as `disabled`: an
        # inferred term (synonym, abbreviation, normal statement, organ heading, lexicon
        # exclusion; engine.schema_inferred_phrases) with that text is then not compiled, and a
        # disabled exclusion only stops matches inside it, not longer phrases that contain it.
        switched_off = _unique(normalise_phrase(p.text) for p in every if not p.enabled)
        # Precision is typed in by hand in the admin; keep the prior a probability whatever was entered.
        precision = {normalise_phrase(p.text): min(max(p.precision, 0.0), 1.0) for p in own if p.precision is not None}
        spec = LabelSpec(name=label.name, phrases=mentions)
        if label.name in base:
            spec = replace(base[label.name], phrases=mentions)
        specs.append(replace(spec, exclusions=exclusions, precision=precision or None, disabled=switched_off))
    no_finding = shipped.no_finding if shipped is not None else None
    if no_finding is not None and no_finding.label not in {spec.name for spec in specs}:
        no_finding = None
    return Schema(name=schema.name, labels=specs, no_finding=no_finding)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


# Compiling a Labeler (spaCy tokenizer, phrase matchers, fuzzy index) takes time, and a phrase
# set changes rarely, so a process keeps the few it used last, keyed by the phrase-set hash.
_LABELER_CACHE_SIZE = 4
_labelers: OrderedDict[str, Labeler] = OrderedDict()
_labelers_lock = threading.Lock()


def labeler_for_schema(engine_schema: Schema) -> Labeler:
    """Return a compiled Labeler for the schema, reusing one compiled for the same phrase set."""
    key = engine_schema.phrase_set_hash()
    with _labelers_lock:
        labeler = _labelers.get(key)
        if labeler is not None:
            _labelers.move_to_end(key)
            return labeler
    from annotation.engine import Labeler  # spaCy loads on first use, not at import

    labeler = Labeler(engine_schema)
    with _labelers_lock:
        _labelers[key] = labeler
        while len(_labelers) > _LABELER_CACHE_SIZE:
            _labelers.popitem(last=False)
    return labeler


def schema_ensure_stored(protocol: Protocol) -> None:
    """Store the built-in default schema on a protocol's first use; no query when it has its own.

    The reading pages call this before their selectors, which only read (protocol_labels).
    """
    if protocol.label_schema_id is None:
        schema_for_protocol(protocol)
