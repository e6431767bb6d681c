"""An import that adds or changes reports queues a relabel, so new reports get soft labels.

annotation registers the listener with reports.hooks in AnnotationConfig.ready(); the import
calls it once its transaction has committed. Only the Celery send is replaced: it leaves the
process. The queued job is then run as a worker would run it.
"""
from __future__ import annotations

import pytest

from annotation.apps import RELABEL_JOB
from annotation.models import SoftLabel
from annotation.tasks import relabel_protocol_task
from reports.models import Job, JobStatus, Report
from reports.services.imports import ImportRejected, report_import

pytestmark = pytest.mark.django_db

HEADER = "accession,patient,text\n"
FIRST = HEADER + "IR1,P1,FINDINGS: Acute subdural hematoma.\nIR2,P2,FINDINGS: No hemorrhage.\n"


@pytest.fixture
def sent(monkeypatch):
    """The relabel job ids sent to the broker (outside the process, so the send is replaced)."""
    ids: list[int] = []
    monkeypatch.setattr(
        "reports.services.jobs.job_enqueue", lambda job_id, kind: ids.append(job_id) if kind == RELABEL_JOB else None
    )
    return ids


@pytest.fixture
def import_file(tmp_path, curator, django_capture_on_commit_callbacks):
    def run(protocol, content: str, name: str = "reports.csv"):
        path = tmp_path / name
        path.write_text(content)
        # The listener runs on commit: execute the callbacks as a committed transaction would.
        with django_capture_on_commit_callbacks(execute=True):
            return report_import(protocol=protocol, path=path, fmt="csv", actor=curator, channel="command")

    return run


def _relabels(protocol):
    return Job.objects.filter(protocol=protocol, kind=RELABEL_JOB)


def test_an_import_that_adds_reports_queues_a_relabel_that_labels_them(ct_protocol, import_file, sent):
    import_file(ct_protocol, FIRST)

    job = _relabels(ct_protocol).get()
    assert job.status == JobStatus.QUEUED
    assert job.created_by is None
    assert sent == [job.pk]
    relabel_protocol_task(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    labelled = set(SoftLabel.objects.values_list("report__study__accession", flat=True))
    assert labelled == {"IR1", "IR2"}


def test_an_import_that_changes_nothing_queues_no_relabel(ct_protocol, import_file, sent):
    import_file(ct_protocol, FIRST)
    relabel_protocol_task(_relabels(ct_protocol).get().pk)

    result = import_file(ct_protocol, FIRST)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert _relabels(ct_protocol).count() == 1
    assert len(sent) == 1


def test_an_import_that_changes_a_report_text_queues_a_relabel(ct_protocol, import_file, sent):
    import_file(ct_protocol, FIRST)
    relabel_protocol_task(_relabels(ct_protocol).get().pk)

    result = import_file(ct_protocol, HEADER + "IR2,P2,FINDINGS: Small subdural hematoma.\n")

    assert result.updated == 1
    latest = _relabels(ct_protocol).order_by("-id").first()
    assert _relabels(ct_protocol).count() == 2
    relabel_protocol_task(latest.pk)
    value = SoftLabel.objects.get(report__study__accession="IR2", label__name="Hemorrhage").value
    assert value == "positive"


def test_no_second_relabel_while_one_is_queued(ct_protocol, import_file, sent):
    import_file(ct_protocol, FIRST)
    import_file(ct_protocol, HEADER + "IR3,P3,FINDINGS: Midline shift.\n")

    job = _relabels(ct_protocol).get()
    assert sent == [job.pk]
    # The one queued job reads the stale reports when it starts, so it covers both imports.
    relabel_protocol_task(job.pk)
    assert Report.objects.filter(study__protocol=ct_protocol, soft_labels__isnull=False).distinct().count() == 3


def test_no_second_relabel_while_one_is_running(ct_protocol, import_file, sent):
    import_file(ct_protocol, FIRST)
    _relabels(ct_protocol).update(status=JobStatus.RUNNING)

    import_file(ct_protocol, HEADER + "IR3,P3,FINDINGS: Midline shift.\n")

    assert _relabels(ct_protocol).count() == 1
    assert len(sent) == 1


def test_a_rejected_import_queues_no_relabel(ct_protocol, import_file, sent):
    with pytest.raises(ImportRejected):
        import_file(ct_protocol, HEADER + "IR1,P1,\n")

    assert not _relabels(ct_protocol).exists()
    assert sent == []


def test_each_protocol_gets_its_own_relabel(ct_protocol, other_protocol, import_file, sent):
    import_file(ct_protocol, FIRST)
    import_file(other_protocol, FIRST, name="other.csv")

    assert _relabels(ct_protocol).count() == 1
    assert _relabels(other_protocol).count() == 1
    assert len(sent) == 2
