"""The job page reads a finished job's result through its kind's registered summary: DICOM imports
list their skipped files with the reason, kinds without counts show no blank count cells."""
from __future__ import annotations

import pytest
from django.urls import reverse

from reports.apps import DICOM_IMPORT_JOB, PACS_PULL_JOB
from reports.dicom.synthetic import write_series
from reports.jobs import registry
from reports.jobs.registry import TABLE_ROWS_SHOWN, JobSummary, result_table
from reports.models import Job, JobStatus
from reports.services.dicom import dicom_import_enqueue
from reports.tasks import import_dicom
from tests.reports.jobs.conftest import FAKE_KIND, FAKE_TASK

pytestmark = pytest.mark.django_db

PATIENT = "Doe^Jane"  # write_series' patient: must never reach the page


@pytest.fixture
def inbox(settings, tmp_path):
    settings.DICOM_STORAGE_DIR = tmp_path / "storage"
    settings.DICOM_IMPORT_ROOT = tmp_path / "inbox"
    return settings.DICOM_IMPORT_ROOT


def _import(inbox, protocol, curator, folder: str) -> Job:
    """Run a DICOM import job of an inbox folder the way the worker does (the task, in process)."""
    job = dicom_import_enqueue(protocol=protocol, folder=folder, actor=curator, channel="page")
    import_dicom(job.pk)
    return Job.objects.get(pk=job.pk)


def _page(client, job) -> str:
    return client.get(reverse("reports:job-detail", args=[job.pk])).content.decode()


def test_a_dicom_import_lists_its_skipped_files_relative_to_the_folder_with_the_reason(
    client_for, curator, protocol, inbox
):
    write_series(inbox / "batch" / "ct", shape=(4, 4, 2), patient_name=PATIENT)
    (inbox / "batch" / "notes").mkdir()
    (inbox / "batch" / "notes" / "readme.txt").write_text("Scanned on Tuesday.")
    (inbox / "batch" / "ct" / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    job = _import(inbox, protocol, curator, "batch")
    assert job.status == JobStatus.SUCCEEDED, job.message

    body = _page(client_for(curator), job)
    assert "<h2>Skipped files</h2>" in body
    assert "<td>notes/readme.txt</td><td>not a DICOM file</td>" in body
    reason = {item["path"]: item["reason"] for item in job.result["skipped"]}["ct/broken.dcm"]
    assert reason
    assert f"<td>ct/broken.dcm</td><td>{reason}</td>" in body
    headings = ("Studies", "Series", "Images", "New images", "Linked to a report", "Without a report", "Skipped files")
    assert "".join(f'<th scope="col">{h}</th>' for h in headings) in body
    assert "<td>1</td><td>1</td><td>2</td><td>2</td><td>0</td><td>1</td><td>2</td>" in body
    assert "Unchanged" not in body
    # Paths from the inbox folder down only, and nothing read from the files' headers.
    assert str(inbox) not in body
    assert "Doe" not in body


def test_a_dicom_import_that_read_nothing_lists_the_files_it_skipped(client_for, curator, protocol, inbox):
    (inbox / "texts").mkdir(parents=True)
    (inbox / "texts" / "a.txt").write_text("not an image")
    job = _import(inbox, protocol, curator, "texts")
    assert job.status == JobStatus.FAILED

    body = _page(client_for(curator), job)
    assert "<td>a.txt</td><td>not a DICOM file</td>" in body
    assert "<th scope=\"col\">Line</th>" not in body  # not shown as row errors with empty cells


def test_a_pacs_retrieval_shows_what_it_found_and_the_files_its_import_skipped(client_for, curator, protocol):
    imported = {"studies": 1, "series": 1, "instances": 3, "new_instances": 3, "linked": 1, "unlinked": [],
                "skipped": [{"path": "study1/000004.dcm", "reason": "no pixel data"}]}
    job = Job.objects.create(kind=PACS_PULL_JOB, protocol=protocol, status=JobStatus.SUCCEEDED,
                             result={"found": 1, "retrieved_files": 4, "not_found": 1, "imported": imported})
    body = _page(client_for(curator), job)
    assert "<td>1</td><td>4</td><td>1</td><td>3</td><td>1</td>" in body
    assert "<td>study1/000004.dcm</td><td>no pixel data</td>" in body


def test_an_absolute_path_in_a_result_shows_only_its_file_name(client_for, curator, protocol):
    job = Job.objects.create(kind=DICOM_IMPORT_JOB, protocol=protocol, status=JobStatus.SUCCEEDED,
                             result={"skipped": [{"path": "/srv/inbox/DOE_JANE/x.dcm", "reason": "not a DICOM file"}]})
    body = _page(client_for(curator), job)
    assert "<td>x.dcm</td>" in body
    assert "/srv/inbox" not in body
    assert "DOE_JANE" not in body


def test_a_long_skip_list_is_cut_and_says_how_many_more(client_for, curator, protocol):
    skipped = [{"path": f"f{n}.txt", "reason": "not a DICOM file"} for n in range(TABLE_ROWS_SHOWN + 7)]
    job = Job.objects.create(kind=DICOM_IMPORT_JOB, protocol=protocol, status=JobStatus.SUCCEEDED,
                             result={"skipped": skipped})
    body = _page(client_for(curator), job)
    assert body.count("<td>not a DICOM file</td>") == TABLE_ROWS_SHOWN
    assert "… and 7 more." in body


def test_a_kind_without_counts_shows_no_blank_count_cells(client_for, scientist, protocol):
    job = Job.objects.create(kind="cohort_freeze", protocol=protocol, status=JobStatus.SUCCEEDED,
                             message="Froze x v1: 3 studies", result={"cohort": 1, "studies": 3})
    body = _page(client_for(scientist), job)
    assert "Froze x v1: 3 studies" in body
    assert "<table" not in body


def test_a_new_kind_registers_how_its_result_reads(monkeypatch, client_for, curator, protocol):
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))

    def crunch_summary(job: Job) -> JobSummary:
        rows = [(name, score) for name, score in sorted(job.result["scores"].items())]
        return JobSummary(counts=(("Crunched", len(rows)),), tables=(result_table("Scores", ("Name", "Score"), rows),))

    registry.register_job_kind(FAKE_KIND, label="Crunch", task=FAKE_TASK, summary=crunch_summary)
    job = Job.objects.create(kind=FAKE_KIND, protocol=protocol, status=JobStatus.SUCCEEDED,
                             result={"scores": {"b": 2, "a": 1}})
    body = _page(client_for(curator), job)
    assert '<th scope="col">Crunched</th>' in body
    assert "<td>a</td><td>1</td>" in body
    assert "<td>b</td><td>2</td>" in body
