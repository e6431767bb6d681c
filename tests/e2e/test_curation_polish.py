"""Curator screens after the issue 8 walk-through: the quality overview and its draw button that
disables while the draw runs, and the relabel job page that leads back to the label's phrases."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from annotation.models import LabelValue, PhraseChange, QualitySample
from annotation.services.schemas import schema_import_yaml
from reports.models import Role
from tests.annotation.curation.conftest import CT_HEAD, relabel_as_job
from tests.annotation.factories import (
    LabelFactory,
    LabelSchemaFactory,
    PhraseFactory,
    SoftLabelFactory,
)
from tests.e2e.conftest import login
from tests.reports.factories import (
    REPORT_TEXT,
    MembershipFactory,
    ProtocolFactory,
    ReportFactory,
    StudyFactory,
    UserFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).with_name("vendor") / "axe-4.11.0.min.js"


def _axe(page: Page) -> list[str]:
    return page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"
        ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))"
    )


def test_the_overview_draw_button_disables_while_the_draw_runs(page: Page, live_server):
    schema = LabelSchemaFactory()
    label = LabelFactory(schema=schema, name="Pleural Effusion", order=0)
    LabelFactory(schema=schema, name="Pneumothorax", order=1)
    PhraseFactory(label=label, text="pleural effusion")
    protocol = ProtocolFactory(label_schema=schema)
    MembershipFactory(user=UserFactory(username="lead"), protocol=protocol, role=Role.CURATOR)
    start = REPORT_TEXT.index("pleural effusion")
    for _ in range(3):
        SoftLabelFactory(
            report=ReportFactory(study=StudyFactory(protocol=protocol)), label=label, value=LabelValue.POSITIVE, p=0.9,
            evidence=[{"start": start, "end": start + 16, "phrase": "pleural effusion", "modifiers": [], "section": "findings"}],
        )
    page.add_init_script(path=str(AXE))
    login(page, live_server, "lead")
    page.goto(f"{live_server.url}/protocols/{protocol.pk}/quality/")
    expect(page.get_by_role("heading", name=re.compile("Overview"))).to_be_visible()
    assert _axe(page) == []

    sent: list[str] = []

    def no_content(route: Route) -> None:
        # A 204 leaves the page where it was, as it is while a slow draw runs: the button must
        # stay disabled and a second click must send nothing.
        sent.append(route.request.method)
        route.fulfill(status=204)

    page.route("**/quality/draw/", no_content)
    button = page.get_by_role("button", name="Draw a sample of Pleural Effusion")
    button.click()
    expect(button).to_be_disabled()
    button.dispatch_event("click")
    page.wait_for_timeout(300)
    assert sent == ["POST"]
    assert not QualitySample.objects.exists()


def test_the_relabel_job_page_leads_back_to_the_phrases(page: Page, live_server):
    protocol = ProtocolFactory(label_schema=schema_import_yaml(text_or_path=CT_HEAD))
    MembershipFactory(user=UserFactory(username="lead"), protocol=protocol, role=Role.CURATOR)
    for text in ("FINDINGS: Acute subdural bleed.", "FINDINGS: Clot in the left frontal lobe."):
        ReportFactory(study=StudyFactory(protocol=protocol), text=text)
    relabel_as_job(protocol)
    page.add_init_script(path=str(AXE))
    login(page, live_server, "lead")
    page.goto(f"{live_server.url}/protocols/{protocol.pk}/labels/")
    page.get_by_role("link", name="Hemorrhage").click()
    page.get_by_label("Add phrases (One phrase per line.)").fill("clot")
    page.get_by_role("button", name="Save and relabel").click()

    change = PhraseChange.objects.get()
    expect(page).to_have_url(re.compile(rf"/jobs/{change.job_id}/$"))
    expect(page.locator("#job-status")).to_contain_text(f"Phrase change {change.pk} on Hemorrhage: added “clot”.")
    assert _axe(page) == []
    page.get_by_role("link", name="History of the phrases of Hemorrhage").click()
    expect(page.get_by_role("heading", name="History")).to_be_in_viewport()
    expect(page.get_by_role("heading", name="Phrases of Hemorrhage")).to_be_attached()
