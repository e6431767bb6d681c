"""A curator previews a phrase edit in the browser (htmx, no page load) and the page passes axe."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from annotation.services.schemas import schema_import_yaml
from reports.models import Role
from tests.annotation.curation.conftest import CT_HEAD, relabel_as_job
from tests.e2e.conftest import login
from tests.reports.factories import (
    MembershipFactory,
    ProtocolFactory,
    ReportFactory,
    StudyFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "e2e" / "vendor" / "axe-4.11.0.min.js"
TEXTS = ["FINDINGS: Acute subdural bleed. No midline shift.", "FINDINGS: Small hematoma.", "FINDINGS: Clot in the left frontal lobe."]


def _axe(page: Page) -> list[str]:
    return page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"
        ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))"
    )


def test_curator_previews_an_edit_in_place_and_the_page_passes_axe(page: Page, live_server):
    protocol = ProtocolFactory(label_schema=schema_import_yaml(text_or_path=CT_HEAD))
    MembershipFactory(user=UserFactory(username="lead"), protocol=protocol, role=Role.CURATOR)
    for text in TEXTS:
        ReportFactory(study=StudyFactory(protocol=protocol), text=text)
    relabel_as_job(protocol)
    page.add_init_script(path=str(AXE))
    login(page, live_server, "lead")

    page.goto(f"{live_server.url}/protocols/{protocol.pk}/labels/")
    page.get_by_role("link", name="Hemorrhage").click()
    expect(page.get_by_role("heading", name="Phrases of Hemorrhage")).to_be_visible()
    page.get_by_label("Add phrases (One phrase per line.)").fill("clot")
    page.locator('input[name="disable"][value="bleed"]').check()
    url = page.url
    page.get_by_role("button", name="Preview").click()

    panel = page.locator("#preview-panel")
    expect(panel).to_contain_text("2 studies would change")
    expect(panel).to_contain_text("absent → positive")
    expect(panel.locator(".evidence-sample ins")).to_have_text("Clot")
    assert page.url == url  # swapped in place
    assert _axe(page) == []
