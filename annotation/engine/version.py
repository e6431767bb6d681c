"""The engine's version, kept apart from the labeler so reading it does not load spaCy."""
from __future__ import annotations

# Stored on every soft label: a change here marks every report stale for the next relabel.
ENGINE_VERSION = "radlabel-engine 1.4.0"
