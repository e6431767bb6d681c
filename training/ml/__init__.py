"""Pure torch / numpy training code: no Django, no project imports; torch imported lazily."""
from __future__ import annotations
