"""monitoring_analyse and the reference it compares against; notification by email and webhook."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from annotation.models import Confirmation, ConfirmationKind, ConfirmationLabel
from reports.models import Job, Role, Study
from tests.reports.factories import MembershipFactory, UserFactory
from tests.training.monitoring.factories import make_deployment, schema_labels
from tests.training.monitoring.streams import build_stream, predictions_for
from training.models import MonitoringAlert
from training.selectors.monitoring import version_streams
from training.services import predictions as prediction_service
from training.services.monitoring import alert_notify, monitoring_analyse, webhook_post
from training.services.predictions import prediction_batch_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def labels(protocol):
    return schema_labels(protocol)


def test_uncertain_is_left_out_and_a_final_label_wins_over_the_soft_label(protocol, labels):
    stream = build_stream(protocol, labels, n=30, change_at=30)
    deployment = make_deployment(protocol)
    prediction_batch_store(deployment=deployment, actor=None, items=predictions_for(stream, drop_label=None, change_at=30), analyse=False)
    uncertain = [a for a, values in stream if values["Edema"] == "uncertain"]
    negative = next(a for a, values in stream if values["Edema"] in ("negative", "absent"))
    study = Study.objects.get(accession=negative)
    reader = UserFactory()
    read = Confirmation.objects.create(study=study, reader=reader, study_version=0, kind=ConfirmationKind.ADJUDICATION)
    ConfirmationLabel.objects.create(confirmation=read, label=labels[0], value="positive")

    streams = version_streams(deployment.active_version)
    edema = streams.labels["Edema"]
    in_stream = {streams.study_ids[p] for p in edema.positions}
    assert not in_stream & set(Study.objects.filter(accession__in=uncertain).values_list("id", flat=True))
    assert edema.reference[[streams.study_ids[p] for p in edema.positions].index(study.pk)] == 1
    assert streams.dates == sorted(streams.dates)


def test_analysis_is_idempotent(protocol, labels):
    stream = build_stream(protocol, labels, n=400, change_at=200)
    deployment = make_deployment(protocol)
    prediction_batch_store(
        deployment=deployment, actor=None, items=predictions_for(stream, drop_label="Effusion", change_at=200), analyse=False
    )
    first = monitoring_analyse(deployment=deployment)
    again = monitoring_analyse(deployment=deployment)
    assert first["new_alerts"] == 1
    assert again["new_alerts"] == 0
    alert = MonitoringAlert.objects.get()
    assert alert.label.name == "Effusion"
    assert (alert.event_kind, alert.event_value) == ("software_version", "VB20")


def test_a_large_prediction_set_is_analysed_by_a_job(protocol, labels, monkeypatch, django_capture_on_commit_callbacks):
    stream = build_stream(protocol, labels, n=20, change_at=20)
    deployment = make_deployment(protocol)
    monkeypatch.setattr(prediction_service, "INLINE_ANALYSIS_MAX", 10)
    sent = []
    monkeypatch.setattr("reports.services.jobs.job_enqueue", lambda job_id, kind: sent.append((job_id, kind)))
    with django_capture_on_commit_callbacks(execute=True):
        result = prediction_batch_store(deployment=deployment, actor=None, items=predictions_for(stream, drop_label=None, change_at=20))
    assert result.job is not None
    assert not result.analysed
    assert sent == [(result.job.pk, "monitoring")]
    assert Job.objects.get(pk=result.job.pk).params == {"deployment": deployment.pk, "version": deployment.active_version_id}


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook_server():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Hook.received
    server.shutdown()
    server.server_close()


def test_an_alert_is_emailed_and_posted_to_the_webhook_with_ids_only(protocol, labels, hook_server):
    url, received = hook_server
    scientist = UserFactory(email="ds@example.org")
    MembershipFactory(user=scientist, protocol=protocol, role=Role.DATA_SCIENTIST)
    stream = build_stream(protocol, labels, n=400, change_at=200, prefix="HOOK")
    deployment = make_deployment(protocol, webhook_url=url)
    prediction_batch_store(
        deployment=deployment, actor=None, items=predictions_for(stream, drop_label="Edema", change_at=200), analyse=False
    )
    monitoring_analyse(deployment=deployment)
    alert = MonitoringAlert.objects.get()
    alert_notify(alert_id=alert.pk)
    alert_notify(alert_id=alert.pk)  # once only
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ds@example.org"]
    assert len(received) == 1
    payload = received[0]
    assert payload["alert"] == alert.pk
    assert payload["label"] == "Edema"
    assert payload["event"] == {"kind": "software_version", "value": "VB20"}
    assert "HOOK" not in json.dumps(payload)  # no accession numbers
    alert.refresh_from_db()
    assert alert.notified_at is not None


def test_a_failing_webhook_is_logged_not_raised(caplog):
    assert webhook_post("http://127.0.0.1:9/nothing-listens", {"alert": 1}, timeout=1) is False
    assert webhook_post("file:///etc/passwd", {"alert": 1}) is False
    assert "failed" in caplog.text or "skipped" in caplog.text


def test_a_failing_inline_analysis_keeps_the_batch_and_queues_a_job(protocol, labels, monkeypatch):
    stream = build_stream(protocol, labels, n=5, change_at=5)
    deployment = make_deployment(protocol)

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(prediction_service, "monitoring_analyse", broken)
    result = prediction_batch_store(deployment=deployment, actor=None, items=predictions_for(stream, drop_label=None, change_at=5))
    assert result.accepted == 10
    assert result.job is not None
    assert Job.objects.filter(kind="monitoring").count() == 1
