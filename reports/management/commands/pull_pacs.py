"""python manage.py pull_pacs --protocol IRB_NUMBER --source NAME ACCESSION [ACCESSION ...]

Finds each accession on a configured PACS (settings.PACS_SOURCES), retrieves its studies over
DICOMweb (WADO-RS) or DIMSE (C-MOVE or C-GET, as the source says), and imports them like a
folder (de-identified, linked, idempotent).
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.models import Protocol
from reports.services.pacs import PacsError, UnknownSource, pacs_pull


class Command(BaseCommand):
    help = "Retrieve studies by accession from a configured PACS and import them into a protocol."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("accessions", nargs="+")
        parser.add_argument("--protocol", required=True, help="IRB number of the protocol")
        parser.add_argument("--source", required=True, help="a name of settings.PACS_SOURCES")

    def handle(self, *args: Any, **options: Any) -> None:
        protocol = Protocol.objects.filter(irb_number=options["protocol"]).first()
        if protocol is None:
            raise CommandError("No protocol with that IRB number.")
        try:
            result = pacs_pull(protocol=protocol, source_name=options["source"], accessions=options["accessions"],
                               actor=None, channel="command")
        except (UnknownSource, PacsError) as exc:
            raise CommandError(str(exc)) from None
        imported = result.imported
        self.stdout.write(
            f"Found {result.found} studies, retrieved {result.retrieved_files} files; "
            + (f"imported {imported.new_instances} new images in {imported.studies} studies "
               f"({imported.linked} linked to a report)" if imported else "nothing imported")
            + (f"; {len(result.not_found)} accession(s) not found on the source" if result.not_found else "")
            + "."
        )
        if result.found == 0:
            raise CommandError("No study found on the source.")
