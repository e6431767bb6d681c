"""A curator judges a phrase's matches by keyboard alone; verdicts and precision move in place."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from annotation.models import LabelValue, MatchJudgement
from reports.models import Role
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

PER_PAGE = 20


def _setup(matches: int) -> tuple[int, int]:
    schema = LabelSchemaFactory()
    label = LabelFactory(schema=schema, name="Pleural Effusion", order=0)
    PhraseFactory(label=label, text="pleural effusion")
    protocol = ProtocolFactory(label_schema=schema)
    MembershipFactory(user=UserFactory(username="lead"), protocol=protocol, role=Role.CURATOR)
    start = REPORT_TEXT.index("pleural effusion")
    for _ in range(matches):
        report = ReportFactory(study=StudyFactory(protocol=protocol))
        SoftLabelFactory(
            report=report, label=label, value=LabelValue.POSITIVE, p=0.9,
            evidence=[{"start": start, "end": start + 16, "phrase": "pleural effusion", "modifiers": [], "section": "findings"}],
        )
    return protocol.pk, label.pk


def test_curator_judges_matches_by_keyboard_without_a_page_load(page: Page, live_server):
    protocol_id, label_id = _setup(PER_PAGE + 2)
    login(page, live_server, "lead")
    page.goto(f"{live_server.url}/protocols/{protocol_id}/matches/?label={label_id}&phrase=pleural+effusion")
    rows = page.locator(".match-row")
    expect(rows).to_have_count(PER_PAGE)
    expect(page.locator("#phrase-precision")).to_contain_text("0 judged")
    page.evaluate("window.__sameDocument = true")

    page.keyboard.press("y")  # row 1 right
    expect(rows.nth(0).locator(".verdict")).to_contain_text("right")
    page.keyboard.press("n")  # row 2 wrong
    expect(rows.nth(1).locator(".verdict")).to_contain_text("wrong")
    page.keyboard.press("j")  # skip row 3
    page.keyboard.press("c")  # row 4: a note, then Enter judges it right
    page.keyboard.type("lateral view only")
    page.keyboard.press("Enter")
    expect(rows.nth(3).locator(".verdict")).to_contain_text("lateral view only")
    expect(rows.nth(2).locator(".verdict")).to_contain_text("not judged")
    page.keyboard.press("k")
    page.keyboard.press("k")  # back to row 3 (the current row moved on to row 5 after the note)
    page.keyboard.press("y")
    expect(rows.nth(2).locator(".verdict")).to_contain_text("right")
    # The precision box moved with the verdicts: 3 right of 4 judged, in the same document.
    expect(page.locator("#phrase-precision")).to_contain_text("4 judged")
    expect(page.locator("#phrase-precision")).to_contain_text("75%")
    assert page.evaluate("window.__sameDocument") is True

    verdicts = dict(MatchJudgement.objects.values_list("note", "verdict"))
    assert MatchJudgement.objects.count() == 4
    assert sorted(MatchJudgement.objects.values_list("verdict", flat=True)) == ["right", "right", "right", "wrong"]
    assert verdicts["lateral view only"] == "right"

    page.keyboard.press("]")  # next page: the two remaining matches
    expect(rows).to_have_count(2)
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2")


def _htmx_ready(page: Page, selector: str) -> None:
    """Wait until htmx has wired the swapped-in element: before that a key would follow its plain
    href or action (which works, but as a page load)."""
    # Polled from here: wait_for_function evaluates a string, which the page's CSP forbids.
    element = page.locator(selector)
    for _ in range(200):
        if element.evaluate("el => el['htmx-internal-data'] !== undefined"):
            return
        page.wait_for_timeout(25)
    raise AssertionError(f"htmx never processed {selector}")


def test_curator_judges_a_quality_sample_by_keyboard(page: Page, live_server):
    from annotation.models import QualitySample

    protocol_id, label_id = _setup(3)
    login(page, live_server, "lead")
    page.goto(f"{live_server.url}/protocols/{protocol_id}/quality/?label={label_id}&width=0.3")
    page.get_by_role("button", name="Draw about 3 soft labels").click()
    expect(page.locator("#judge-panel")).to_contain_text("0 of 3 judged")
    page.evaluate("window.__sameDocument = true")
    for key, done in (("p", 1), ("n", 2)):
        _htmx_ready(page, "form.quality-judge")
        page.keyboard.press(key)
        expect(page.locator("#judge-panel")).to_contain_text(f"{done} of 3 judged")
    _htmx_ready(page, "[data-action=back]")
    page.keyboard.press("b")  # back to the second item, judged negative
    expect(page.locator("#judge-panel")).to_contain_text("You judged it negative")
    page.keyboard.press("u")
    expect(page.locator("#judge-panel h2").first).to_contain_text("item 3")  # the next unjudged item
    _htmx_ready(page, "form.quality-judge")
    page.keyboard.press("a")
    expect(page.locator("#judge-panel")).to_contain_text("Every item of this sample is judged")
    assert page.evaluate("window.__sameDocument") is True
    sample = QualitySample.objects.get()
    assert list(sample.items.order_by("position").values_list("judged_value", flat=True)) == ["positive", "uncertain", "absent"]
