"""The soft-label engine benchmark, run by `python manage.py bench_softlabel` (config's thin command):

    manage.py bench_softlabel [--count N [--distinct] | --input FILE.jsonl] [--processes P]
       [--reference-sample M] [--end-to-end]

Labels synthetic chest X-ray reports (annotation.engine.synthetic; with --distinct, reports whose
sentences carry dates, measurements, levels and sides, so that most sentences occur once and the
segment cache cannot carry the run), or the "text" of each line of a JSONL file given with
--input (real reports), on one process and on P processes, runs the medspaCy reference on a
sample in the same run, and prints reports/s, MB/s, peak memory and the engine / reference speed
ratio. No database.

--end-to-end also writes the reports to a temporary JSONL file and runs the whole
``manage.py softlabel`` command on it in a child process (start-up, reading, writing included),
timed from the child's own resource usage (CPU, peak RSS), and compares that with the reference.

Start-up is printed apart from labelling: CPU seconds spent before the command's handler ran
(Python, Django, spaCy import), and the Labeler compile (tokenizer, matcher, spelling index).
The 1-process labelling rate excludes both; the segment cache starts empty.

Each rate is given twice: per wall-clock second and per CPU second (user + sys of this process
and its worker processes). On a shared, loaded machine wall time measures the neighbours too;
CPU time is the figure to compare between runs.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from annotation.engine.batch import InputError, label_json_lines, read_jsonl
from annotation.engine.labeler import ENGINE_VERSION, Labeler
from annotation.engine.schema import load_builtin_schema
from annotation.engine.synthetic import generate_distinct_reports, generate_reports


def cpu_seconds() -> float:
    """User + sys CPU seconds of this process plus its finished children (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_mb() -> float:
    # ru_maxrss is KiB on Linux; children counted separately (worker processes).
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def bench_softlabel(*, options: Mapping[str, Any], write: Callable[[str], None], startup_cpu: float) -> None:
    """Run the benchmark the command's `options` describe; `startup_cpu` is cpu_seconds() taken
    when the command's handler started (Python, Django and spaCy import before it)."""
    count, processes, sample = options["count"], options["processes"], options["reference_sample"]
    if count < 1 or processes < 1 or sample < 0:
        raise CommandError("--count and --processes must be >= 1, --reference-sample >= 0")
    if options["input"]:
        try:
            _ids, texts = read_jsonl(options["input"])
        except InputError as exc:
            raise CommandError(str(exc)) from exc
        count, source = len(texts), f"reports from {options['input']}"
    elif options["distinct"]:
        texts = generate_distinct_reports(count, seed=options["seed"])
        source = "synthetic reports, mostly distinct sentences"
    else:
        texts = generate_reports(count, seed=options["seed"])
        source = "synthetic reports"
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    write(f"engine {ENGINE_VERSION}; {count} {source}, {megabytes:.2f} MB")
    c0 = cpu_seconds()
    schema = load_builtin_schema("chexpert")
    labeler = Labeler(schema)
    compile_cpu = cpu_seconds() - c0
    write(
        f"start-up: {startup_cpu:.2f} s CPU before the command ran (Python, Django, spaCy import)"
        f" + {compile_cpu:.2f} s CPU Labeler compile"
    )

    t0, c0 = time.perf_counter(), cpu_seconds()
    for _ in label_json_lines(schema, texts, processes=1, labeler=labeler):
        pass
    single, single_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    write(
        f"engine, 1 process:   {count / single:,.0f} reports/s wall  {megabytes / single:.2f} MB/s"
        f"  | {count / single_cpu:,.0f} reports/s per CPU second ({single_cpu:.2f} s CPU)"
    )
    multi = None
    if processes > 1:
        # A freshly compiled Labeler (cold caches, like the 1-process run) that the forked
        # workers inherit; the compile is timed above, not here.
        fresh = Labeler(schema)
        t0, c0 = time.perf_counter(), cpu_seconds()
        for _ in label_json_lines(schema, texts, processes=processes, labeler=fresh):
            pass
        multi, multi_cpu = time.perf_counter() - t0, cpu_seconds() - c0
        write(
            f"engine, {processes} processes: {count / multi:,.0f} reports/s wall  {megabytes / multi:.2f} MB/s"
            f"  (x{single / multi:.2f} over 1 process)"
            f"  | {count / multi_cpu:,.0f} reports/s per CPU second ({multi_cpu:.2f} s CPU, all processes)"
        )
    if sample:
        from benchmarks.reference import build_reference, reference_label

        sample_texts = texts[:sample]
        nlp = build_reference(schema)
        t0, c0 = time.perf_counter(), cpu_seconds()
        reference_label(nlp, sample_texts)
        ref, ref_cpu = time.perf_counter() - t0, cpu_seconds() - c0
        ref_rate = len(sample_texts) / ref
        ref_cpu_rate = len(sample_texts) / ref_cpu
        write(
            f"reference (medspaCy), 1 process: {ref_rate:,.0f} reports/s wall"
            f"  | {ref_cpu_rate:,.0f} reports/s per CPU second, on {len(sample_texts)}"
        )
        write(
            f"speed ratio engine/reference (1 process): {count / single / ref_rate:.1f}x wall,"
            f" {count / single_cpu / ref_cpu_rate:.1f}x CPU"
        )
    if options["end_to_end"]:
        e2e_cpu, e2e_wall, e2e_rss = _run_softlabel(texts, processes)
        write(
            f"softlabel command end to end ({processes} process{'es' if processes > 1 else ''}, start-up included):"
            f" {count / e2e_cpu:,.0f} reports per CPU second ({e2e_cpu:.2f} s CPU),"
            f" {count / e2e_wall:,.0f} reports/s wall ({e2e_wall:.2f} s), peak RSS {e2e_rss:.0f} MB"
        )
        if sample:
            write(
                f"speed ratio softlabel command / reference: {count / e2e_wall / ref_rate:.1f}x wall,"
                f" {count / e2e_cpu / ref_cpu_rate:.1f}x CPU"
            )
    write(f"peak memory: {_peak_mb():.0f} MB (max RSS of this process / workers)")


def _run_softlabel(texts: list[str], processes: int) -> tuple[float, float, float]:
    """Run ``manage.py softlabel`` on ``texts`` in a child; return (CPU s, wall s, peak RSS MB).

    CPU comes from the child's own rusage (its pool workers included), not from this process,
    which has already imported spaCy and the reference pipeline. Peak RSS does not: Linux
    carries the high-water mark of the memory a process had before ``exec`` into its
    ``ru_maxrss``, and the child starts as a copy of this (larger) process, so the rusage figure
    was this process's size. The child's own peak is read from ``/proc/PID/status`` (VmHWM,
    since its ``exec``) while it runs; ``ru_maxrss`` is the fallback without /proc.
    """
    manage = Path(settings.BASE_DIR) / "manage.py"
    with tempfile.TemporaryDirectory(prefix="bench_softlabel_") as tmp:
        inp, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        with open(inp, "w", encoding="utf-8") as fh:
            for i, text in enumerate(texts):
                fh.write(json.dumps({"id": str(i), "text": text}, ensure_ascii=False) + "\n")
        args = [sys.executable, str(manage), "softlabel", str(inp), "--schema", "chexpert", "--out", str(out),
                "--processes", str(processes)]
        with open(Path(tmp) / "stderr.txt", "w+b") as err:
            t0 = time.perf_counter()
            child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
            peak_kb = 0
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)  # the child's own rusage
                if pid:
                    break
                peak_kb = max(peak_kb, _tree_hwm_kb(child.pid))
                time.sleep(0.02)
            wall = time.perf_counter() - t0
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode != 0:
                err.seek(0)
                message = err.read().decode(errors="replace")[-500:]
                raise CommandError(f"softlabel failed ({child.returncode}): {message}")
    return usage.ru_utime + usage.ru_stime, wall, (peak_kb or usage.ru_maxrss) / 1024.0


def _tree_hwm_kb(pid: int) -> int:
    """Peak resident memory (KiB) of a live process since its exec, or of its largest worker
    process if larger (workers are forks: their peak counts the pages they share with it);
    0 where /proc lacks it."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            workers = [int(p) for p in fh.read().split()]
    except (OSError, ValueError):
        workers = []
    peak = 0
    for process in (pid, *workers):
        try:
            with open(f"/proc/{process}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
                        break
        except (OSError, ValueError):
            continue
    return peak
