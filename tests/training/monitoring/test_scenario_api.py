"""The issue's "How it will be checked" scenario, through the API and the real import and engine.

Reports whose study dates run in order are imported with a software_version column that changes
partway; the engine labels them; one deployment's predictions agree with the soft labels except
for a little noise and, for Edema, a large disagreement from the software change onward; a second
deployment gets the same stream without the drop.
"""
from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core import mail

from annotation.models import SoftLabel
from annotation.services.relabel import relabel_protocol
from annotation.services.schemas import schema_import_yaml
from reports.models import Study
from reports.services.imports import report_import
from tests.reports.factories import UserFactory

pytestmark = pytest.mark.django_db

SCHEMA = """
name: monitoring-scenario
labels:
  - name: Edema
    phrases: [edema]
  - name: Pleural Effusion
    phrases: [pleural effusion, effusion]
"""
N, CHANGE = 400, 200


def _reports(rng: random.Random) -> str:
    lines = ["accession,study_date,software_version,manufacturer,model,station,text"]
    start = dt.date(2026, 1, 1)
    for i in range(N):
        findings = [rng.choice(["There is pulmonary edema.", "No edema.", ""]),
                    rng.choice(["Small left pleural effusion.", "No pleural effusion.", ""])]
        text = "FINDINGS: " + " ".join(f for f in findings if f) + " Heart size normal."
        software = "VA10" if i < CHANGE else "VB20"
        day = start + dt.timedelta(days=i // 10)
        lines.append(f"MON{i:05d},{day.isoformat()},{software},Acme,X1,ST1,\"{text}\"")
    return "\n".join(lines) + "\n"


def _predictions(rng: random.Random, protocol, *, drop: bool) -> list[dict]:
    # Scoped to the scenario's protocol: rows left by other tests of the same worker are not ours.
    values = {
        (study_id, name): value
        for study_id, name, value in SoftLabel.objects.filter(report__study__protocol=protocol).values_list(
            "report__study_id", "label__name", "value"
        )
    }
    out = []
    studies = Study.objects.filter(protocol=protocol).order_by("study_date", "id").values_list("id", "accession")
    for i, (study_id, accession) in enumerate(studies):
        for name in ("Edema", "Pleural Effusion"):
            value = values.get((study_id, name), "absent")
            positive = value == "positive"
            flip = rng.random() < (0.45 if drop and name == "Edema" and i >= CHANGE else 0.03)
            p = 0.5 if value == "uncertain" else (0.9 if positive != flip else 0.1)
            out.append({"accession": accession, "label": name, "p": p})
    return out


@pytest.fixture
def world(protocol, scientist, tmp_path):
    protocol.label_schema = schema_import_yaml(text_or_path=SCHEMA)
    protocol.save(update_fields=["label_schema"])
    scientist.email = "ds@example.org"
    scientist.save(update_fields=["email"])
    path = tmp_path / "batch.csv"
    path.write_text(_reports(random.Random(1)))
    report_import(protocol=protocol, path=path, fmt="csv", actor=UserFactory(), channel="command")
    relabel_protocol(protocol=protocol)
    return protocol


def _deploy(api, protocol, name: str) -> int:
    response = api.post(
        "/api/v1/deployments/",
        {"protocol": protocol.pk, "name": name, "model": {"name": "vendor-cxr", "version": "2.1"},
         "labels": ["Edema", "Pleural Effusion"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _post_all(api, deployment_id: int, items: list[dict]) -> None:
    for start in range(0, len(items), 400):
        response = api.post(
            f"/api/v1/deployments/{deployment_id}/predictions/", {"predictions": items[start : start + 400]}, format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["accepted"] == len(items[start : start + 400])


def test_drop_after_a_software_change_raises_one_alert_naming_label_change_point_and_version(
    api, world, scientist, django_capture_on_commit_callbacks
):
    assert Study.objects.filter(protocol=world, software_version="VB20").count() == N - CHANGE
    assert SoftLabel.objects.filter(label__name="Edema", value="positive").exists()
    api.force_authenticate(scientist)
    dropping = _deploy(api, world, "triage")
    stable = _deploy(api, world, "triage-shadow")
    with django_capture_on_commit_callbacks(execute=True):
        _post_all(api, dropping, _predictions(random.Random(2), world, drop=True))
        _post_all(api, stable, _predictions(random.Random(2), world, drop=False))

    alerts = api.get(f"/api/v1/deployments/{dropping}/alerts/").json()
    assert len(alerts) == 1, alerts
    alert = alerts[0]
    assert alert["label"] == "Edema"
    change_at = int(alert["change_accession"].removeprefix("MON"))
    detected_at = int(alert["detected_accession"].removeprefix("MON"))
    assert abs(change_at - CHANGE) <= 20
    assert CHANGE <= detected_at <= CHANGE + 100
    assert alert["event"] == {"kind": "software_version", "value": "VB20"}
    assert alert["before"] > 0.9
    assert alert["after"] < 0.8
    assert api.get(f"/api/v1/deployments/{stable}/alerts/").json() == []
    # Notified once, by email to the protocol's data scientists, with ids only.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ds@example.org"]
    assert "MON" not in mail.outbox[0].body
