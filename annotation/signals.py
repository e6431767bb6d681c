"""Take deleted and moved reports out of the preview's word index in the same transaction.

Report words are patient data: a report's terms must not outlive it (or its membership of a
protocol) until the protocol's next refresh (docs/CURATION.md, the word index). Imports and the
relabel write with bulk statements and send no signals, so these receivers cost them nothing.

Deletions reach reports through Django's deletion collector (a report, its study, a queryset of
either, a cascade from the protocol), which sends pre_delete for every row before deleting any,
and post_delete after, all inside its transaction. The ids are gathered per deletion and taken out
of the index once, at the first post_delete: one set-based pass for a bulk delete, not one per
report. A move is a study saved with another protocol: its report's rows elsewhere go right after
the save (in the caller's transaction, when it holds one). A queryset `.update(protocol=...)` sends
no signal; no code path of the app does one, and the old protocol's refresh still catches it.
"""
from __future__ import annotations

import threading
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from annotation.services.report_terms import report_terms_forget
from reports.models import Report, Study

# Per thread: id(origin of a deletion) -> (the origin, kept so its id is not reused, report ids).
_deleting = threading.local()


def _pending() -> dict[int, tuple[object, set[int]]]:
    if not hasattr(_deleting, "by_origin"):
        _deleting.by_origin = {}
    return _deleting.by_origin


@receiver(pre_delete, sender=Report, dispatch_uid="annotation.report_terms.gather")
def _gather_deleted_report(
    sender: type[Report], instance: Report, origin: Any = None, **kwargs: Any
) -> None:
    _pending().setdefault(id(origin), (origin, set()))[1].add(instance.pk)


@receiver(post_delete, sender=Report, dispatch_uid="annotation.report_terms.forget")
def _forget_deleted_reports(
    sender: type[Report], instance: Report, origin: Any = None, **kwargs: Any
) -> None:
    gathered = _pending().pop(id(origin), None)
    if gathered is not None:
        report_terms_forget(report_ids=gathered[1])


@receiver(post_save, sender=Study, dispatch_uid="annotation.report_terms.moved")
def _forget_moved_report(
    sender: type[Study],
    instance: Study,
    created: bool,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if created or (update_fields is not None and "protocol" not in update_fields):
        return
    report_ids = list(Report.objects.filter(study_id=instance.pk).values_list("pk", flat=True))
    if report_ids:
        report_terms_forget(report_ids=report_ids, keep_protocol_id=instance.protocol_id)
