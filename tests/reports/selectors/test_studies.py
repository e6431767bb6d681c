from __future__ import annotations

import datetime as dt

import pytest

from reports.selectors.studies import StudyFilters, report_sections, study_list, study_page
from tests.reports.factories import ReportFactory, StudyFactory

pytestmark = pytest.mark.django_db


def test_list_orders_newest_first_with_undated_studies_on_top(radiologist, protocol):
    undated = StudyFactory(protocol=protocol, study_date=None)
    old = StudyFactory(protocol=protocol, study_date=dt.date(2024, 1, 1))
    new = StudyFactory(protocol=protocol, study_date=dt.date(2025, 1, 1))
    same_day = StudyFactory(protocol=protocol, study_date=dt.date(2025, 1, 1))
    assert list(study_list(user=radiologist, filters=StudyFilters())) == [undated, same_day, new, old]


def test_pages_of_two_cover_everything_across_the_null_boundary(radiologist, protocol):
    studies = [StudyFactory(protocol=protocol, study_date=None if i < 3 else dt.date(2025, 1, i)) for i in range(7)]
    qs = study_list(user=radiologist, filters=StudyFilters())
    seen, after = [], None
    while True:
        page = study_page(queryset=qs, after=after, size=2)
        seen += page.items
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == list(qs)
    assert len(seen) == len(studies)
    last = study_page(queryset=qs, after=seen[-3].pk, size=2)
    back = study_page(queryset=qs, before=last.items[0].pk, size=2)
    assert back.items == seen[-4:-2]


def test_count_is_capped(radiologist, protocol):
    StudyFactory.create_batch(5, protocol=protocol)
    page = study_page(queryset=study_list(user=radiologist, filters=StudyFilters()), size=2, count_cap=3)
    assert (page.total, page.total_capped) == (3, True)


def test_an_anchor_out_of_scope_falls_back_to_the_first_page(radiologist, protocol, other_protocol):
    mine = StudyFactory(protocol=protocol)
    foreign = StudyFactory(protocol=other_protocol)
    page = study_page(queryset=study_list(user=radiologist, filters=StudyFilters()), after=foreign.pk)
    assert page.items == [mine]


def test_report_without_sections_is_one_section(protocol):
    report = ReportFactory(study=StudyFactory(protocol=protocol), sections=[])
    (section,) = report_sections(report)
    assert (section.name, section.text, section.is_context) == ("report", report.text, False)
