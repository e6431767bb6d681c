"""spaCy is imported without torch and without its command line, and both still load later."""
from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import sys
from annotation.engine.spacy_import import import_spacy
spacy = import_spacy()
assert "torch" not in sys.modules, "torch imported"
assert "typer" not in sys.modules and "spacy.cli" not in sys.modules, "spaCy command line imported"
assert [t.text for t in spacy.blank("en")("No effusion.")] == ["No", "effusion", "."]
import spacy.cli
assert callable(spacy.cli.info) and "typer" in sys.modules
print("ok")
"""


def test_spacy_loads_without_its_command_line_which_still_imports_later() -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
