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


class DicomImportForm(forms.Form):
    """Bring DICOM in from a folder of the server's inbox, or by accession from a configured PACS.

    Both lists are the server's own (inbox sub-folders, settings.PACS_SOURCES): nobody types a
    path or an address, so the form cannot make the server read or fetch anything else.
    """

    protocol = forms.ModelChoiceField(queryset=Protocol.objects.none(), empty_label=None)
    folder = forms.ChoiceField(required=False, help_text="A folder copied into the DICOM inbox.")
    source = forms.ChoiceField(required=False, label="PACS source")
    accessions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="One accession number per line (at most 500)."
    )

    def __init__(self, *args: Any, protocols: ProtocolQuerySet, folders: list[str], sources: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol"].queryset = protocols
        self.fields["folder"].choices = [("", "—"), *((name, name) for name in folders)]
        self.fields["source"].choices = [("", "—"), *((name, name) for name in sources)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        accessions = [line.strip() for line in (cleaned.get("accessions") or "").splitlines() if line.strip()]
        cleaned["accessions"] = accessions
        if bool(cleaned.get("folder")) == bool(cleaned.get("source")):
            raise forms.ValidationError("Choose either an inbox folder or a PACS source.")
        if cleaned.get("source") and not accessions:
            self.add_error("accessions", "List the accession numbers to retrieve.")
        if len(accessions) > 500:
            self.add_error("accessions", "At most 500 accession numbers at a time.")
        return cleaned
