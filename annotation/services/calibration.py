"""Calibration of p per label: fit on confirmations and judgements, check on held-out ones.

Threshold: a fit needs at least 50 (p, outcome) pairs in the fit split with at least 10 of each
outcome (finding present / absent). Isotonic regression from 200 pairs on, Platt scaling below
(two parameters overfit small data less than isotonic's steps). The active map applies at read
time (annotation.selectors.quality.calibration_maps): soft labels in the database keep the
engine's p, so relabels and phrase previews are unaffected by a calibration.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.http import HttpRequest

from annotation.audit import AUDIT_CALIBRATION
from annotation.metrics.calibration import (
    apply_calibration,
    expected_calibration_error,
    fit_isotonic,
    fit_platt,
)
from annotation.models import CalibrationMethod, Label, LabelCalibration
from annotation.selectors.quality import ISOTONIC_MIN_FIT, calibration_data
from reports.models import Protocol
from reports.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser



class CalibrationRefused(ValueError):
    """Not enough judged data to fit a calibration."""


def label_calibration_fit(
    *,
    protocol: Protocol,
    label: Label,
    actor: AbstractBaseUser | None,
    method: str | None = None,
    request: HttpRequest | None = None,
) -> LabelCalibration:
    """Fit a calibration of `label`'s p on the fit split and make it the active one. Audited."""
    data = calibration_data(protocol=protocol, label=label)
    if not data.enough:
        raise CalibrationRefused(
            "Not enough judged data: a calibration needs 50 confirmations or judgements with at "
            f"least 10 present and 10 absent (have {len(data.fit_ys)}, {sum(data.fit_ys)} present)."
        )
    if method is None:
        method = CalibrationMethod.ISOTONIC if len(data.fit_ys) >= ISOTONIC_MIN_FIT else CalibrationMethod.PLATT
    if method == CalibrationMethod.ISOTONIC:
        params = fit_isotonic(data.fit_ps, data.fit_ys)
    elif method == CalibrationMethod.PLATT:
        params = fit_platt(data.fit_ps, data.fit_ys)
    else:
        raise CalibrationRefused(f"Unknown method {method!r}.")
    before = expected_calibration_error(data.held_ps, data.held_ys)
    after = expected_calibration_error([apply_calibration(params, p) for p in data.held_ps], data.held_ys)
    positives = sum(data.fit_ys)
    with transaction.atomic():
        LabelCalibration.objects.select_for_update().filter(protocol=protocol, label=label, active=True).update(
            active=False
        )
        calibration = LabelCalibration.objects.create(
            protocol=protocol,
            label=label,
            method=method,
            params=params,
            fitted_on=len(data.fit_ys),
            positives=positives,
            negatives=len(data.fit_ys) - positives,
            held_out=len(data.held_ys),
            ece_before=before,
            ece_after=after,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        audit_record(
            actor=actor,
            action=AUDIT_CALIBRATION,
            obj=calibration,
            protocol=protocol,
            request=request,
            detail={"label": label.pk, "method": method, "fitted_on": calibration.fitted_on},
        )
    return calibration


def label_calibration_clear(
    *, protocol: Protocol, label: Label, actor: AbstractBaseUser, request: HttpRequest | None = None
) -> int:
    """Switch the label's calibration off (p is the engine's again). Audited."""
    with transaction.atomic():
        cleared = LabelCalibration.objects.filter(protocol=protocol, label=label, active=True).update(active=False)
        audit_record(
            actor=actor, action=AUDIT_CALIBRATION, obj=label, protocol=protocol, request=request,
            detail={"label": label.pk, "method": "none", "cleared": cleared},
        )
    return cleared
