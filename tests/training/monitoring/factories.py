"""Small builders for monitoring tests and the scope matrix: a schema, a deployment, an alert."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from annotation.models import Label
from reports.models import Protocol
from tests.annotation.factories import LabelFactory, LabelSchemaFactory
from tests.reports.factories import StudyFactory
from training.models import Deployment, MonitoringAlert
from training.services.deployments import deployment_create

LABELS = ("Edema", "Effusion")


def schema_labels(protocol: Protocol, names: Sequence[str] = LABELS) -> list[Label]:
    """Give the protocol a small schema of its own (no chexpert sync in tests)."""
    if protocol.label_schema_id is None:
        schema = LabelSchemaFactory(name=f"monitoring-{protocol.pk}")
        for order, name in enumerate(names):
            LabelFactory(schema=schema, name=name, order=order)
        protocol.label_schema = schema
        protocol.save(update_fields=["label_schema"])
    return list(protocol.label_schema.labels.order_by("order"))


def make_deployment(protocol: Protocol, *, name: str = "triage", labels: Sequence[str] = LABELS, **kwargs: Any) -> Deployment:
    schema_labels(protocol)
    return deployment_create(
        protocol=protocol, name=name, actor=None, labels=list(labels),
        model_name=kwargs.pop("model_name", "vendor-cxr"), model_version=kwargs.pop("model_version", "1.0"), **kwargs,
    )


def make_alert(protocol: Protocol, **fields: Any) -> MonitoringAlert:
    deployment = make_deployment(protocol, name=f"alerting-{protocol.pk}")
    label = schema_labels(protocol)[0]
    day = dt.date(2026, 1, 5)
    change = StudyFactory(protocol=protocol, study_date=day)
    detected = StudyFactory(protocol=protocol, study_date=day + dt.timedelta(days=3))
    values = {
        "deployment": deployment, "version": deployment.active_version, "label": label, "change_study": change,
        "detected_study": detected, "detector": "cusum", "before": 0.95, "after": 0.6, "drop": 0.35,
        "drop_low": 0.2, "drop_high": 0.5, "event_kind": "software_version", "event_value": "VB20",
        "evidence": {},
    }
    values.update(fields)
    return MonitoringAlert.objects.create(**values)
