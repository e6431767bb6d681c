"""Demo confirmations: about a third of the demo studies already read by two readers.

So that a data scientist can freeze a cohort on a fresh `make run`, the seed reads a fixed third
of the demo studies as the radiologist and the curator would: mostly agreeing with the engine,
with a few corrections (a missed negation, a hedge settled one way) and a few disagreements
between the two, some of which the curator has adjudicated and some left in the adjudication
queue. Every decision goes through the real services (confirmation_submit, adjudication_submit),
so versions, review states, queue priorities and the audit log are what real reading makes.

Idempotent: a chosen study is read only while it has no confirmation at all and is untouched
(version 0), so a second run, or a study a person has read meanwhile, adds nothing.
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import TYPE_CHECKING

from annotation.models import Confirmation, ConfirmValue, SoftLabel
from annotation.selectors.queue import Soft, protocol_labels
from annotation.services.adjudicate import adjudication_submit
from annotation.services.confirm import confirmation_submit
from reports.models import ReviewState, Study

if TYPE_CHECKING:
    from config.demo.seed import DemoRun

SHARE = 1 / 3  # of the demo studies, read by both readers
CORRECTION_RATE = 0.08  # a study where both readers correct the engine on one label
DISAGREEMENT_RATE = 0.12  # a study where the two readers differ on one label
ADJUDICATED_SHARE = 0.5  # of the disagreements, settled by the curator already

# How a reader typically corrects the engine's value.
_CORRECTION = {
    ConfirmValue.POSITIVE: ConfirmValue.NEGATIVE,  # a negation the engine missed
    ConfirmValue.NEGATIVE: ConfirmValue.POSITIVE,
    ConfirmValue.UNCERTAIN: ConfirmValue.POSITIVE,  # a hedge the reader settles
    ConfirmValue.ABSENT: ConfirmValue.NEGATIVE,
}


def seed_confirmations(run: DemoRun) -> None:
    """Read a fixed third of the demo studies with both readers (see the module docstring)."""
    if not run.labels:
        return
    protocol = run.demo_protocol
    radiologist, curator = run.users["radiologist"], run.users["curator"]
    rng = random.Random(f"demo-confirmations:{run.seed}")
    all_ids = sorted(Study.objects.filter(protocol=protocol, report__isnull=False).values_list("id", flat=True))
    chosen = sorted(rng.sample(all_ids, round(len(all_ids) * SHARE))) if all_ids else []
    touched = set(Confirmation.objects.filter(study_id__in=chosen).values_list("study_id", flat=True))
    studies = [
        study for study in Study.objects.filter(pk__in=chosen, version=0).select_related("protocol").order_by("id")
        if study.pk not in touched
    ]
    if not studies:
        return
    labels = protocol_labels(protocol)
    soft: dict[int, dict[int, Soft]] = defaultdict(dict)
    for study_id, label_id, value, p in SoftLabel.objects.filter(report__study__in=studies).values_list(
        "report__study_id", "label_id", "value", "p"
    ):
        soft[study_id][label_id] = Soft(value=value, p=p, evidence=[])
    counts = {"read": 0, "corrected": 0, "disagreed": 0, "adjudicated": 0}
    for study in studies:
        # Draw every study's fate in the same order whatever was skipped, so reruns agree.
        engine = {label.name: soft[study.pk][label.pk].value if label.pk in soft[study.pk] else ConfirmValue.ABSENT for label in labels}
        first = dict(engine)
        if rng.random() < CORRECTION_RATE:
            name = _pick(rng, engine)
            first[name] = _CORRECTION[ConfirmValue(engine[name])]
            counts["corrected"] += 1
        second = dict(first)
        disagree = rng.random() < DISAGREEMENT_RATE
        if disagree:
            name = _pick(rng, engine)
            second[name] = _CORRECTION[ConfirmValue(first[name])]
            counts["disagreed"] += 1
        adjudicate = disagree and rng.random() < ADJUDICATED_SHARE
        times = (rng.randint(4000, 25000), rng.randint(4000, 25000), rng.randint(8000, 40000))
        for reader, values, spent in ((radiologist, first, times[0]), (curator, second, times[1])):
            confirmation_submit(
                study=study, reader=reader, values=values, version=study.version, time_spent_ms=spent,
                channel="command", labels=labels, soft=soft[study.pk],
            )
            study.refresh_from_db(fields=["version", "review_state", "reads_done", "queue_priority"])
        counts["read"] += 1
        if adjudicate and study.review_state == ReviewState.ADJUDICATION:
            final = {name: rng.choice((first[name], second[name])) for name in engine}
            adjudication_submit(
                study=study, curator=curator, values=final, version=study.version, time_spent_ms=times[2], channel="command"
            )
            counts["adjudicated"] += 1
    run.say(
        f"Demo confirmations: {counts['read']} studies read by two readers "
        f"({counts['corrected']} with a correction, {counts['disagreed']} disagreements, "
        f"{counts['adjudicated']} adjudicated)."
    )


def _pick(rng: random.Random, engine: dict[str, str]) -> str:
    """A label to change: one the engine found, more often than one it did not."""
    mentioned = sorted(name for name, value in engine.items() if value != ConfirmValue.ABSENT)
    if mentioned and rng.random() < 0.8:
        return rng.choice(mentioned)
    return rng.choice(sorted(engine))
