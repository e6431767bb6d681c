"""The monitoring pages in a real browser: no axe-core WCAG 2 A/AA violation, and an alert is
acknowledged through its htmx form without a page load."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from reports.models import Role
from tests.e2e.conftest import browser_type_launch_args, login  # noqa: F401
from tests.reports.factories import MembershipFactory, ProtocolFactory, UserFactory
from tests.training.monitoring.factories import make_deployment, schema_labels
from tests.training.monitoring.streams import build_stream, predictions_for
from training.models import MonitoringAlert
from training.services.predictions import prediction_batch_store

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parents[2] / "e2e" / "vendor" / "axe-4.11.0.min.js"
AXE_RUN = (
    "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}))"
    ".violations.map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))"
)


def test_monitoring_page_is_accessible_and_acknowledges_with_htmx(page: Page, live_server):
    protocol = ProtocolFactory()
    scientist = UserFactory(username="e2e-scientist")
    MembershipFactory(user=scientist, protocol=protocol, role=Role.DATA_SCIENTIST)
    stream = build_stream(protocol, schema_labels(protocol), n=300, change_at=150, prefix="E2E")
    deployment = make_deployment(protocol, validation={"Edema": {"sensitivity": 0.95, "specificity": 0.95}})
    prediction_batch_store(deployment=deployment, actor=None, items=predictions_for(stream, drop_label="Edema", change_at=150))
    alert = MonitoringAlert.objects.get()

    page.add_init_script(path=str(AXE))
    login(page, live_server, scientist.username)
    page.goto(f"{live_server.url}/deployments/{deployment.pk}/")
    expect(page.locator("svg.chart").first).to_be_visible()
    assert page.evaluate(AXE_RUN) == []

    row = page.locator(f"#alert-{alert.pk}")
    row.get_by_label("Note").fill("checking the VB20 studies")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(f"#alert-{alert.pk}")).to_contain_text("Acknowledged")
    alert.refresh_from_db()
    assert alert.status == "acknowledged"

    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Edema")
    assert page.evaluate(AXE_RUN) == []

    page.goto(f"{live_server.url}/deployments/{deployment.pk}/versions/new/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("New model version")
    assert page.evaluate(AXE_RUN) == []
