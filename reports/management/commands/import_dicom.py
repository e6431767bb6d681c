"""python manage.py import_dicom DIR --protocol IRB_NUMBER

Prints a summary (studies, series, instances, linked, unlinked, skipped with reasons) and exits
non-zero only when nothing could be read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.models import Protocol
from reports.services.dicom import dicom_import


class Command(BaseCommand):
    help = "Import a folder of DICOM files into a protocol, de-identified (see docs/DICOM.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--protocol", required=True, help="IRB number of the protocol")

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["folder"]
        protocol = Protocol.objects.filter(irb_number=options["protocol"]).first()
        if protocol is None:
            raise CommandError("No protocol with that IRB number.")
        if not folder.is_dir():
            raise CommandError(f"No such folder: {folder}")
        result = dicom_import(protocol=protocol, root=folder, actor=None, channel="command")
        for skipped in result.skipped:
            self.stderr.write(f"skipped {skipped['path']}: {skipped['reason']}")
        unlinked = len(result.unlinked)
        self.stdout.write(
            f"{protocol.irb_number}: {result.studies} studies, {result.series} series, {result.instances} instances "
            f"({result.new_instances} new); {result.linked} linked to a report, {unlinked} unlinked"
            + (f" (no report with their accession number yet; DICOM study ids {', '.join(map(str, result.unlinked))})"
               if unlinked else "")
            + f"; {len(result.skipped)} skipped" + (" (one line each)" if result.skipped else "") + "."
        )
        if result.instances == 0:
            raise CommandError("Nothing could be read: no DICOM image in the folder.")
