from __future__ import annotations

import pytest

from annotation.apps import RELABEL_JOB
from annotation.engine import ENGINE_VERSION
from annotation.models import SoftLabel
from annotation.services.relabel import relabel_protocol
from annotation.services.schemas import schema_to_engine
from reports.models import Job, JobStatus, ReviewState, Study
from reports.services.jobs import job_start, job_succeed
from tests.annotation.factories import SoftLabelFactory

pytestmark = pytest.mark.django_db

BLEED = "FINDINGS: Acute subdural hematoma over the left convexity. There is no midline shift."
SHIFT_ONLY = "FINDINGS: There is 4 mm midline shift to the right."
NORMAL = "FINDINGS: Normal CT of the head."


def _labels(report) -> dict[str, str]:
    return dict(SoftLabel.objects.filter(report=report).values_list("label__name", "value"))


def _relabel_as_job(protocol, **kwargs):
    """Run a relabel the way the task does, so the pass is recorded on a succeeded job."""
    job = job_start(job_id=Job.objects.create(kind=RELABEL_JOB, protocol=protocol).pk)
    counts = relabel_protocol(protocol=protocol, job=job, **kwargs)
    job_succeed(job=job, result=counts)
    return counts, job


def test_it_writes_soft_labels_with_evidence_offsets_into_the_report_text(ct_protocol, make_report):
    report = make_report(ct_protocol, BLEED)

    counts = relabel_protocol(protocol=ct_protocol)

    assert counts["reports"] == 1
    assert _labels(report) == {"Hemorrhage": "positive", "Midline Shift": "negative"}
    hemorrhage = SoftLabel.objects.get(report=report, label__name="Hemorrhage")
    [evidence] = hemorrhage.evidence
    assert report.text[evidence["start"]:evidence["end"]] == "hematoma"
    assert evidence["phrase"] == "hematoma"
    assert evidence["section"] == "findings"
    assert "text" not in evidence
    shift = SoftLabel.objects.get(report=report, label__name="Midline Shift")
    assert "NEGATED_EXISTENCE" in shift.evidence[0]["modifiers"]
    assert shift.p < 0.5 < hemorrhage.p


def test_each_soft_label_records_the_engine_version_and_phrase_set_hash(ct_protocol, make_report):
    make_report(ct_protocol, BLEED)

    counts = relabel_protocol(protocol=ct_protocol)

    expected_hash = schema_to_engine(ct_protocol.label_schema).phrase_set_hash()
    assert counts["phrase_set_hash"] == expected_hash
    assert set(SoftLabel.objects.values_list("engine_version", "phrase_set_hash")) == {(ENGINE_VERSION, expected_hash)}


def test_a_second_relabel_skips_reports_that_cannot_change(ct_protocol, make_report):
    make_report(ct_protocol, BLEED)
    make_report(ct_protocol, NORMAL)  # no label mentioned: no row, covered by the recorded pass
    _relabel_as_job(ct_protocol)
    stamps = list(SoftLabel.objects.order_by("pk").values_list("pk", "updated_at"))

    counts, _ = _relabel_as_job(ct_protocol)

    assert (counts["reports"], counts["skipped"]) == (0, 2)
    assert list(SoftLabel.objects.order_by("pk").values_list("pk", "updated_at")) == stamps


def test_without_a_recorded_pass_only_reports_without_soft_labels_are_read_again(ct_protocol, make_report):
    make_report(ct_protocol, BLEED)
    make_report(ct_protocol, NORMAL)
    relabel_protocol(protocol=ct_protocol)

    assert relabel_protocol(protocol=ct_protocol)["reports"] == 1


def test_a_forced_relabel_reads_every_report(ct_protocol, make_report):
    make_report(ct_protocol, BLEED)
    make_report(ct_protocol, SHIFT_ONLY)
    _relabel_as_job(ct_protocol)

    stamps = dict(SoftLabel.objects.values_list("pk", "updated_at"))

    counts, _ = _relabel_as_job(ct_protocol, force=True)

    assert counts["reports"] == 2
    # Nothing changed, so no row is rewritten; each is re-stamped as read by this pass.
    assert (counts["written"], counts["unchanged"], counts["removed"]) == (0, 3, 0)
    assert all(s.updated_at > stamps[s.pk] for s in SoftLabel.objects.all())


def test_a_changed_report_is_relabelled(ct_protocol, make_report):
    report = make_report(ct_protocol, BLEED)
    make_report(ct_protocol, SHIFT_ONLY)
    _relabel_as_job(ct_protocol)

    report.text = NORMAL
    report.save()
    counts, _ = _relabel_as_job(ct_protocol)

    assert counts["reports"] == 1
    assert _labels(report) == {}


def test_labels_that_became_absent_are_removed_after_a_phrase_is_disabled(ct_protocol, make_report):
    report = make_report(ct_protocol, BLEED)
    shift = make_report(ct_protocol, SHIFT_ONLY)
    _relabel_as_job(ct_protocol)
    ct_protocol.label_schema.labels.get(name="Hemorrhage").phrases.filter(text="hematoma").update(enabled=False)

    counts, _ = _relabel_as_job(ct_protocol)

    assert counts["reports"] == 2  # every report is stale: the phrase set changed
    assert (counts["written"], counts["unchanged"], counts["removed"]) == (0, 2, 1)
    assert _labels(report) == {"Midline Shift": "negative"}
    assert _labels(shift) == {"Midline Shift": "positive"}
    new_hash = schema_to_engine(ct_protocol.label_schema).phrase_set_hash()
    assert set(SoftLabel.objects.values_list("phrase_set_hash", flat=True)) == {new_hash}


def test_studies_with_uncertain_or_doubtful_labels_come_first(ct_protocol, make_report):
    sure = make_report(ct_protocol, "FINDINGS: Large acute hematoma. There is midline shift.").study
    hedged = make_report(ct_protocol, "FINDINGS: Possible small bleed.").study
    nothing = make_report(ct_protocol, NORMAL).study

    relabel_protocol(protocol=ct_protocol)

    order = list(
        Study.objects.filter(protocol=ct_protocol).order_by("-informativeness", "pk").values_list("pk", flat=True)
    )
    assert order == [hedged.pk, sure.pk, nothing.pk]
    assert Study.objects.get(pk=nothing.pk).informativeness == 0.0
    assert Study.objects.get(pk=hedged.pk).informativeness == pytest.approx(1.0)


def test_it_leaves_other_protocols_and_the_confirmation_state_of_studies_alone(
    ct_protocol, other_protocol, make_report
):
    report = make_report(ct_protocol, BLEED)
    Study.objects.filter(pk=report.study_id).update(version=7, review_state=ReviewState.DONE, reads_done=2)
    other = SoftLabelFactory(report=make_report(other_protocol, BLEED), p=0.42, engine_version="old")
    other_before = SoftLabel.objects.filter(pk=other.pk).values().get()

    relabel_protocol(protocol=ct_protocol, force=True)

    study = Study.objects.get(pk=report.study_id)
    assert (study.version, study.review_state, study.reads_done) == (7, ReviewState.DONE, 2)
    assert SoftLabel.objects.filter(pk=other.pk).values().get() == other_before


def test_it_reports_progress_on_its_job_batch_by_batch(ct_protocol, make_report):
    for _ in range(5):
        make_report(ct_protocol, BLEED)

    counts, job = _relabel_as_job(ct_protocol, batch_size=2)

    job.refresh_from_db()
    assert counts["reports"] == 5
    assert (job.status, job.total, job.done) == (JobStatus.SUCCEEDED, 5, 5)
    assert job.result["phrase_set_hash"] == counts["phrase_set_hash"]
    assert SoftLabel.objects.count() == 10


def test_soft_labels_of_a_label_no_longer_in_the_schema_are_removed(ct_protocol, make_report):
    report = make_report(ct_protocol, BLEED)
    stray = SoftLabelFactory(report=report)  # a label of another schema, e.g. before a schema switch

    relabel_protocol(protocol=ct_protocol)

    assert not SoftLabel.objects.filter(pk=stray.pk).exists()


def test_a_relabel_that_changes_a_soft_label_leaves_confirmations_as_they_were(ct_protocol, make_report, radiologist):
    from annotation.models import Confirmation, ConfirmationLabel, ConfirmValue

    report = make_report(ct_protocol, BLEED)
    relabel_protocol(protocol=ct_protocol)
    hemorrhage = ct_protocol.label_schema.labels.get(name="Hemorrhage")
    confirmation = Confirmation.objects.create(study=report.study, reader=radiologist, study_version=1)
    ConfirmationLabel.objects.create(
        confirmation=confirmation, label=hemorrhage, value=ConfirmValue.POSITIVE, soft_value="positive", soft_p=0.9
    )
    Study.objects.filter(pk=report.study_id).update(version=1, reads_done=1, review_state=ReviewState.DONE)
    before = (list(Confirmation.objects.values()), list(ConfirmationLabel.objects.values()))
    hemorrhage.phrases.filter(text="hematoma").update(enabled=False)

    relabel_protocol(protocol=ct_protocol)

    assert not SoftLabel.objects.filter(report=report, label=hemorrhage).exists()  # the soft label went
    assert (list(Confirmation.objects.values()), list(ConfirmationLabel.objects.values())) == before
    study = Study.objects.get(pk=report.study_id)
    assert (study.version, study.reads_done, study.review_state) == (1, 1, ReviewState.DONE)
