from __future__ import annotations

import pytest

from reports.jobs import registry

FAKE_KIND = "fake_app.crunch"
FAKE_TASK = "fake_app.tasks.crunch"


@pytest.fixture
def fake_kind(monkeypatch):
    """A kind registered the way a new app would, in a registry restored after the test."""
    monkeypatch.setattr(registry, "_KINDS", dict(registry._KINDS))
    return registry.register_job_kind(FAKE_KIND, label="Crunch", task=FAKE_TASK, queue="crunching")


class SentTasks:
    """Stands in for the Celery app's send_task: records what would reach the broker."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[int], dict[str, object]]] = []

    def send_task(self, name: str, args: list[int], **options: object) -> None:
        self.sent.append((name, args, options))


@pytest.fixture
def sent_tasks(monkeypatch):
    sent = SentTasks()
    monkeypatch.setattr("reports.services.jobs.current_app", sent)
    return sent
