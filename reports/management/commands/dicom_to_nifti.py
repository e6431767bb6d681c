"""python manage.py dicom_to_nifti SERIES_DIR OUT.nii.gz

Converts the one DICOM series in SERIES_DIR to a NIfTI-1 volume. Needs no database. An
inconsistent series (missing slices, mixed orientations, varying spacing, several series in
one folder) stops with a message naming the problem, and nothing is written.
"""
from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from reports.dicom.nifti import ConversionError, dicom_to_nifti


def _folder_hint(series_dir: Path) -> str:
    # A study folder (one sub-folder per series) is the usual mistake: sub-folders are not read.
    folders = sorted(entry.name for entry in series_dir.iterdir() if entry.is_dir())
    if not folders or any(entry.is_file() for entry in series_dir.iterdir()):
        return ""
    shown = ", ".join(folders[:3]) + (", ..." if len(folders) > 3 else "")
    return f" (sub-folders are not read: give one series' folder, e.g. {series_dir / folders[0]}; here: {shown})"


class Command(BaseCommand):
    help = "Convert one DICOM series folder to a NIfTI volume (no database)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("series_dir", help="folder holding the DICOM files of one series")
        parser.add_argument("out", help="output path, .nii or .nii.gz")

    def handle(self, *args: Any, **options: Any) -> None:
        series_dir, out = Path(options["series_dir"]), Path(options["out"])
        if not series_dir.is_dir():
            raise CommandError(f"{series_dir}: not a folder")
        if not out.name.endswith((".nii", ".nii.gz")):
            raise CommandError(f"{out}: the output name must end in .nii or .nii.gz")
        try:
            volume = dicom_to_nifti(series_dir, out)
        except ConversionError as exc:
            raise CommandError(f"{exc}{_folder_hint(series_dir)}") from exc
        x, y, z = volume.spacing
        self.stderr.write(f"wrote {out} ({len(volume.order)} slices, voxel {x:.3g} x {y:.3g} x {z:.3g} mm)")
