"""python manage.py bench_softlabel [--count N | --input FILE.jsonl] [--processes P] [--reference-sample M]

Labels synthetic chest X-ray reports (annotation.engine.synthetic), or the "text" of each line of
a JSONL file given with --input (real reports: far fewer repeated sentences, so the segment cache
helps much less), on one process and on P processes, runs the medspaCy reference on a sample in
the same run, and prints reports/s, MB/s, peak memory and the engine / reference speed ratio.
No database.

Start-up is printed apart from labelling: CPU seconds spent before the command's handler ran
(Python, Django, spaCy import), and the Labeler compile (tokenizer, matcher, spelling index).
The 1-process labelling rate excludes both; the segment cache starts empty.

Each rate is given twice: per wall-clock second and per CPU second (user + sys of this process
and its worker processes). On a shared, loaded machine wall time measures the neighbours too;
CPU time is the figure to compare between runs.
"""
from __future__ import annotations

import os
import resource
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.engine.batch import InputError, label_json_lines, read_jsonl
from annotation.engine.labeler import ENGINE_VERSION, Labeler
from annotation.engine.schema import load_builtin_schema
from annotation.engine.synthetic import generate_reports


def _cpu_seconds() -> float:
    """User + sys CPU seconds of this process plus its finished children (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_mb() -> float:
    # ru_maxrss is KiB on Linux; children counted separately (worker processes).
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


class Command(BaseCommand):
    help = "Benchmark the soft-label engine (synthetic reports or --input FILE) against a medspaCy reference."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--count", type=int, default=20_000)
        parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
        parser.add_argument("--reference-sample", type=int, default=500)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--input", metavar="FILE", help="JSONL of {\"id\", \"text\"} to label instead of synthetic reports"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        startup_cpu = _cpu_seconds()  # interpreter + Django + imports (spaCy), before any work
        count, processes, sample = options["count"], options["processes"], options["reference_sample"]
        if count < 1 or processes < 1 or sample < 0:
            raise CommandError("--count and --processes must be >= 1, --reference-sample >= 0")
        if options["input"]:
            try:
                _ids, texts = read_jsonl(options["input"])
            except InputError as exc:
                raise CommandError(str(exc)) from exc
            count, source = len(texts), f"reports from {options['input']}"
        else:
            texts = generate_reports(count, seed=options["seed"])
            source = "synthetic reports"
        megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        self.stdout.write(f"engine {ENGINE_VERSION}; {count} {source}, {megabytes:.2f} MB")
        c0 = _cpu_seconds()
        schema = load_builtin_schema("chexpert")
        labeler = Labeler(schema)
        compile_cpu = _cpu_seconds() - c0
        self.stdout.write(
            f"start-up: {startup_cpu:.2f} s CPU before the command ran (Python, Django, spaCy import)"
            f" + {compile_cpu:.2f} s CPU Labeler compile"
        )

        t0, c0 = time.perf_counter(), _cpu_seconds()
        for _ in label_json_lines(schema, texts, processes=1, labeler=labeler):
            pass
        single, single_cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        self.stdout.write(
            f"engine, 1 process:   {count / single:,.0f} reports/s wall  {megabytes / single:.2f} MB/s"
            f"  | {count / single_cpu:,.0f} reports/s per CPU second ({single_cpu:.2f} s CPU)"
        )
        multi = None
        if processes > 1:
            # A freshly compiled Labeler (cold caches, like the 1-process run) that the forked
            # workers inherit; the compile is timed above, not here.
            fresh = Labeler(schema)
            t0, c0 = time.perf_counter(), _cpu_seconds()
            for _ in label_json_lines(schema, texts, processes=processes, labeler=fresh):
                pass
            multi, multi_cpu = time.perf_counter() - t0, _cpu_seconds() - c0
            self.stdout.write(
                f"engine, {processes} processes: {count / multi:,.0f} reports/s wall  {megabytes / multi:.2f} MB/s"
                f"  (x{single / multi:.2f} over 1 process)"
                f"  | {count / multi_cpu:,.0f} reports/s per CPU second ({multi_cpu:.2f} s CPU, all processes)"
            )
        if sample:
            from annotation.engine.reference import build_reference, reference_label

            sample_texts = texts[:sample]
            nlp = build_reference(schema)
            t0, c0 = time.perf_counter(), _cpu_seconds()
            reference_label(nlp, sample_texts)
            ref, ref_cpu = time.perf_counter() - t0, _cpu_seconds() - c0
            ref_rate = len(sample_texts) / ref
            ref_cpu_rate = len(sample_texts) / ref_cpu
            self.stdout.write(
                f"reference (medspaCy), 1 process: {ref_rate:,.0f} reports/s wall"
                f"  | {ref_cpu_rate:,.0f} reports/s per CPU second, on {len(sample_texts)}"
            )
            self.stdout.write(
                f"speed ratio engine/reference (1 process): {count / single / ref_rate:.1f}x wall,"
                f" {count / single_cpu / ref_cpu_rate:.1f}x CPU"
            )
        self.stdout.write(f"peak memory: {_peak_mb():.0f} MB (max RSS of this process / workers)")
