"""A radiologist confirms three studies by keyboard alone, undoes one, and the database agrees."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Confirmation, LabelValue
from reports.models import ReviewState, Role, Study
from tests.annotation.factories import LabelFactory, LabelSchemaFactory, SoftLabelFactory
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


def _setup() -> tuple[int, list[Study], dict[str, int]]:
    schema = LabelSchemaFactory()
    labels = {name: LabelFactory(schema=schema, name=name, order=i) for i, name in enumerate(["Pneumothorax", "Pleural Effusion"])}
    protocol = ProtocolFactory(label_schema=schema)
    MembershipFactory(user=UserFactory(username="reader"), protocol=protocol, role=Role.RADIOLOGIST)
    studies = []
    for informativeness in (0.9, 0.8, 0.7, 0.6):
        study = StudyFactory(protocol=protocol, informativeness=informativeness)
        report = ReportFactory(study=study)
        start = REPORT_TEXT.index("pleural effusion")
        SoftLabelFactory(
            report=report, label=labels["Pleural Effusion"], value=LabelValue.POSITIVE, p=0.9,
            evidence=[{"start": start, "end": start + 16, "phrase": "pleural effusion", "modifiers": [], "section": "findings"}],
        )
        studies.append(study)
    return protocol.pk, studies, {name: label.pk for name, label in labels.items()}


def _on_study(page: Page, study: Study) -> None:
    expect(page.locator("#read-panel")).to_have_attribute("data-study", str(study.pk))
    expect(page).to_have_url(f"{page.url.split('/read/')[0]}/read/{study.pk}/")


def test_reader_confirms_three_studies_by_keyboard_and_undoes_the_last(page: Page, live_server):
    protocol_id, studies, label_ids = _setup()
    login(page, live_server, "reader")
    page.goto(f"{live_server.url}/protocols/{protocol_id}/read/")
    _on_study(page, studies[0])
    expect(page.locator("mark.ev.pos[data-label='Pleural Effusion']")).to_be_visible()
    expect(page.locator(".hints kbd", has_text="Enter")).to_be_visible()
    # A marker on window survives only if the next studies come in without a page load.
    page.evaluate("window.__sameDocument = true")

    page.keyboard.press("p")  # first row (Pneumothorax): positive
    page.keyboard.press("Enter")
    _on_study(page, studies[1])
    page.keyboard.press("Enter")  # accept the engine's values as they are
    _on_study(page, studies[2])
    page.keyboard.press("j")  # to the second row (Pleural Effusion)
    page.keyboard.press("n")
    page.keyboard.press("Enter")
    _on_study(page, studies[3])
    expect(page.locator(".undo-bar")).to_contain_text(f"Saved study {studies[2].pk}")
    page.keyboard.press("z")
    _on_study(page, studies[2])
    expect(page.locator(".notice")).to_contain_text("Undone")
    assert page.evaluate("window.__sameDocument") is True

    current = {c.study_id: c for c in Confirmation.objects.filter(is_current=True).prefetch_related("labels")}
    assert set(current) == {studies[0].pk, studies[1].pk}
    first = {cl.label_id: cl.value for cl in current[studies[0].pk].labels.all()}
    assert first == {label_ids["Pneumothorax"]: "positive", label_ids["Pleural Effusion"]: "positive"}
    second = {cl.label_id: cl.value for cl in current[studies[1].pk].labels.all()}
    assert second == {label_ids["Pneumothorax"]: "absent", label_ids["Pleural Effusion"]: "positive"}
    undone = Confirmation.objects.get(study=studies[2])
    assert undone.withdrawn_at is not None
    assert not undone.is_current
    assert {cl.label_id: cl.value for cl in undone.labels.all()}[label_ids["Pleural Effusion"]] == "negative"
    assert Study.objects.get(pk=studies[2].pk).review_state == ReviewState.OPEN
    assert all(c.time_spent_ms is not None for c in current.values())
