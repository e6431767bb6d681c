"""Curators' phrase edits: validate an edit set, preview what a relabel would change, save, revert.

An edit set names phrases by text (add, disable, enable, reorder over the API), by id (rename,
reorder on the page). It is turned into
a *plan*: one (phrase id or None, state before, state after) per phrase it touches, a state being
{text, kind, enabled, order} or None for "no such row". The same plan is written by the preview
(inside a savepoint that is rolled back, to read the engine schema the edit would give) and by the
save (for good, with a PhraseRevision per entry and the relabel job in the same transaction), so
what is previewed is what is saved. A revert is the plan back to each revision's `before`.

Confirmed labels are never touched: the relabel that follows writes soft labels only (RELABEL.md).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from annotation.apps import RELABEL_JOB
from annotation.audit import AUDIT_PHRASE_CHANGE
from annotation.engine.schema import normalise_phrase
from annotation.models import (
    Label,
    Phrase,
    PhraseChange,
    PhraseChangeKind,
    PhraseKind,
    PhraseRevision,
)
from annotation.selectors.phrases import DISABLEABLE_SOURCES, label_inferred_phrases
from annotation.services.relabel import relabel_start
from annotation.services.schemas import schema_for_protocol, schema_to_engine
from reports.models import Job, JobStatus, Protocol
from reports.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

    from annotation.engine import Schema

_PHRASE_MAX = Phrase._meta.get_field("text").max_length

State = dict[str, Any]


class PhraseEditInvalid(ValueError):
    """The edit set names something the label lacks, or contradicts itself; `unknown` lists names."""

    def __init__(self, message: str, *, unknown: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.unknown = list(unknown)


class PhraseEditConflict(RuntimeError):
    """The edit cannot be saved now (a relabel is running, or a revert meets a later edit)."""


@dataclass(frozen=True)
class PhraseEdit:
    """What a curator asks for, on one label. Texts are compared normalised (case, spaces)."""

    add: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    enable: tuple[str, ...] = ()
    rename: tuple[tuple[int, str], ...] = ()  # (phrase id, new text)
    order: tuple[int, ...] = ()  # mention phrase ids, highest priority first; others follow
    order_texts: tuple[str, ...] = ()  # the same by text (the API); not together with `order`

    def is_empty(self) -> bool:
        return not (self.add or self.disable or self.enable or self.rename or self.order or self.order_texts)

    def to_json(self) -> dict[str, Any]:
        return {
            "add": list(self.add), "disable": list(self.disable), "enable": list(self.enable),
            "rename": [[pk, text] for pk, text in self.rename], "order": list(self.order),
            "order_texts": list(self.order_texts),
        }


@dataclass(frozen=True)
class PlannedRevision:
    phrase_id: int | None  # None: the phrase is created
    before: State | None  # None: no row before
    after: State | None  # None: the row is deleted


@dataclass
class PhrasePlan:
    label: Label
    revisions: list[PlannedRevision] = field(default_factory=list)


def phrase_state(phrase: Phrase) -> State:
    return {"text": phrase.text, "kind": phrase.kind, "enabled": phrase.enabled, "order": phrase.order}


def phrase_edit_plan(*, protocol: Protocol, label: Label, edit: PhraseEdit) -> PhrasePlan:
    """Check `edit` against the label's phrases and return what it would write.

    Raises PhraseEditInvalid naming every phrase the label lacks (`unknown`) or the first
    contradiction. Disabling a phrase the engine infers (a lexicon synonym, an abbreviation)
    stores it as a disabled mention, which the engine then treats as an exclusion.
    """
    if edit.is_empty():
        raise PhraseEditInvalid("The edit is empty: add, disable, enable, rename or reorder a phrase.")
    phrases = list(Phrase.objects.filter(label=label).order_by("order", "text"))
    mentions = {normalise_phrase(p.text): p for p in phrases if p.kind == PhraseKind.MENTION}
    by_id = {p.pk: p for p in phrases if p.kind == PhraseKind.MENTION}
    states: dict[int | str, tuple[int | None, State | None, State | None]] = {}

    def touch(phrase: Phrase) -> State:
        if phrase.pk not in states:
            states[phrase.pk] = (phrase.pk, phrase_state(phrase), phrase_state(phrase))
        return states[phrase.pk][2]  # type: ignore[return-value]

    unknown: list[str] = []
    texts: dict[str, str] = {}  # normalised text -> what it is used for, to refuse contradictions

    def claim(text: str, use: str) -> str:
        norm = normalise_phrase(text)
        if not norm:
            raise PhraseEditInvalid(f"An empty phrase cannot be {use}.")
        if len(norm) > _PHRASE_MAX:
            raise PhraseEditInvalid(f"A phrase to be {use} is longer than {_PHRASE_MAX} characters.")
        if norm in texts:
            raise PhraseEditInvalid(f"{norm!r} is both {texts[norm]} and {use}.")
        texts[norm] = use
        return norm

    next_order = (max((p.order for p in phrases), default=-1)) + 1
    inferred: dict[str, str] | None = None
    for text in edit.add:
        norm = claim(text, "added")
        existing = mentions.get(norm)
        if existing is not None:
            if touch(existing)["enabled"]:
                raise PhraseEditInvalid(f"{norm!r} is already an enabled phrase of {label.name}.")
            touch(existing)["enabled"] = True
            continue
        after = {"text": norm, "kind": PhraseKind.MENTION.value, "enabled": True, "order": next_order}
        next_order += 1
        states[f"new:{norm}"] = (None, None, after)
    for text in edit.disable:
        norm = claim(text, "disabled")
        existing = mentions.get(norm)
        if existing is not None:
            if not touch(existing)["enabled"]:
                raise PhraseEditInvalid(f"{norm!r} is already disabled.")
            touch(existing)["enabled"] = False
            continue
        if inferred is None:
            inferred = label_inferred_phrases(schema_to_engine(label.schema), label.name)
        if inferred.get(norm) in DISABLEABLE_SOURCES:
            after = {"text": norm, "kind": PhraseKind.MENTION.value, "enabled": False, "order": next_order}
            next_order += 1
            states[f"new:{norm}"] = (None, None, after)
            continue
        unknown.append(norm)
    for text in edit.enable:
        norm = claim(text, "enabled")
        existing = mentions.get(norm)
        if existing is None:
            unknown.append(norm)
        elif touch(existing)["enabled"]:
            raise PhraseEditInvalid(f"{norm!r} is already enabled.")
        else:
            touch(existing)["enabled"] = True
    for pk, text in edit.rename:
        phrase = by_id.get(pk)
        if phrase is None:
            unknown.append(f"phrase id {pk}")
            continue
        norm = claim(text, "the new text of a phrase")
        clash = mentions.get(norm)
        if clash is not None and clash.pk != pk:
            raise PhraseEditInvalid(f"{norm!r} is already a phrase of {label.name}.")
        touch(phrase)["text"] = norm
    order = edit.order
    if edit.order_texts:
        if edit.order:
            raise PhraseEditInvalid("Give the new order by phrase id or by text, not both.")
        # Priority decides which phrase's precision sets p (docs/CURATION.md, "Priority").
        named = [normalise_phrase(text) for text in edit.order_texts]
        unknown.extend(text for text in named if text not in mentions)
        order = tuple(mentions[text].pk for text in named if text in mentions)
    if order:
        missing = [pk for pk in order if pk not in by_id]
        unknown.extend(f"phrase id {pk}" for pk in missing)
        if len(set(order)) != len(order):
            raise PhraseEditInvalid("The new order names a phrase twice.")
        ranked = [*[by_id[pk] for pk in order if pk in by_id], *[p for p in by_id.values() if p.pk not in order]]
        for position, phrase in enumerate(ranked):
            if phrase.order != position or phrase.pk in states:
                touch(phrase)["order"] = position
    if unknown:
        raise PhraseEditInvalid(
            f"{label.name} has no phrase {', '.join(repr(u) for u in unknown)}.", unknown=unknown
        )
    revisions = [PlannedRevision(pk, before, after) for pk, before, after in states.values() if before != after]
    if not revisions:
        raise PhraseEditInvalid("The edit changes nothing.")
    return PhrasePlan(label=label, revisions=revisions)


def phrase_revert_plan(*, change: PhraseChange) -> PhrasePlan:
    """The plan that puts every phrase of `change` back as it was before it.

    Refused (PhraseEditConflict) when a phrase of the change is no longer as the change left it
    (a later change edited it and was not reverted): reverting underneath that later change
    would silently undo it too. A revert can itself be reverted (redo).
    """
    if change.reverted_by.exists():
        raise PhraseEditConflict(f"Change {change.pk} is already reverted.")
    revisions = list(change.revisions.all())
    current = {p.pk: p for p in Phrase.objects.filter(pk__in=[r.phrase_id for r in revisions if r.phrase_id])}
    planned: list[PlannedRevision] = []
    for revision in revisions:
        phrase = current.get(revision.phrase_id) if revision.phrase_id is not None else None
        if phrase is None and revision.after is None:
            # Deleted by the change (a reverted addition): find a row that took its text since.
            text = (revision.before or {}).get("text", "")
            clash = Phrase.objects.filter(label=change.label, kind=(revision.before or {}).get("kind"), text=text).first()
            if clash is not None:
                raise PhraseEditConflict(f"Phrase {clash.pk} was added after change {change.pk}; revert that first.")
        now = phrase_state(phrase) if phrase is not None else None
        if now != revision.after:
            which = phrase.pk if phrase is not None else "removed"
            raise PhraseEditConflict(f"Phrase {which} was changed after change {change.pk}; revert the later change first.")
        planned.append(PlannedRevision(phrase.pk if phrase is not None else None, now, revision.before))
    return PhrasePlan(label=change.label, revisions=planned)


def _plan_write(plan: PhrasePlan) -> list[tuple[Phrase | None, PlannedRevision]]:
    """Write the plan's phrase rows (call inside a transaction); return (row, entry) per entry.

    Deletions and renames go first so that a text freed by one entry can be taken by another.
    """
    written: list[tuple[Phrase | None, PlannedRevision]] = []
    rows = {p.pk: p for p in Phrase.objects.select_for_update().filter(pk__in=[r.phrase_id for r in plan.revisions if r.phrase_id])}
    ordered = sorted(plan.revisions, key=lambda r: (r.after is not None, r.phrase_id is None))
    for entry in ordered:
        phrase = rows.get(entry.phrase_id) if entry.phrase_id is not None else None
        if entry.phrase_id is not None and phrase is None:
            raise PhraseEditConflict("A phrase of this change was deleted meanwhile; reload and try again.")
        if phrase is not None and entry.before is not None and phrase_state(phrase) != entry.before:
            raise PhraseEditConflict(f"Phrase {phrase.pk} was changed meanwhile; reload and try again.")
        if entry.after is None:
            assert phrase is not None
            try:
                with transaction.atomic():
                    phrase.delete()
            except ProtectedError:
                # Something (a judgement) points at it: keep the row, switched off.
                phrase.enabled = False
                phrase.save(update_fields=["enabled", "updated_at"])
                written.append((phrase, PlannedRevision(entry.phrase_id, entry.before, phrase_state(phrase))))
                continue
            written.append((None, entry))
            continue
        try:
            with transaction.atomic():
                if phrase is None:
                    phrase = Phrase.objects.create(label=plan.label, **entry.after)
                else:
                    for key, value in entry.after.items():
                        setattr(phrase, key, value)
                    phrase.save(update_fields=[*entry.after, "updated_at"])
        except IntegrityError as exc:
            raise PhraseEditConflict(f"{entry.after['text']!r} is already a phrase of {plan.label.name}.") from exc
        written.append((phrase, entry))
    return written


class _Rollback(Exception):
    pass


def engine_schema_after(*, protocol: Protocol, plan: PhrasePlan) -> Schema:
    """The engine schema the protocol would read once `plan` is saved (nothing is kept).

    The plan is written inside a savepoint and schema_to_engine reads it back, then the savepoint
    is rolled back: the preview builds its schema on exactly the path the relabel will use.
    """
    schema = schema_for_protocol(protocol)
    holder: list[Schema] = []
    try:
        with transaction.atomic():
            _plan_write(plan)
            holder.append(schema_to_engine(schema))
            raise _Rollback
    except _Rollback:
        pass
    return holder[0]


def _running_relabel(protocol: Protocol) -> Job | None:
    return Job.objects.filter(protocol=protocol, kind=RELABEL_JOB, status=JobStatus.RUNNING).first()


def phrase_change_save(
    *,
    protocol: Protocol,
    plan: PhrasePlan,
    actor: AbstractBaseUser | None,
    reason: str = "",
    revert_of: PhraseChange | None = None,
    preview: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    channel: str = "page",
    enqueue: Callable[[int], object] | None = None,
) -> PhraseChange:
    """Write the plan, its history and the relabel job in one transaction; return the change.

    A relabel already running reads the old phrases to its end, so saving now would leave its
    work to be redone by the next one at best: refused with PhraseEditConflict instead (the page
    links the running job). A queued relabel is reused: it reads the phrases when it starts.
    `enqueue` replaces the Celery send (the benchmark runs the job in its own process).
    """
    schema = schema_for_protocol(protocol)
    with transaction.atomic():
        Protocol.objects.select_for_update().filter(pk=protocol.pk).first()
        running = _running_relabel(protocol)
        if running is not None:
            raise PhraseEditConflict(f"Relabel job {running.pk} is running; save again when it has finished.")
        hash_before = schema_to_engine(schema).phrase_set_hash()
        written = _plan_write(plan)
        hash_after = schema_to_engine(schema).phrase_set_hash()
        change = PhraseChange.objects.create(
            label=plan.label,
            kind=PhraseChangeKind.REVERT if revert_of is not None else PhraseChangeKind.EDIT,
            actor=actor,
            reason=reason.strip()[:2000],
            revert_of=revert_of,
            hash_before=hash_before,
            hash_after=hash_after,
            preview=preview or {},
        )
        PhraseRevision.objects.bulk_create(
            [PhraseRevision(change=change, phrase=phrase, before=entry.before, after=entry.after) for phrase, entry in written]
        )
        change.job = relabel_start(protocol=protocol, actor=actor, enqueue=enqueue)
        change.save(update_fields=["job"])
        audit_record(
            actor=actor,
            action=AUDIT_PHRASE_CHANGE,
            obj=change,
            protocol=protocol,
            request=request,
            channel=channel,
            detail={
                "label": plan.label.pk,
                "phrases": [phrase.pk for phrase, _ in written if phrase is not None],
                "revisions": len(written),
                "job": change.job.pk,
                "revert_of": revert_of.pk if revert_of is not None else None,
            },
        )
    return change


def phrase_change_revert(
    *,
    protocol: Protocol,
    change: PhraseChange,
    actor: AbstractBaseUser | None,
    reason: str = "",
    request: HttpRequest | None = None,
    channel: str = "page",
) -> PhraseChange:
    """Put the phrases of `change` back as they were, as a new change with its own relabel."""
    plan = phrase_revert_plan(change=change)
    return phrase_change_save(
        protocol=protocol, plan=plan, actor=actor, reason=reason or f"Revert of change {change.pk}",
        revert_of=change, request=request, channel=channel,
    )


def phrase_edit_from_lists(
    *, add: Iterable[str] = (), disable: Iterable[str] = (), order: Iterable[str] = ()
) -> PhraseEdit:
    """The API's edit shape: {"add": [...], "disable": [...], "order": [...]} (order optional:
    the phrases named first, in that order, then the label's others as they were)."""
    return PhraseEdit(add=tuple(add), disable=tuple(disable), order_texts=tuple(order))
