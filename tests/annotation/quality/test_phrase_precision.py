"""phrase_precision_for_label: judged matches and confirmations, counted by hand."""
from __future__ import annotations

import pytest

from annotation.metrics.intervals import beta_interval
from annotation.models import ConfirmationKind, MatchJudgement, Phrase
from annotation.selectors.precision import phrase_counts_by_text, phrase_precision_for_label
from tests.annotation.quality.conftest import TEXT, span
from tests.reports.factories import UserFactory

pytestmark = pytest.mark.django_db


def _judge(report, label, ev, verdict, judge):
    return MatchJudgement.objects.create(
        report=report, label=label, phrase_text=ev["phrase"], start=ev["start"], end=ev["end"], verdict=verdict, judge=judge
    )


def test_a_phrase_without_data_has_no_estimate_and_the_whole_interval(label):
    result = phrase_precision_for_label(label)
    assert set(result) == set(Phrase.objects.filter(label=label).values_list("pk", flat=True))
    for estimate in result.values():
        assert (estimate.estimate, estimate.low, estimate.high, estimate.judged) == (None, 0.0, 1.0, 0)


def test_judged_matches_give_right_over_judged_with_a_jeffreys_interval(label, make_report, curator):
    ev = span(TEXT, "pleural effusion")
    for verdict in ["right"] * 7 + ["wrong"] * 3:
        _judge(make_report(evidence=[ev]), label, ev, verdict, curator)
    pleural = Phrase.objects.get(label=label, text="pleural effusion")
    estimate = phrase_precision_for_label(label)[pleural.pk]
    expected = beta_interval(7, 10)
    assert (estimate.estimate, estimate.judged) == (0.7, 10)
    assert (estimate.low, estimate.high) == pytest.approx((expected.low, expected.high))
    # Beta(7.5, 3.5) quantiles, checked with mpmath's betainc: 0.394182, 0.907305
    assert estimate.low == pytest.approx(0.394182, abs=1e-6)
    assert estimate.high == pytest.approx(0.907305, abs=1e-6)


def test_the_latest_verdict_on_a_span_counts_once(label, make_report, curator):
    ev = span(TEXT, "pleural effusion")
    report = make_report(evidence=[ev])
    other = UserFactory(username="other-curator")
    _judge(report, label, ev, "wrong", curator)
    _judge(report, label, ev, "right", other)
    assert phrase_counts_by_text(label) == {"pleural effusion": (1, 1)}


def test_confirmations_count_affirmed_mentions_only(label, make_report, confirm):
    affirmed = span(TEXT, "pleural effusion")
    possible = span(TEXT, "effusion", ["POSSIBLE_EXISTENCE"], nth=1)
    # positive confirmation: right for "pleural effusion"; the uncertain "effusion" counts for nothing
    confirm(make_report(evidence=[affirmed, possible]).study, label, "positive")
    # negative and absent confirmations: wrong
    confirm(make_report(evidence=[affirmed]).study, label, "negative")
    confirm(make_report(evidence=[affirmed]).study, label, "absent")
    # uncertain confirmation: nothing
    confirm(make_report(evidence=[affirmed]).study, label, "uncertain")
    assert phrase_counts_by_text(label) == {"pleural effusion": (1, 3)}


def test_readers_who_disagree_count_for_nothing_unless_adjudicated(label, make_report, confirm):
    ev = span(TEXT, "pleural effusion")
    study = make_report(evidence=[ev]).study
    confirm(study, label, "positive")
    confirm(study, label, "negative")
    assert phrase_counts_by_text(label) == {}
    confirm(study, label, "negative", kind=ConfirmationKind.ADJUDICATION)
    assert phrase_counts_by_text(label) == {"pleural effusion": (0, 1)}


def test_a_judged_match_replaces_the_confirmation_of_the_same_report(label, make_report, confirm, curator):
    ev = span(TEXT, "pleural effusion")
    report = make_report(evidence=[ev])
    confirm(report.study, label, "negative")
    _judge(report, label, ev, "right", curator)
    assert phrase_counts_by_text(label) == {"pleural effusion": (1, 1)}


def test_counts_can_be_limited_to_one_protocol(label, make_report, curator, other_protocol):
    ev = span(TEXT, "pleural effusion")
    _judge(make_report(evidence=[ev]), label, ev, "right", curator)
    assert phrase_counts_by_text(label, protocol=other_protocol) == {}
    assert phrase_counts_by_text(label) == {"pleural effusion": (1, 1)}
