"""Fixtures for import tests: files written on disk, and a private upload folder."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path: Path) -> Path:
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


@pytest.fixture
def write_file(tmp_path: Path):
    """Write bytes or text to a file named `name` and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return write


def jsonl(*objects: dict) -> str:
    return "".join(json.dumps(obj) + "\n" for obj in objects)


GOOD_CSV = (
    "accession,patient,modality,body_part,study_date,signed_at,text\n"
    'A1,P1,CR,CHEST,2024-01-02,2024-01-02T10:00:00+00:00,"FINDINGS: Small left pleural effusion.\n\nIMPRESSION: Effusion."\n'
    "A2,P1,CR,CHEST,2024-01-03,,FINDINGS: No pneumothorax.\n"
    "A3,P2,CT,HEAD,,,IMPRESSION: No acute hemorrhage.\n"
)
