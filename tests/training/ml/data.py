"""Small synthetic report sets for the training core's tests: learnable, seeded, no database."""
from __future__ import annotations

import random

LABELS = ["Pleural Effusion", "Pneumothorax"]
_PHRASES = {
    "Pleural Effusion": ("small left pleural effusion", "no pleural effusion"),
    "Pneumothorax": ("right apical pneumothorax", "no pneumothorax"),
}
_FILLER = ["heart size normal", "lungs are clear otherwise", "stable lines and tubes", "degenerative spine"]


def make_reports(n: int, seed: int = 0, missing: float = 0.1) -> tuple[list[str], list[list[float | None]]]:
    rng = random.Random(seed)
    texts, targets = [], []
    for _ in range(n):
        parts, row = [rng.choice(_FILLER)], []
        for label in LABELS:
            positive = rng.random() < 0.4
            parts.append(_PHRASES[label][0 if positive else 1])
            row.append(None if rng.random() < missing else float(positive))
        rng.shuffle(parts)
        texts.append("FINDINGS: " + ". ".join(parts) + ".")
        targets.append(row)
    return texts, targets
