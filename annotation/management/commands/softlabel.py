"""python manage.py softlabel INPUT.jsonl --schema chexpert|PATH.yaml --out OUTPUT.jsonl

Runs right after install: no database, no migrations, no system checks. Bad input stops with a
message naming the line or key and leaves no output file (the output is written to a temp file
and renamed at the end).
"""
from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.engine.batch import InputError, default_processes, label_file
from annotation.engine.schema import SchemaError


class Command(BaseCommand):
    help = "Soft-label a JSONL file of reports with a built-in schema or a schema YAML (no database)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("input", help="JSONL, one {\"id\": ..., \"text\": ...} per line")
        parser.add_argument("--schema", required=True, help="built-in schema name (chexpert) or a YAML path")
        parser.add_argument("--out", required=True, help="output JSONL path")
        parser.add_argument(
            "--processes", type=int, default=None,
            help="worker processes (default: the cores this process may use, see taskset)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        processes = options["processes"]
        if processes is None:
            processes = default_processes()
        if processes < 1:
            raise CommandError("--processes must be >= 1")
        out = options["out"]
        if os.path.isdir(out):
            raise CommandError(f"--out {out}: is a directory")
        try:
            stats = label_file(options["input"], options["schema"], out, processes=processes)
        except KeyError as exc:
            raise CommandError(f"--schema: {exc.args[0]}") from exc
        except (SchemaError, InputError) as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"labelled {stats['reports']} reports with schema {stats['schema']} -> {out}")
