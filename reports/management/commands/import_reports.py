"""python manage.py import_reports FILE --protocol IRB_NUMBER [--format csv|jsonl]"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.importers.parse import FORMATS, FormatError, detect_format
from reports.models import Protocol
from reports.services.imports import ImportRejected, report_import


class Command(BaseCommand):
    help = "Import a CSV or JSONL file of reports into a protocol: every row, or nothing (see docs/IMPORT.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--protocol", required=True, help="IRB number of the protocol")
        parser.add_argument("--format", choices=[*FORMATS, "ndjson"], help="default: from the file extension")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        protocol = Protocol.objects.filter(irb_number=options["protocol"]).first()
        if protocol is None:
            raise CommandError("No protocol with that IRB number.")
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            fmt = detect_format(path.name, options["format"])
        except FormatError as exc:
            raise CommandError(str(exc)) from None
        try:
            result = report_import(protocol=protocol, path=path, fmt=fmt, actor=None, channel="command")
        except ImportRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(rejected.errors)} problem(s) found; nothing was imported.") from None
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            f"Imported into protocol {protocol.pk}: {result.created} created, "
            f"{result.updated} updated, {result.unchanged} unchanged."
        )
