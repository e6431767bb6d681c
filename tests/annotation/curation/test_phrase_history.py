"""Every phrase change is a versioned record with one-click revert; confirmed labels never move."""
from __future__ import annotations

import pytest

from annotation.models import (
    Confirmation,
    ConfirmationLabel,
    Label,
    Phrase,
    PhraseChange,
    PhraseChangeKind,
    SoftLabel,
)
from annotation.services.phrases import (
    PhraseEdit,
    PhraseEditConflict,
    PhraseEditInvalid,
    phrase_change_revert,
    phrase_change_save,
    phrase_edit_plan,
)
from tests.annotation.curation.conftest import relabel_as_job

pytestmark = pytest.mark.django_db

BLEED = "FINDINGS: Acute subdural bleed. No midline shift."
HEMATOMA = "FINDINGS: Small hematoma."


def _save(protocol, curator, **edit):
    label = Label.objects.get(schema=protocol.label_schema, name="Hemorrhage")
    plan = phrase_edit_plan(protocol=protocol, label=label, edit=PhraseEdit(**edit))
    return phrase_change_save(protocol=protocol, plan=plan, actor=curator, reason="test")


def _phrases(protocol) -> dict[str, bool]:
    return dict(Phrase.objects.filter(label__name="Hemorrhage", label__schema=protocol.label_schema).values_list("text", "enabled"))


def test_a_change_records_who_when_before_and_after(ct_protocol, curator):
    hematoma = Phrase.objects.get(text="hematoma")

    change = _save(ct_protocol, curator, add=("clot",), disable=("hematoma",), rename=((hematoma.pk, "haematoma"),))

    assert change.actor == curator
    assert change.kind == PhraseChangeKind.EDIT
    assert change.hash_before != change.hash_after
    revisions = {(r.before or {}).get("text"): r.after for r in change.revisions.all()}
    assert revisions[None] == {"text": "clot", "kind": "mention", "enabled": True, "order": 2}
    assert revisions["hematoma"]["text"] == "haematoma"
    assert revisions["hematoma"]["enabled"] is False


def test_revert_puts_every_phrase_back_and_deletes_an_added_one(ct_protocol, curator):
    before = _phrases(ct_protocol)
    change = _save(ct_protocol, curator, add=("clot",), disable=("hematoma",))

    revert = phrase_change_revert(protocol=ct_protocol, change=change, actor=curator)

    assert _phrases(ct_protocol) == before
    assert revert.revert_of == change
    assert revert.kind == PhraseChangeKind.REVERT
    assert revert.hash_after == change.hash_before
    assert revert.job_id is not None


def test_a_revert_can_be_reverted_again(ct_protocol, curator):
    change = _save(ct_protocol, curator, disable=("hematoma",))
    revert = phrase_change_revert(protocol=ct_protocol, change=change, actor=curator)

    phrase_change_revert(protocol=ct_protocol, change=revert, actor=curator)

    assert _phrases(ct_protocol)["hematoma"] is False


def test_revert_is_refused_under_a_later_change_of_the_same_phrase(ct_protocol, curator):
    first = _save(ct_protocol, curator, disable=("hematoma",))
    later = _save(ct_protocol, curator, enable=("hematoma",))

    with pytest.raises(PhraseEditConflict, match="revert the later change first"):
        phrase_change_revert(protocol=ct_protocol, change=first, actor=curator)

    phrase_change_revert(protocol=ct_protocol, change=later, actor=curator)
    phrase_change_revert(protocol=ct_protocol, change=first, actor=curator)
    assert _phrases(ct_protocol)["hematoma"] is True
    with pytest.raises(PhraseEditConflict, match="already reverted"):
        phrase_change_revert(protocol=ct_protocol, change=first, actor=curator)


def test_disabling_an_inferred_phrase_stores_it_disabled(ct_protocol, curator):
    _save(ct_protocol, curator, disable=("bleed",))

    assert _phrases(ct_protocol)["bleed"] is False


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"add": ("hematoma",)}, "already an enabled phrase"),
        ({"add": ("clot",), "disable": ("clot",)}, "both"),
        ({"enable": ("hematoma",)}, "already enabled"),
        ({}, "empty"),
    ],
)
def test_contradictory_or_empty_edits_are_refused(ct_protocol, curator, edit, message):
    with pytest.raises(PhraseEditInvalid, match=message):
        _save(ct_protocol, curator, **edit)
    assert not PhraseChange.objects.exists()


def test_a_relabel_after_a_change_never_touches_confirmed_labels(ct_protocol, curator, radiologist, make_reports):
    bleed, _ = make_reports(ct_protocol, BLEED, HEMATOMA)
    relabel_as_job(ct_protocol)
    label = Label.objects.get(schema=ct_protocol.label_schema, name="Hemorrhage")
    confirmation = Confirmation.objects.create(study=bleed.study, reader=radiologist, study_version=1)
    ConfirmationLabel.objects.create(confirmation=confirmation, label=label, value="positive", soft_value="positive", soft_p=0.9)
    kept = list(ConfirmationLabel.objects.values_list("pk", "value", "soft_value", "soft_p"))

    change = _save(ct_protocol, curator, disable=("bleed",))
    relabel_as_job(ct_protocol, change.job)

    assert not SoftLabel.objects.filter(report=bleed, label=label).exists()
    assert list(ConfirmationLabel.objects.values_list("pk", "value", "soft_value", "soft_p")) == kept
    confirmation.refresh_from_db()
    assert confirmation.is_current


def test_a_revert_restores_soft_labels_an_earlier_pass_wrote(ct_protocol, curator, make_reports):
    # The pass of the reverted-to phrase set wrote this label; the edit's pass removed it. The
    # relabel after the revert must not count the report as covered by that older pass.
    bleed, _ = make_reports(ct_protocol, BLEED, HEMATOMA)
    relabel_as_job(ct_protocol)
    change = _save(ct_protocol, curator, disable=("bleed",))
    relabel_as_job(ct_protocol, change.job)
    assert not SoftLabel.objects.filter(report=bleed, label__name="Hemorrhage").exists()

    revert = phrase_change_revert(protocol=ct_protocol, change=change, actor=curator)
    relabel_as_job(ct_protocol, revert.job)

    assert SoftLabel.objects.filter(report=bleed, label__name="Hemorrhage").exists()
