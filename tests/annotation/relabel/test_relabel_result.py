"""A relabel's result is a record of what changed: counts, no timing (benchmarks time it)."""
from __future__ import annotations

import pytest

from annotation.services.relabel import relabel_protocol

pytestmark = pytest.mark.django_db


def test_relabel_results_hold_counts_and_no_timings(ct_protocol, make_report):
    make_report(ct_protocol, "FINDINGS: Acute subdural hematoma.")

    result = relabel_protocol(protocol=ct_protocol)

    assert result["reports"] == 1
    assert result["written"] == 1
    assert not {"seconds", "elapsed", "reports_per_second", "rate"} & result.keys()
