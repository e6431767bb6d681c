"""The phrase-preview benchmark: preview an edit over N reports, save it, relabel, compare.

Builds N synthetic reports in a throwaway protocol read with the built-in chexpert schema,
relabels them once and builds the word index as the relabel job does (not timed), then for one
edit of one label: previews it (timed, with its breakdown: compiling the new labeler, finding
candidate reports, fetching their texts, reading their stored soft labels, the engine over them,
the comparison), saves it (the job runs here), relabels (timed: the reference, the full relabel
of the same reports that the preview predicts) and checks that the studies whose soft labels
changed are exactly the preview's list. The built-in schema's phrases are put
back afterwards, the protocol is deleted unless `keep`.
"""
from __future__ import annotations

import resource
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction

from annotation.apps import RELABEL_JOB
from annotation.models import Label, PhraseChange, ReportTerms, SoftLabel, TermPostings
from annotation.selectors.phrase_preview import phrase_preview
from annotation.services.phrases import (
    PhraseEdit,
    _plan_write,
    engine_schema_after,
    phrase_change_save,
    phrase_edit_plan,
    phrase_revert_plan,
)
from annotation.services.relabel import relabel_protocol
from annotation.services.report_terms import report_terms_refresh
from annotation.services.schemas import labeler_for_schema, schema_for_protocol, schema_to_engine
from benchmarks.relabel import _make_protocol
from reports.models import Job, Protocol, Report, Study
from reports.services.jobs import job_start, job_succeed

DEFAULT_LABEL = "Pleural Effusion"
DEFAULT_ADD = ("pleural collection", "fluid collection")
DEFAULT_DISABLE = ("hydrothorax",)


def _relabel(protocol: Protocol, job: Job | None = None) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    job = job_start(job_id=(job or Job.objects.create(kind=RELABEL_JOB, protocol=protocol)).pk)
    counts = relabel_protocol(protocol=protocol, job=job)
    job_succeed(job=job, result=counts)
    return counts, time.monotonic() - started


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the preview's forked labelling processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _snapshot(protocol: Protocol) -> dict[tuple[int, int], tuple[Any, ...]]:
    rows = SoftLabel.objects.filter(report__study__protocol=protocol).values_list(
        "report__study_id", "label_id", "value", "p", "evidence"
    )
    return {(study, label): (value, p, evidence) for study, label, value, p, evidence in rows.iterator(chunk_size=10_000)}


def bench_preview(
    *,
    count: int,
    write: Callable[[str], None],
    label_name: str = DEFAULT_LABEL,
    add: tuple[str, ...] = DEFAULT_ADD,
    disable: tuple[str, ...] = DEFAULT_DISABLE,
    seed: int = 0,
    keep: bool = False,
) -> bool:
    """Run the benchmark; return True when the relabel changed exactly the previewed studies."""
    # Check the edit before building N reports (PhraseEditInvalid names what is wrong).
    unsaved = Protocol()
    phrase_edit_plan(
        protocol=unsaved, label=Label.objects.get(schema=schema_for_protocol(unsaved), name=label_name),
        edit=PhraseEdit(add=add, disable=disable),
    )
    protocol = _make_protocol(count, seed, write)
    change: PhraseChange | None = None
    try:
        schema = schema_for_protocol(protocol)
        counts, seconds = _relabel(protocol)
        write(f"initial relabel: {counts['reports']} reports in {seconds:.1f} s (not the benchmark)")
        started = time.monotonic()
        report_terms_refresh(protocol=protocol)  # the relabel job's last step
        write(f"word index of {counts['reports']} reports built in {time.monotonic() - started:.1f} s (not the benchmark)")
        label = Label.objects.get(schema=schema, name=label_name)
        edit = PhraseEdit(add=add, disable=disable)
        write(f"edit on {label_name!r}: add {list(add)}, disable {list(disable)}")

        started = time.monotonic()
        cpu = time.process_time()
        forked_cpu = _children_cpu()
        old_schema = schema_to_engine(schema)
        labeler_for_schema(old_schema)  # a worker keeps the current labeler compiled
        plan = phrase_edit_plan(protocol=protocol, label=label, edit=edit)
        new_schema = engine_schema_after(protocol=protocol, plan=plan)
        compiled = time.monotonic()
        labeler_for_schema(new_schema)
        compiled = time.monotonic() - compiled
        preview = phrase_preview(protocol=protocol, old_schema=old_schema, new_schema=new_schema)
        seconds = time.monotonic() - started
        cpu = time.process_time() - cpu
        forked_cpu = _children_cpu() - forked_cpu
        write(
            f"preview: {seconds:.2f} s wall, {cpu:.2f} s CPU here + {forked_cpu:.2f} s in labelling processes; {preview.candidates} of {preview.reports} reports "
            f"read by the engine ({preview.flagged_words} flagged words, {preview.stale} stale, "
            f"{preview.processes} labelling process(es))"
        )
        steps = {"compile new labeler": compiled, **preview.timings}
        write("  " + ", ".join(f"{name} {value:.2f} s" for name, value in steps.items())
              + ("  (the engine ran beside the read of stored labels)" if preview.processes > 1 else ""))
        preview_seconds = seconds
        write(f"preview says: {preview.changed} studies change; transitions {preview.transitions()}")

        before = _snapshot(protocol)
        change = phrase_change_save(protocol=protocol, plan=plan, actor=None, reason="bench_preview", enqueue=lambda _pk: None)
        counts, seconds = _relabel(protocol, change.job)
        write(f"reference, the relabel after saving: {counts['reports']} reports in {seconds:.2f} s "
              f"({counts['written']} written, {counts['removed']} removed, {counts['unchanged']} unchanged); "
              f"preview / relabel = {preview_seconds / seconds:.2f}")
        after = _snapshot(protocol)
        changed = sorted({key[0] for key in before.keys() | after.keys() if before.get(key) != after.get(key)})
        same = changed == preview.studies
        if same:
            write(f"verified: the relabel changed exactly the {len(changed)} previewed studies")
        else:
            missed = sorted(set(changed) - set(preview.studies))[:10]
            extra = sorted(set(preview.studies) - set(changed))[:10]
            write(f"MISMATCH: relabel changed {len(changed)} studies, preview listed {preview.changed}; "
                  f"missed {missed}, extra {extra}")
        return same
    finally:
        if change is not None:
            # Put the built-in schema's phrases back as they were; the change's history goes with the protocol.
            with transaction.atomic():  # the write locks the phrases (select_for_update)
                _plan_write(phrase_revert_plan(change=change))
                PhraseChange.objects.filter(pk=change.pk).delete()
        if not keep:
            _drop_data(protocol)


def _drop_data(protocol: Protocol) -> None:
    """Delete the benchmark's reports, studies, soft labels and jobs, bottom-up.

    The protocol row stays (renamed as closed): the saved change wrote an audit row that points
    at it, and the audit log is append-only (a delete would have to null that pointer).
    """
    SoftLabel.objects.filter(report__study__protocol=protocol).delete()
    ReportTerms.objects.filter(protocol=protocol).delete()
    TermPostings.objects.filter(protocol=protocol).delete()
    Report.objects.filter(study__protocol=protocol).delete()
    Study.objects.filter(protocol=protocol).delete()
    Job.objects.filter(protocol=protocol).delete()
    Protocol.objects.filter(pk=protocol.pk).update(title="relabel benchmark (data deleted)")
