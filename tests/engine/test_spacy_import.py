"""spaCy is imported without torch, its command line or langcodes, and all still load later."""
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
assert "langcodes" not in sys.modules, "langcodes imported"
import spacy.util
assert spacy.util.find_matching_language("no") == "nb"  # the stand-in loads langcodes when read
import langcodes
assert langcodes.tag_is_valid("en")
import spacy.cli
assert callable(spacy.cli.info) and "typer" in sys.modules
print("ok")
"""


def test_spacy_loads_without_its_command_line_which_still_imports_later() -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
