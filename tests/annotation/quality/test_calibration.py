"""Calibration per label on synthetic confirmations with a known miscalibration."""
from __future__ import annotations

import random

import pytest
from django.urls import reverse

from annotation.models import Confirmation, ConfirmationLabel, LabelCalibration
from annotation.selectors.quality import calibrated_p, calibration_data, calibration_maps, held_out
from annotation.services.calibration import (
    AUDIT_CALIBRATION,
    CalibrationRefused,
    label_calibration_fit,
)
from reports.models import AccessEvent, Study
from tests.reports.factories import StudyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def overconfident(protocol, label):
    """1,000 confirmed studies: the engine said p, the finding was present with probability p^2.

    Written in bulk (one reader, one confirmation per study) to keep the test fast.
    """
    rng = random.Random(17)
    reader = UserFactory(username="calibration-reader")
    studies = Study.objects.bulk_create(
        [Study(protocol=protocol, accession=f"CAL{i:05d}", version=1, reads_done=1) for i in range(1000)]
    )
    confirmations = Confirmation.objects.bulk_create(
        [Confirmation(study=study, reader=reader, study_version=1) for study in studies]
    )
    rows = []
    for confirmation in confirmations:
        p = round(rng.uniform(0.05, 0.99), 3)
        value = "positive" if rng.random() < p * p else "negative"
        rows.append(ConfirmationLabel(confirmation=confirmation, label=label, value=value, soft_value="positive", soft_p=p))
    ConfirmationLabel.objects.bulk_create(rows)


def test_held_out_is_a_fixed_fifth_of_studies():
    share = sum(held_out(i) for i in range(1, 10001)) / 10000
    assert 0.18 < share < 0.22
    assert held_out(5) == held_out(5)


def test_data_leave_out_uncertain_answers_and_absent_soft_labels(protocol, label, confirm):
    confirm(StudyFactory(protocol=protocol), label, "uncertain", soft_p=0.5)
    confirm(StudyFactory(protocol=protocol), label, "positive", soft_p=None, soft_value=None)
    confirm(StudyFactory(protocol=protocol), label, "absent", soft_p=0.2)
    data = calibration_data(protocol=protocol, label=label)
    assert data.all_ps == [0.2]
    assert data.all_ys == [0]


def test_a_fit_removes_most_of_a_known_miscalibration_on_held_out_studies(protocol, label, curator, overconfident):
    calibration = label_calibration_fit(protocol=protocol, label=label, actor=curator)
    assert calibration.method == "isotonic"  # 200 or more in the fit split
    assert calibration.fitted_on + calibration.held_out == 1000
    assert calibration.ece_before > 0.1
    assert calibration.ece_after < calibration.ece_before / 2
    maps = calibration_maps(protocol=protocol)
    # p = 0.9 was really about 0.81, p = 0.5 about 0.25
    assert calibrated_p(maps, label.pk, 0.9) < 0.9
    assert calibrated_p(maps, label.pk, 0.5) < 0.4
    assert AccessEvent.objects.filter(action=AUDIT_CALIBRATION).count() == 1


def test_platt_can_be_asked_for_and_a_new_fit_replaces_the_active_one(protocol, label, curator, overconfident):
    first = label_calibration_fit(protocol=protocol, label=label, actor=curator)
    second = label_calibration_fit(protocol=protocol, label=label, actor=curator, method="platt")
    assert second.params["method"] == "platt"
    assert second.params["a"] > 1
    first.refresh_from_db()
    assert not first.active
    assert second.active
    assert LabelCalibration.objects.filter(active=True).count() == 1


def test_too_little_data_is_refused_and_p_stays_the_engines(protocol, label, curator, confirm):
    for i in range(40):
        confirm(StudyFactory(protocol=protocol), label, "positive" if i % 2 else "negative", soft_p=0.7)
    with pytest.raises(CalibrationRefused, match="at least 10 present"):
        label_calibration_fit(protocol=protocol, label=label, actor=curator)
    assert calibrated_p(calibration_maps(protocol=protocol), label.pk, 0.7) == 0.7


def test_the_page_draws_both_reliability_diagrams_and_the_fit_button_works(client_for, protocol, label, curator, overconfident):
    client = client_for(curator)
    url = f"{reverse('annotation:calibration', args=[protocol.pk])}?label={label.pk}"
    body = client.get(url).content.decode()
    assert body.count("<svg") == 1
    assert "expected calibration error" in body
    response = client.post(reverse("annotation:calibration-fit", args=[protocol.pk]), {"label": label.pk})
    assert response.status_code == 302
    body = client.get(url).content.decode()
    assert body.count('class="reliability"') == 2
    assert "Isotonic" in body
    client.post(reverse("annotation:calibration-fit", args=[protocol.pk]), {"label": label.pk, "method": "none"})
    assert not LabelCalibration.objects.filter(active=True).exists()


def test_data_scientist_sees_the_page_but_may_not_fit(client_for, protocol, label, scientist):
    client = client_for(scientist)
    assert client.get(f"{reverse('annotation:calibration', args=[protocol.pk])}?label={label.pk}").status_code == 200
    assert client.post(reverse("annotation:calibration-fit", args=[protocol.pk]), {"label": label.pk}).status_code == 404
