"""One journey: a data scientist opens a finished training job and reads its charts in Chromium.

The job is trained in this process first (seconds); the page's charts are server-side SVG, so
the browser has nothing to fetch but the page and the app's own CSS. axe-core checks the page.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from reports.jobs.runner import run_job
from tests.e2e.conftest import login
from tests.training.jobs.builders import LABELS, data_scientist, make_training_cohort
from training.services.jobs import training_job_create, training_run_execute

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).with_name("vendor") / "axe-4.11.0.min.js"


def test_a_data_scientist_reads_the_results_charts_and_compares_two_jobs(page: Page, live_server, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    cohort = make_training_cohort(40, name="e2e")
    user = data_scientist(cohort.protocol, username="scientist-e2e")
    jobs = []
    for strategy in ("random", "tpe"):
        job = training_job_create(cohort=cohort, actor=user, enqueue=lambda job_id: None,
                                  request={"strategy": strategy, "trials": 2, "epochs": 2})
        run_job(job.pk, lambda j: training_run_execute(job=j, poll_seconds=0.05))
        jobs.append(job)

    page.add_init_script(path=str(AXE))  # an init script is not subject to the page's CSP
    login(page, live_server, "scientist-e2e")
    page.get_by_role("link", name="Training").first.click()
    page.get_by_role("link", name=f"Job {jobs[0].pk}").click()

    expect(page.get_by_role("heading", name=f"Training job {jobs[0].pk}")).to_be_visible()
    expect(page.get_by_text("Succeeded").first).to_be_visible()
    charts = page.locator("figure.chart > svg")
    expect(charts).to_have_count(2 + 4 + 3 * len(LABELS))  # learning, history, 4 params, then per label ROC / PR / calibration
    roc = page.get_by_role("img", name=f"ROC, {LABELS[0]} (test)")
    expect(roc).to_be_visible()
    assert roc.bounding_box()["width"] > 200
    assert roc.locator("path.series").count() == 2  # the model and the engine's soft labels
    assert roc.locator("g.reader-point").count() == 2  # both readers' operating points
    expect(page.get_by_role("table", name="Test split, per label")).to_be_visible()

    violations = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}))"
        ".violations.map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))"
    )
    assert violations == []

    page.get_by_label("Compare with").select_option(str(jobs[1].pk))
    page.get_by_role("button", name="Side by side").click()
    expect(page.get_by_role("heading", name="Two training jobs side by side")).to_be_visible()
    expect(page.get_by_role("columnheader", name=f"Job {jobs[1].pk} AUROC")).to_be_visible()
    expect(page.locator("figure.chart > svg")).to_have_count(len(LABELS))
