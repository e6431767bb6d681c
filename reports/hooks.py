"""Hooks through which higher apps extend reports without reports importing them (DESIGN.md, Layers).

Each registry is filled in the owning app's AppConfig.ready(): annotation gives the section
splitter (the engine's one definition of report sections) and the soft labels shown with a
study; imaging or training may add their own study-detail extras the same way.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (name, start, end) triples over the report text.
SectionSplitter = Callable[[str], list[tuple[str, int, int]]]
# (study, user) -> a JSON-able value shown under its key in the study's API detail.
StudyDetailExtra = Callable[[Any, Any], Any]

_section_splitter: SectionSplitter | None = None
_context_sections: frozenset[str] = frozenset()
_study_detail_extras: dict[str, StudyDetailExtra] = {}


def register_section_splitter(
    splitter: SectionSplitter, *, context_sections: frozenset[str] = frozenset()
) -> None:
    """Set the splitter, and the names of its sections that say why the study was done
    (indication, history...) rather than what it shows: pages show those muted."""
    global _section_splitter, _context_sections
    _section_splitter = splitter
    _context_sections = frozenset(context_sections)


def context_sections() -> frozenset[str]:
    """The section names that give context, not findings (empty when no splitter is registered)."""
    return _context_sections


def report_sections(text: str) -> list[tuple[str, int, int]]:
    """The report's sections; none when no app registered a splitter (the text is kept whole)."""
    if _section_splitter is None:
        return []
    return _section_splitter(text)


def register_study_detail_extra(key: str, extra: StudyDetailExtra) -> None:
    if key in _study_detail_extras and _study_detail_extras[key] is not extra:
        raise ValueError(f"Study detail key {key!r} is already registered")
    _study_detail_extras[key] = extra


def study_detail_extras(study: Any, user: Any) -> dict[str, Any]:
    """Every registered extra for one study; the caller has checked that the user may see it."""
    return {key: extra(study, user) for key, extra in sorted(_study_detail_extras.items())}


# protocol id -> None, called once an import that added or changed reports has committed
# (annotation queues a relabel; monitoring scores the new studies with a deployed in-app model).
# Listeners must only queue work: they run in the importing process, and a failure is theirs
# (logged by the caller), never the import's.
ImportListener = Callable[[int], None]
_import_listeners: list[ImportListener] = []


def register_import_listener(listener: ImportListener) -> None:
    if listener not in _import_listeners:
        _import_listeners.append(listener)


def import_committed(protocol_id: int) -> None:
    """Tell every registered listener that new or changed reports of the protocol are committed."""
    import logging

    for listener in list(_import_listeners):
        try:
            listener(protocol_id)
        except Exception:  # noqa: BLE001 - a listener's failure must not fail the import
            logging.getLogger(__name__).exception("import listener failed for protocol %s", protocol_id)
