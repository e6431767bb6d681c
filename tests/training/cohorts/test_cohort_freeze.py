"""training.services.cohorts: hash stability, splits without leakage, policies, sources, filters."""
from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest

from annotation.services.adjudicate import adjudication_submit
from reports.models import Study
from tests.training.cohorts.conftest import LABELS, agree, make_study, read, soft
from training.models import Cohort, CohortStudy
from training.services.cohorts import (
    CohortEmpty,
    CohortInvalid,
    CohortRow,
    cohort_freeze,
    cohort_hash,
    cohort_spec_build,
    split_assign,
)

pytestmark = pytest.mark.django_db


def freeze(protocol, scientist, **data):
    spec = cohort_spec_build(protocol=protocol, data={"name": "chest", "labels": list(LABELS), **data})
    return cohort_freeze(spec=spec, actor=scientist)


def test_same_request_twice_gives_the_same_hash_and_a_new_version(protocol, confirmed, scientist):
    first = freeze(protocol, scientist, seed=7)
    second = freeze(protocol, scientist, seed=7, labels=list(reversed(LABELS)))  # order does not matter
    assert (first.version, second.version) == (1, 2)
    assert first.sha256 == second.sha256
    assert len(first.sha256) == 64
    assert first.export_sha256 == second.export_sha256
    assert first.study_count == 12
    assert sum(first.splits.values()) == 12


def test_the_name_does_not_change_the_hash_but_the_content_does(protocol, confirmed, scientist):
    base = freeze(protocol, scientist, seed=7)
    assert freeze(protocol, scientist, seed=7, name="other").sha256 == base.sha256
    assert freeze(protocol, scientist, seed=7, uncertain="u-ones").sha256 != base.sha256
    assert freeze(protocol, scientist, seed=7, labels=["Edema"]).sha256 != base.sha256


def test_the_hash_ignores_the_order_rows_come_in():
    rows = [CohortRow(study_id=i, group=f"patient:P{i % 4}", text_sha256="0" * 64, values=("positive",),
                      targets=(1,), sources=("confirmed",), p=(1.0,), split="train") for i in range(10)]
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert cohort_hash({"a": 1}, rows) == cohort_hash({"a": 1}, shuffled)


def test_different_seeds_give_different_splits(protocol, labels, radiologist, curator, scientist):
    for index in range(30):
        agree(make_study(protocol, patient=f"PS{index}"), radiologist, curator,
              {"Cardiomegaly": "positive" if index % 2 else "negative", "Edema": "negative", "Pleural Effusion": "negative"})
    splits = {}
    for seed in (1, 2):
        cohort = freeze(protocol, scientist, seed=seed)
        splits[seed] = dict(CohortStudy.objects.filter(cohort=cohort).values_list("study_id", "split"))
        assert sum(cohort.splits.values()) == 30
        assert min(cohort.splits.values()) >= 4
    assert splits[1] != splits[2]
    assert freeze(protocol, scientist, seed=1).sha256 == Cohort.objects.filter(params__seed=1).first().sha256


def test_no_patient_is_in_two_splits(protocol, confirmed, scientist):
    cohort = freeze(protocol, scientist, seed=3)
    seen: dict[str, set[str]] = defaultdict(set)
    for row in CohortStudy.objects.filter(cohort=cohort).select_related("study__patient"):
        key = row.study.patient.pseudonym if row.study.patient else f"none-{row.study_id}"
        seen[key].add(row.split)
    assert all(len(splits) == 1 for splits in seen.values())
    # Studies without a patient are their own unit, never grouped with each other.
    assert CohortStudy.objects.filter(cohort=cohort, group__startswith="study:").count() == 2


def test_split_assign_keeps_patients_whole_and_follows_the_fractions():
    rng = random.Random(0)
    rows = [
        CohortRow(study_id=i, group=f"patient:{rng.randrange(400)}" if i % 10 else f"study:{i}", text_sha256="",
                  values=(), targets=(rng.choice((0, 1, None)), rng.choice((0, 1))), sources=(), p=())
        for i in range(1000)
    ]
    split_assign(rows, seed=5, fractions={"train": 0.7, "validation": 0.15, "test": 0.15})
    by_group: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        by_group[row.group].add(row.split)
    assert all(len(s) == 1 for s in by_group.values())
    counts = {name: sum(row.split == name for row in rows) for name in ("train", "validation", "test")}
    assert abs(counts["train"] - 700) <= 10
    assert abs(counts["validation"] - 150) <= 10


def test_split_assign_stratifies_the_positives():
    rows = [CohortRow(study_id=i, group=f"patient:{i}", text_sha256="", values=(), targets=(int(i % 10 == 0),),
                      sources=(), p=()) for i in range(400)]
    split_assign(rows, seed=1, fractions={"train": 0.7, "validation": 0.15, "test": 0.15})
    positives = {name: sum(r.split == name and r.targets[0] == 1 for r in rows) for name in ("train", "validation", "test")}
    assert positives == {"train": 28, "validation": 6, "test": 6}


@pytest.mark.parametrize(("policy", "target"), [("u-ignore", None), ("u-zeros", 0), ("u-ones", 1)])
def test_uncertain_policy_maps_the_target_and_keeps_the_raw_value(protocol, confirmed, scientist, policy, target):
    cohort = freeze(protocol, scientist, uncertain=policy)
    row = CohortStudy.objects.get(cohort=cohort, study=confirmed[0])  # Edema uncertain, Cardiomegaly positive
    assert row.values["Edema"] == "uncertain"
    assert row.targets["Edema"] == target
    assert row.targets["Cardiomegaly"] == 1
    assert row.values["Pleural Effusion"] == "negative"
    assert row.targets["Pleural Effusion"] == 0
    assert cohort.params["uncertain"] == policy


def test_confirmed_only_leaves_out_pending_studies_and_soft_fills_them(protocol, labels, confirmed, radiologist, scientist):
    pending = make_study(protocol)
    read(pending, radiologist, {"Cardiomegaly": "positive"})
    soft(pending, labels[1], "positive", 0.8123456789)
    untouched = make_study(protocol)
    assert freeze(protocol, scientist).study_count == 12
    cohort = freeze(protocol, scientist, source="confirmed+soft")
    assert cohort.study_count == 14
    row = CohortStudy.objects.get(cohort=cohort, study=pending)
    assert row.sources == {"Cardiomegaly": "soft", "Edema": "soft", "Pleural Effusion": "soft"}
    assert row.values["Edema"] == "positive"
    assert row.p["Edema"] == 0.812346
    assert row.values["Cardiomegaly"] == "absent"
    assert row.p["Cardiomegaly"] == 0.0
    assert CohortStudy.objects.get(cohort=cohort, study=confirmed[0]).sources["Edema"] == "confirmed"
    assert CohortStudy.objects.get(cohort=cohort, study=untouched).values["Edema"] == "absent"
    assert cohort.summary["sources"]["Edema"] == {"confirmed": 12, "soft": 2}


def test_agreement_filter_separates_agreed_and_adjudicated(protocol, labels, confirmed, radiologist, curator, scientist):
    disputed = make_study(protocol)
    neg = {"Cardiomegaly": "negative", "Edema": "negative", "Pleural Effusion": "negative"}
    read(disputed, radiologist, neg)
    read(disputed, curator, {**neg, "Edema": "positive"})
    disputed = Study.objects.select_related("protocol").get(pk=disputed.pk)
    adjudication_submit(study=disputed, curator=curator, values=neg, version=disputed.version)
    assert freeze(protocol, scientist).study_count == 13
    assert freeze(protocol, scientist, agreement="agreed").study_count == 12
    only = freeze(protocol, scientist, agreement="adjudicated")
    assert only.study_count == 1
    assert CohortStudy.objects.get(cohort=only).study_id == disputed.pk


def test_modality_and_date_filters(protocol, labels, radiologist, curator, scientist):
    neg = {"Cardiomegaly": "negative", "Edema": "negative", "Pleural Effusion": "negative"}
    old = make_study(protocol, modality="DX", study_date=dt.date(2020, 1, 5))
    new = make_study(protocol, modality="CR", study_date=dt.date(2024, 6, 1))
    for study in (old, new):
        agree(study, radiologist, curator, neg)
    assert freeze(protocol, scientist, modality=["dx"]).study_count == 1
    assert freeze(protocol, scientist, date_from="2021-01-01").study_count == 1
    with pytest.raises(CohortEmpty, match="No study of the protocol matches"):
        freeze(protocol, scientist, date_to=dt.date(2019, 1, 1))


def test_no_final_label_says_why(protocol, labels, radiologist, scientist):
    read(make_study(protocol), radiologist, {})
    with pytest.raises(CohortEmpty, match="1 studies match the filters, but none has"):
        freeze(protocol, scientist)
    assert not Cohort.objects.exists()


def test_unknown_labels_and_values_are_refused(protocol, labels):
    with pytest.raises(CohortInvalid) as refused:
        cohort_spec_build(protocol=protocol, data={"name": "", "labels": ["Nope"], "source": "x", "date_from": "soon"})
    assert set(refused.value.errors) == {"name", "labels", "source", "date_from"}


def test_summary_counts_per_label_value_and_split(protocol, confirmed, scientist):
    cohort = freeze(protocol, scientist, seed=4)
    cardiomegaly = cohort.summary["labels"]["Cardiomegaly"]
    assert sum(sum(per_split.values()) for per_split in cardiomegaly.values()) == 12
    assert sum(cardiomegaly["positive"].values()) == 4
    rows = CohortStudy.objects.filter(cohort=cohort)
    for split, count in cardiomegaly["positive"].items():
        assert rows.filter(split=split, values__Cardiomegaly="positive").count() == count
