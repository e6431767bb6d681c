"""Input validation for the reports app's HTML forms."""
from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from reports.importers.parse import FormatError, detect_format
from reports.models import Protocol, ProtocolQuerySet

FORMAT_CHOICES = [("", "From the file name (.csv, .jsonl)"), ("csv", "CSV"), ("jsonl", "JSON Lines")]


class ImportForm(forms.Form):
    protocol = forms.ModelChoiceField(queryset=Protocol.objects.none(), empty_label=None)
    file = forms.FileField(help_text="CSV with a header row, or JSON Lines; UTF-8.")
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)

    def __init__(self, *args: Any, protocols: ProtocolQuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol"].queryset = protocols

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than the {settings.IMPORT_MAX_BYTES // (1024 * 1024):,} MB import limit."
            )
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None:
            try:
                cleaned["format"] = detect_format(upload.name, cleaned.get("format") or None)
            except FormatError as exc:
                self.add_error("format", str(exc))
        return cleaned
