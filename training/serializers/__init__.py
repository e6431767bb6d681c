"""DRF input and output shapes, one module per area."""
from __future__ import annotations
