from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from annotation.models import LabelSchema

pytestmark = pytest.mark.django_db


def test_it_imports_a_schema_file(tmp_path, capsys):
    path = tmp_path / "ct-head.yaml"
    path.write_text("name: ct-head\nlabels:\n  - name: Midline Shift\n    phrases: [midline shift]\n")

    call_command("load_schema", str(path))

    assert LabelSchema.objects.get(name="ct-head").labels.count() == 1
    assert "ct-head" in capsys.readouterr().out


def test_a_bad_file_stops_with_the_key_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: ct-head\nlabels:\n  - name: Midline Shift\n")

    with pytest.raises(CommandError, match="'phrases'"):
        call_command("load_schema", str(path))

    assert not LabelSchema.objects.exists()
