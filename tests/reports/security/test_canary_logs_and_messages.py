"""SECURITY.md promise 7: no PHI in logs or Celery messages, swept with planted canaries.

A report file carrying a canary patient, accession and report text (in the file name too) is
uploaded through the API, imported by a real Celery worker, relabelled by the job the import
queues, and read through the study page, the reading page and the API. The worker and this
(web) process log at DEBUG; the worker keeps every message it consumed (canary_settings). Then
no canary may appear in either log, nor in any message that passed through the broker.

The broker is always a private filesystem:// folder here, whatever CELERY_BROKER_URL says, so
its messages can be read back as files.
"""
from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.apps import RELABEL_JOB
from annotation.models import SoftLabel
from config.celery import app as celery_app
from reports.models import Job, JobStatus, Report, Role
from tests.integration.test_import_worker import _reset_producers
from tests.reports.factories import MembershipFactory, ProtocolFactory, UserFactory
from tests.training.jobs.worker_support import finished_job, start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PATIENT = "Zephyrine^Canarius"
ACCESSION = "CANARYACC7731"
TEXT_MARK = "Canary-Osprey-5521"
CANARIES = (PATIENT, "Zephyrine", "Canarius", ACCESSION, TEXT_MARK)
CSV = (
    "accession,patient,modality,study_date,text\n"
    f'{ACCESSION},{PATIENT},CR,2024-03-01,"HISTORY: {PATIENT} with cough.\n\n'
    f'FINDINGS: {TEXT_MARK} small left pleural effusion. No pneumothorax."\n'
    "CANARYSAFE2,P2,CR,2024-03-02,IMPRESSION: Right lower lobe pneumonia.\n"
)


@pytest.fixture(scope="module")
def filesystem_broker(tmp_path_factory: pytest.TempPathFactory):
    """Send this process's messages to a private filesystem broker folder, and give the worker
    the same one (it reads CELERY_BROKER_URL and CELERY_BROKER_FOLDER from its environment)."""
    folder = tmp_path_factory.mktemp("canary-broker")
    options = {
        "data_folder_in": str(folder), "data_folder_out": str(folder),
        "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control"),
        "store_processed": True,
    }
    for name in ("processed", "control"):
        (folder / name).mkdir()
    # The namespaced keys win over broker_transport_options (see test_import_worker); the app
    # sends through broker_write_url, which it copied from the broker URL at start-up.
    changed = {
        "CELERY_BROKER_WRITE_URL": "filesystem://", "CELERY_BROKER_TRANSPORT_OPTIONS": options,
    }
    saved = {key: celery_app.conf.get(key) for key in changed}
    celery_app.conf.update(changed)
    _reset_producers()
    yield {"CELERY_BROKER_URL": "filesystem://", "CELERY_BROKER_FOLDER": str(folder)}
    for key, value in saved.items():
        if value is None:
            # Not set before (a Redis broker in CI): remove it, since a None transport-options
            # key would still win over broker_transport_options and break every later send.
            del celery_app.conf[key]
        else:
            celery_app.conf[key] = value
    _reset_producers()


@pytest.fixture(scope="module")
def worker(tmp_path_factory, django_db_setup, filesystem_broker):
    process = start_worker(
        tmp_path_factory.mktemp("canary-var"), filesystem_broker, "canary", loglevel="DEBUG",
        DJANGO_SETTINGS_MODULE="tests.reports.security.canary_settings", LOG_LEVEL="DEBUG",
    )
    yield process
    stop_worker(process)


def _broker_messages(folder: Path) -> list[str]:
    """Every message file, raw and with its body decoded (kombu stores bodies base64-encoded)."""
    texts = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "control" not in p.parts):
        raw = path.read_text(errors="replace")
        texts.append(raw)
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("properties", {}).get("body_encoding") == "base64":
            texts.append(base64.b64decode(message["body"]).decode(errors="replace"))
    return texts


def _found(texts: list[str]) -> list[tuple[str, str]]:
    return [(canary, text[:300]) for text in texts for canary in CANARIES if canary.lower() in text.lower()]


def test_no_canary_in_worker_or_web_logs_nor_in_broker_messages(worker, filesystem_broker, caplog, settings):
    settings.UPLOAD_DIR = worker.var_dir / "uploads"  # where the worker looks for uploads
    caplog.set_level(logging.DEBUG)
    protocol = ProtocolFactory()
    curator, radiologist = UserFactory(username="canary-curator"), UserFactory(username="canary-reader")
    MembershipFactory(user=curator, protocol=protocol, role=Role.CURATOR)
    MembershipFactory(user=radiologist, protocol=protocol, role=Role.RADIOLOGIST)
    api = APIClient()
    api.force_authenticate(curator)

    upload = SimpleUploadedFile(f"{ACCESSION}-{PATIENT}.csv", CSV.encode())
    response = api.post("/api/v1/imports/", {"file": upload, "protocol": protocol.pk})
    assert response.status_code == 202, response.content
    imported = finished_job(response.json()["job"], worker)
    assert imported.status == JobStatus.SUCCEEDED, (imported.message, imported.errors)
    # The import queued a relabel in the worker (annotation's import listener); the worker runs it.
    relabel = wait_for(lambda: Job.objects.filter(protocol=protocol, kind=RELABEL_JOB).first(), worker, what="relabel")
    relabel = finished_job(relabel.pk, worker)
    assert relabel.status == JobStatus.SUCCEEDED, relabel.message
    report = Report.objects.select_related("study").get(study__accession=ACCESSION)
    assert SoftLabel.objects.filter(report=report).exists()

    reader = Client()
    reader.force_login(radiologist)
    reader_api = APIClient()
    reader_api.force_authenticate(radiologist)
    pages = [
        reader.get(reverse("reports:study-detail", args=[report.study_id])),
        reader.get(reverse("annotation:read-study", args=[report.study_id])),
        reader_api.get(f"/api/v1/studies/{report.study_id}/"),
    ]
    # The reads really showed the canaries: a sweep that finds nothing must have had a chance to.
    for page in pages:
        assert page.status_code == 200
        assert TEXT_MARK in page.content.decode()

    worker_log = worker.log_path.read_text()
    assert " DEBUG" in worker_log or "DEBUG/" in worker_log, "the worker did not log at DEBUG"
    assert "succeeded" in worker_log
    web_log = [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    messages = _broker_messages(Path(filesystem_broker["CELERY_BROKER_FOLDER"]))
    # The upload's import and the import's relabel, at least, went through the broker.
    assert sum(1 for text in messages if '"task"' in text or "'task'" in text) >= 2, messages
    assert _found([worker_log]) == []
    assert _found(web_log) == []
    assert _found(messages) == []
