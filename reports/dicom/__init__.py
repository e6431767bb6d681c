"""DICOM handling that needs no database: series geometry, DICOM -> NIfTI, de-identification.

Pure modules (pydicom, numpy and nibabel only; no Django, no other project module), so the
`dicom_to_nifti` command runs without a database and the rules can be tested file by file.
"""
from __future__ import annotations
