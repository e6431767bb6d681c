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
