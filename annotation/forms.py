"""Input of the confirmation and adjudication forms (one radio group per label)."""
from __future__ import annotations

import time
from typing import Any

from django import forms

from annotation.models import ConfirmValue, Label

# A page left open over lunch is not "time spent reading"; cap what one confirmation records.
MAX_TIME_SPENT_MS = 30 * 60 * 1000


def now_ms() -> int:
    return int(time.time() * 1000)


class ConfirmForm(forms.Form):
    version = forms.IntegerField(min_value=0)
    # Server time (ms) when the page was rendered: time spent needs no JavaScript.
    shown_at = forms.IntegerField(required=False, min_value=0)
    # The queue's label filter, carried to the next study.
    label = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args: Any, labels: list[Label], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels = labels
        for label in labels:
            self.fields[f"label_{label.pk}"] = forms.ChoiceField(
                choices=ConfirmValue.choices, required=False, label=label.name
            )

    def values(self) -> dict[str, str]:
        """Chosen values by label name; labels without a choice are left out (engine value)."""
        return {
            label.name: self.cleaned_data[f"label_{label.pk}"]
            for label in self.labels
            if self.cleaned_data.get(f"label_{label.pk}")
        }

    def raw_choices(self) -> dict[int, str]:
        """What was posted, valid or not, to re-show the reader's choices after a conflict."""
        valid = set(ConfirmValue.values)
        return {
            label.pk: self.data.get(f"label_{label.pk}")
            for label in self.labels
            if self.data.get(f"label_{label.pk}") in valid
        }

    def time_spent_ms(self) -> int | None:
        shown_at = self.cleaned_data.get("shown_at")
        if not shown_at:
            return None
        return max(0, min(now_ms() - shown_at, MAX_TIME_SPENT_MS))

    def error_text(self) -> str:
        return "; ".join(f"{self.fields[name].label or name}: {' '.join(errs)}" for name, errs in self.errors.items())


# --- Phrase curation (issue 8, parts 1-3): one form over a label's phrase table ---


class PhraseEditForm(forms.Form):
    """A curator's edit of one label's phrases: the table's checkboxes and inputs, plus new phrases.

    Per phrase row with an id, `text_<id>` (its text, editable) and `priority_<id>` (its order);
    `disable` / `enable` name phrase texts (inferred phrases can be disabled too).
    """

    add = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
        label="Add phrases", help_text="One phrase per line.",
    )
    disable = forms.MultipleChoiceField(required=False, label="Disable")
    enable = forms.MultipleChoiceField(required=False, label="Enable")
    reason = forms.CharField(required=False, max_length=2000, label="Why (kept in the history)")

    def __init__(self, *args: Any, rows: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Attribute anchors and always-uncertain phrases come from the shipped schema file only.
        self.rows = [row for row in rows if row.editable]
        self.fields["disable"].choices = [(row.text, row.text) for row in self.rows if row.enabled]
        self.fields["enable"].choices = [(row.text, row.text) for row in self.rows if not row.enabled and row.phrase_id]
        for row in self.rows:
            if row.phrase_id is None:
                continue
            self.fields[f"text_{row.phrase_id}"] = forms.CharField(
                required=False, max_length=200, initial=row.text, label=f"Text of phrase {row.phrase_id}"
            )
            self.fields[f"priority_{row.phrase_id}"] = forms.IntegerField(
                required=False, min_value=0, max_value=100_000, initial=row.priority, label=f"Priority of phrase {row.phrase_id}"
            )

    def edit(self) -> Any:
        """The PhraseEdit the cleaned form asks for (call after is_valid())."""
        from annotation.engine.schema import normalise_phrase
        from annotation.services.phrases import PhraseEdit

        data = self.cleaned_data
        rename: list[tuple[int, str]] = []
        priorities: list[tuple[int, int, int]] = []
        for row in self.rows:
            if row.phrase_id is None:
                continue
            text = normalise_phrase(data.get(f"text_{row.phrase_id}") or "")
            if text and text != row.text:
                rename.append((row.phrase_id, text))
            priority = data.get(f"priority_{row.phrase_id}")
            priorities.append((row.priority if priority is None else priority, row.priority, row.phrase_id))
        reordered = any(new != old for new, old, _ in priorities)
        return PhraseEdit(
            add=tuple(line for line in (data.get("add") or "").splitlines() if line.strip()),
            disable=tuple(data.get("disable") or ()),
            enable=tuple(data.get("enable") or ()),
            rename=tuple(rename),
            order=tuple(pk for _, _, pk in sorted(priorities)) if reordered else (),
        )
