"""Slice PNGs for the viewer, rendered once per (file, preset, size) and cached on disk.

The cache is keyed by the stored file's SHA-256, so a re-imported or changed file can never be
served from a stale picture, and it lives under the var folder, which is as private as the
DICOM storage itself. Every image served is audited like a read of report text.
"""
from __future__ import annotations

from pathlib import Path

import pydicom
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from reports.dicom.files import write_atomic
from reports.dicom.render import DEFAULT_PRESET, PRESETS, render_png
from reports.models import AuditAction, DicomInstance, DicomSeries, Study
from reports.services.audit import audit_record
from reports.services.dicom import dicom_storage_dir

SIZES = {"thumb": 128, "view": 512}
PRESET_CHOICES = (DEFAULT_PRESET, *PRESETS)


def _cache_path(instance: DicomInstance, preset: str, size: str) -> Path:
    return Path(settings.IMAGE_CACHE_DIR) / instance.sha256[:2] / f"{instance.sha256}-{preset}-{size}.png"


def instance_png(*, study: Study, instance: DicomInstance, preset: str, size: str) -> bytes:
    """The slice as PNG; renders and caches it on first use. `preset` and `size` are validated by the caller."""
    cached = _cache_path(instance, preset, size)
    if cached.exists():
        return cached.read_bytes()
    dataset = pydicom.dcmread(dicom_storage_dir(study.protocol) / instance.path)
    data = render_png(dataset, preset=preset, max_side=SIZES[size])
    write_atomic(cached, data)
    return data


def image_read_audit(
    *, actor: AbstractBaseUser | AnonymousUser, study: Study, series: DicomSeries, index: int, request: HttpRequest
) -> None:
    audit_record(actor=actor, action=AuditAction.IMAGE_READ, obj=study, protocol=study.protocol, request=request,
                 detail={"series": series.pk, "slice": index})
