"""The pure change detector on simulated streams (no database)."""
from __future__ import annotations

import pytest

from training.monitoring_core.cusum import average_run_length, design_cusum, p1_for_odds_ratio
from training.monitoring_core.detect import DetectorSettings, detect_changes
from training.monitoring_core.events import Equipment, equipment_events, preceding_event
from training.monitoring_core.simulate import simulate_stream
from training.monitoring_core.stats import newcombe_diff, wilson

SHIPPED = DetectorSettings()


def test_cusum_threshold_holds_the_chosen_in_control_arl():
    design = design_cusum(p0=0.05, odds_ratio=3, arl0=10_000)
    assert design.arl0 >= 10_000
    smaller = average_run_length(up=design.up, down=design.down, threshold=design.threshold - 1, p=design.p0)
    assert smaller < 10_000  # the smallest threshold that does
    assert design.p1 == pytest.approx(p1_for_odds_ratio(0.05, 3))


def test_cusum_arl_out_of_control_is_short():
    design = design_cusum(p0=0.05, odds_ratio=3, arl0=100_000)
    assert average_run_length(up=design.up, down=design.down, threshold=design.threshold, p=0.4) < 60


def test_stable_stream_of_10k_studies_raises_no_alert():
    for seed in range(3):
        assert detect_changes(simulate_stream(10_000, p0=0.05, seed=seed), settings=SHIPPED) == []


def test_stable_stream_with_validation_baseline_raises_no_alert():
    assert detect_changes(simulate_stream(10_000, p0=0.08, seed=7), settings=SHIPPED, validation_p0=0.08) == []


def test_abrupt_drop_is_detected_soon_with_the_change_point_close_to_the_truth():
    stream = simulate_stream(1_000, p0=0.05, seed=3, change_at=400, p_after=0.4)
    changes = detect_changes(stream, settings=SHIPPED)
    assert len(changes) == 1
    change = changes[0]
    assert abs(change.change_index - 400) <= 15
    assert 400 <= change.detected_index <= 480
    assert change.before > 0.9
    assert change.after < 0.75
    assert change.drop_low > 0
    assert change.drop_low < change.drop < change.drop_high


def test_gradual_drift_is_detected_after_it_starts():
    stream = simulate_stream(3_000, p0=0.05, seed=11, change_at=1_000, p_after=0.3, drift_over=1_000)
    changes = detect_changes(stream, settings=SHIPPED)
    assert changes, "a drift from 5 % to 30 % disagreement must be flagged"
    assert 1_000 <= changes[0].detected_index <= 2_000


def test_one_alert_per_persistent_drop():
    stream = simulate_stream(3_000, p0=0.05, seed=5, change_at=500, p_after=0.4)
    assert len(detect_changes(stream, settings=SHIPPED)) == 1


def test_short_burst_does_not_alert():
    stream = simulate_stream(2_000, p0=0.05, seed=2)
    stream[900:903] = [1, 1, 1]
    assert detect_changes(stream, settings=SHIPPED) == []


def test_stream_shorter_than_burn_in_is_not_judged():
    assert detect_changes([1] * 50, settings=SHIPPED) == []


def test_change_tied_to_a_software_version_names_it():
    equipment = [Equipment("Acme", "X1", "VA10", "ST1")] * 600 + [Equipment("Acme", "X1", "VB20", "ST1")] * 400
    events = equipment_events(equipment)
    assert [(e.index, e.kind, e.value, e.previous) for e in events] == [(600, "software_version", "VB20", "VA10")]
    stream = simulate_stream(1_000, p0=0.04, seed=9, change_at=600, p_after=0.45)
    change = detect_changes(stream, settings=SHIPPED)[0]
    event = preceding_event(events, change_index=change.change_index, detected_index=change.detected_index, lookback=100)
    assert event is not None
    assert event.value == "VB20"


def test_alternating_stations_are_not_new_combinations_again():
    a, b = Equipment(station="ST1"), Equipment(station="ST2")
    events = equipment_events([a, b, a, b, a])
    assert [(e.index, e.kind) for e in events] == [(1, "station")]


def test_no_event_far_from_the_change_point():
    equipment = [Equipment(software_version="1")] * 100 + [Equipment(software_version="2")] * 900
    events = equipment_events(equipment)
    assert preceding_event(events, change_index=700, detected_index=750, lookback=100) is None


def test_wilson_and_newcombe_intervals():
    low, high = wilson(5, 100)
    assert 0.02 < low < 0.05 < high < 0.12
    diff, low, high = newcombe_diff(40, 100, 5, 100)
    assert diff == pytest.approx(0.35)
    assert 0.2 < low < 0.35 < high < 0.5
