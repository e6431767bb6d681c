"""Management commands of the annotation app."""
from __future__ import annotations
