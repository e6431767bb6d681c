"""Data files of the soft-label engine (schemas, ConText rules, section titles, word lists)."""
from __future__ import annotations
