"""PACS sources: find and retrieve studies over DICOMweb (QIDO-RS / WADO-RS) and DIMSE
(C-FIND / C-MOVE with pynetdicom). No Django here: the service in reports.services.pacs feeds what
these modules fetch into the ordinary DICOM folder import, so de-identification, linking and
idempotence are the same whichever way a study arrives.
"""
from __future__ import annotations
