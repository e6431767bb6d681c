"""Report file importers: the pure parsing core (`parse`), used by reports.services.imports."""
from __future__ import annotations
