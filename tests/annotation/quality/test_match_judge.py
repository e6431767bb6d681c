"""match_judge and phrase_precision_apply: validated spans, one row per judge, audited."""
from __future__ import annotations

import pytest

from annotation.audit import AUDIT_MATCH_JUDGE, AUDIT_PRECISION_APPLY
from annotation.models import MatchJudgement, Phrase
from annotation.services.judgements import (
    JudgementInvalid,
    match_judge,
    phrase_precision_apply,
)
from reports.models import AccessEvent
from tests.annotation.quality.conftest import TEXT, span

pytestmark = pytest.mark.django_db


def test_it_records_a_verdict_on_a_current_match_with_its_phrase(protocol, label, make_report, curator):
    ev = span(TEXT, "pleural effusion")
    report = make_report(evidence=[ev])
    judgement = match_judge(
        actor=curator, protocol=protocol, report=report, label=label, start=ev["start"], end=ev["end"],
        verdict="wrong", note=" not this one ",
    )
    assert (judgement.verdict, judgement.note, judgement.phrase_text) == ("wrong", "not this one", "pleural effusion")
    assert judgement.phrase == Phrase.objects.get(label=label, text="pleural effusion")
    event = AccessEvent.objects.get(action=AUDIT_MATCH_JUDGE)
    assert event.user == curator
    assert event.protocol == protocol
    assert event.detail["verdict"] == "wrong"
    assert "effusion" not in str(event.detail)


def test_judging_again_updates_the_same_row_and_audits_each_time(protocol, label, make_report, curator):
    ev = span(TEXT, "pleural effusion")
    report = make_report(evidence=[ev])
    for verdict in ("wrong", "right"):
        match_judge(actor=curator, protocol=protocol, report=report, label=label, start=ev["start"], end=ev["end"], verdict=verdict)
    assert list(MatchJudgement.objects.values_list("verdict", flat=True)) == ["right"]
    assert AccessEvent.objects.filter(action=AUDIT_MATCH_JUDGE).count() == 2


def test_it_refuses_a_span_that_is_not_a_current_match(protocol, label, make_report, curator):
    report = make_report()
    with pytest.raises(JudgementInvalid, match="not a current match"):
        match_judge(actor=curator, protocol=protocol, report=report, label=label, start=0, end=8, verdict="right")
    assert not MatchJudgement.objects.exists()


def test_it_refuses_an_unknown_verdict(protocol, label, make_report, curator):
    ev = span(TEXT, "pleural effusion")
    with pytest.raises(JudgementInvalid, match="right or wrong"):
        match_judge(actor=curator, protocol=protocol, report=make_report(), label=label, start=ev["start"], end=ev["end"], verdict="maybe")


def test_measured_precision_becomes_the_prior_once_enough_matches_are_judged(protocol, label, make_report, curator):
    ev = span(TEXT, "pleural effusion")
    for verdict in ["right"] * 3 + ["wrong"]:
        report = make_report(evidence=[ev])
        match_judge(actor=curator, protocol=protocol, report=report, label=label, start=ev["start"], end=ev["end"], verdict=verdict)
    assert phrase_precision_apply(actor=curator, protocol=protocol, label=label, min_judged=5) == {}
    changed = phrase_precision_apply(actor=curator, protocol=protocol, label=label, min_judged=4)
    pleural = Phrase.objects.get(label=label, text="pleural effusion")
    assert changed == {pleural.pk: round(3.5 / 5, 4)}  # Jeffreys posterior mean (3 + 1/2) / (4 + 1)
    pleural.refresh_from_db()
    assert pleural.precision == 0.7
    assert Phrase.objects.get(label=label, text="effusion").precision is None
    events = AccessEvent.objects.filter(action=AUDIT_PRECISION_APPLY).order_by("id")
    assert events.count() == 2
    assert events.last().detail["phrases"] == {str(pleural.pk): [None, 0.7]}  # before, after
