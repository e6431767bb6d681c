"""Import a label schema file (the YAML of DESIGN.md) into the database."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.engine import SchemaError
from annotation.services.schemas import schema_import_yaml


class Command(BaseCommand):
    help = "Import a label schema from a YAML file; re-importing a name updates its phrases."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="YAML file: name, labels: [{name, phrases, exclude?}]")

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        try:
            schema = schema_import_yaml(text_or_path=path)
        except SchemaError as exc:
            raise CommandError(str(exc)) from exc
        labels = schema.labels.count()
        self.stdout.write(self.style.SUCCESS(f"Schema {schema.name!r}: {labels} labels (id {schema.pk})."))
