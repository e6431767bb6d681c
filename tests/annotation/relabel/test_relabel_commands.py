from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from annotation.apps import RELABEL_JOB
from annotation.models import SoftLabel
from reports.models import Job, JobStatus, Protocol
from reports.services.jobs import job_start

pytestmark = pytest.mark.django_db


def test_sync_relabels_in_process_and_records_the_job(ct_protocol, make_report, capsys):
    make_report(ct_protocol, "FINDINGS: Acute subdural hematoma.")

    call_command("relabel", "--protocol", ct_protocol.irb_number, "--sync")

    job = Job.objects.get(kind=RELABEL_JOB)
    assert job.status == JobStatus.SUCCEEDED
    assert json.loads(capsys.readouterr().out)["reports"] == 1
    assert SoftLabel.objects.count() == 1


def test_sync_refuses_while_another_relabel_runs(ct_protocol):
    running = job_start(job_id=Job.objects.create(kind=RELABEL_JOB, protocol=ct_protocol).pk)

    with pytest.raises(CommandError, match=f"job {running.pk}"):
        call_command("relabel", "--protocol", ct_protocol.irb_number, "--sync")


def test_an_unknown_protocol_is_a_clear_error():
    with pytest.raises(CommandError, match="IRB-NOPE"):
        call_command("relabel", "--protocol", "IRB-NOPE", "--sync")


def test_the_benchmark_times_relabels_and_cleans_up(capsys):
    call_command("bench_relabel", "--count", "30", "--batch-size", "10")

    out = capsys.readouterr().out
    assert out.count("reports/s") == 3
    [noop] = [line for line in out.splitlines() if line.startswith("incremental, nothing changed")]
    assert noop.split()[3:6] == ["0", "reports", "read,"]
    assert not Protocol.objects.exists()
    assert not SoftLabel.objects.exists()
