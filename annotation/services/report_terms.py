"""Keep a protocol's word index (selectors/report_terms.py) equal to its reports' texts."""
from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Collection

from django.db import transaction

from annotation.models import ReportTerms, TermPostings
from annotation.selectors.report_terms import outdated_reports, pack_ids, text_terms, unpack_ids
from reports.models import Protocol, Report

_IN_CHUNK = 900  # ids per IN (...) list: under SQLite's bound-parameter limit


def report_terms_refresh(*, protocol: Protocol) -> dict[str, int]:
    """Index the protocol's new and changed reports and drop those deleted or moved; return counts.

    Cheap when nothing changed (two queries). The relabel calls it after each pass, so imports and
    edits reach the index with the soft labels; the preview never depends on it having run.
    """
    with transaction.atomic():
        # One refresh of a protocol at a time: two would both add the same reports to a posting.
        Protocol.objects.select_for_update().filter(pk=protocol.pk).first()
        outdated = outdated_reports(protocol)
        if not outdated.changed and not outdated.gone:
            return {"indexed": 0, "dropped": 0}
        touched = outdated.changed + outdated.gone
        before: dict[int, set[str]] = {}
        for start in range(0, len(touched), _IN_CHUNK):
            rows = ReportTerms.objects.filter(protocol=protocol, report_id__in=touched[start : start + _IN_CHUNK])
            for report_id, terms in rows.values_list("report_id", "terms"):
                before[report_id] = set(terms.split())
        added: dict[str, list[int]] = defaultdict(list)
        removed: dict[str, set[int]] = defaultdict(set)
        rows_now: list[ReportTerms] = []
        for start in range(0, len(outdated.changed), _IN_CHUNK):
            page = Report.objects.filter(pk__in=outdated.changed[start : start + _IN_CHUNK])
            for report_id, text, updated_at, sha in page.values_list("pk", "text", "updated_at", "text_sha256"):
                terms = text_terms(text)
                old = before.get(report_id, set())
                for term in terms - old:
                    added[term].append(report_id)
                for term in old - terms:
                    removed[term].add(report_id)
                rows_now.append(ReportTerms(
                    report_id=report_id, protocol=protocol, report_updated_at=updated_at, text_sha256=sha,
                    terms=" ".join(sorted(terms)),
                ))
        for report_id in outdated.gone:
            for term in before.get(report_id, ()):
                removed[term].add(report_id)
        _postings_apply(protocol.pk, added, removed)
        # A report moved to another protocol keeps its row there until that protocol's refresh.
        for start in range(0, len(touched), _IN_CHUNK):
            ReportTerms.objects.filter(protocol=protocol, report_id__in=touched[start : start + _IN_CHUNK]).delete()
        ReportTerms.objects.bulk_create(rows_now, batch_size=2000)
    return {"indexed": len(rows_now), "dropped": len(outdated.gone)}


def report_terms_forget(*, report_ids: Collection[int], keep_protocol_id: int | None = None) -> int:
    """Take reports out of every protocol's index but `keep_protocol_id`'s; return rows dropped.

    For reports deleted or moved away, in the transaction that deletes or moves them
    (annotation/signals.py): report words are patient data, so they must not wait for the
    protocol's next refresh. The reports' rows go, their ids leave the postings, and a posting
    left empty goes with them. One query when none of the reports is indexed.
    """
    ids = sorted(set(report_ids))
    # Every protocol, as a subquery: with the report ids it pins both columns of the unique
    # (protocol, report_id) index, so the lookup never walks a protocol's rows.
    protocols = Protocol.objects.exclude(pk=keep_protocol_id).values("pk")
    with transaction.atomic():
        concerned: set[int] = set()
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            rows = ReportTerms.objects.filter(protocol__in=protocols, report_id__in=chunk)
            concerned.update(rows.values_list("protocol_id", flat=True))
        if not concerned:
            return 0
        # As in report_terms_refresh, and read again once locked: a refresh running meanwhile may
        # have indexed one of these reports before it was deleted.
        locked = Protocol.objects.select_for_update().filter(pk__in=concerned).order_by("pk")
        concerned = set(locked.values_list("pk", flat=True))
        removed: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        row_pks: list[int] = []
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            rows = ReportTerms.objects.filter(protocol__in=concerned, report_id__in=chunk)
            for pk, protocol_id, report_id, terms in rows.values_list(
                "pk", "protocol_id", "report_id", "terms"
            ):
                row_pks.append(pk)
                for term in terms.split():
                    removed[protocol_id][term].add(report_id)
        for protocol_id, terms_removed in removed.items():
            _postings_apply(protocol_id, {}, terms_removed)
        for start in range(0, len(row_pks), _IN_CHUNK):
            ReportTerms.objects.filter(pk__in=row_pks[start : start + _IN_CHUNK]).delete()
    return len(row_pks)


def _postings_apply(
    protocol_id: int, added: dict[str, list[int]], removed: dict[str, set[int]]
) -> None:
    """Add and remove report ids in the postings of the terms concerned; drop postings left empty."""
    terms = sorted(added.keys() | removed.keys())
    current: dict[str, tuple[int, array[int]]] = {}
    for start in range(0, len(terms), _IN_CHUNK):
        chunk = terms[start : start + _IN_CHUNK]
        rows = TermPostings.objects.filter(protocol_id=protocol_id, term__in=chunk)
        for pk, term, blob in rows.values_list("pk", "term", "reports"):
            current[term] = (pk, unpack_ids(blob))
    create: list[TermPostings] = []
    update: list[TermPostings] = []
    empty: list[int] = []
    for term in terms:
        pk, ids = current.get(term, (None, array("q")))
        posting = {"protocol_id": protocol_id, "term": term}
        gone = removed.get(term, set())
        merged = [i for i in ids if i not in gone] if gone else list(ids)
        merged.extend(added.get(term, ()))
        if pk is None:
            if merged:
                create.append(TermPostings(**posting, reports=pack_ids(merged)))
        elif merged:
            update.append(TermPostings(pk=pk, **posting, reports=pack_ids(merged)))
        else:
            empty.append(pk)
    for start in range(0, len(empty), _IN_CHUNK):
        TermPostings.objects.filter(pk__in=empty[start : start + _IN_CHUNK]).delete()
    TermPostings.objects.bulk_update(update, ["reports"], batch_size=500)
    TermPostings.objects.bulk_create(create, batch_size=500)
