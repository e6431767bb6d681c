from __future__ import annotations

import pytest

from annotation.engine import SchemaError
from annotation.models import Label, LabelSchema, Phrase, PhraseKind
from annotation.services.schemas import schema_import_yaml, schema_sync_builtin

pytestmark = pytest.mark.django_db

CT_HEAD = """\
name: ct-head
labels:
  - name: Intracranial Hemorrhage
    phrases: [hemorrhage, hematoma, subdural, bleed]
  - name: Midline Shift
    phrases: [midline shift]
"""


def _phrases(schema: LabelSchema, label: str) -> dict[str, bool]:
    return dict(Phrase.objects.filter(label__schema=schema, label__name=label).values_list("text", "enabled"))


def test_it_imports_the_design_example_from_text():
    schema = schema_import_yaml(text_or_path=CT_HEAD)

    assert (schema.name, schema.builtin) == ("ct-head", False)
    assert list(schema.labels.values_list("name", "order")) == [("Intracranial Hemorrhage", 0), ("Midline Shift", 1)]
    assert _phrases(schema, "Intracranial Hemorrhage") == dict.fromkeys(["hemorrhage", "hematoma", "subdural", "bleed"], True)
    hemorrhage_colour, shift_colour = schema.labels.values_list("color", flat=True)
    assert hemorrhage_colour != shift_colour


def test_it_imports_from_a_file_with_exclusions_and_precision(tmp_path):
    path = tmp_path / "chest.yaml"
    path.write_text(
        "name: chest-lines\nlabels:\n  - name: Line\n    phrases: [picc line, Central  Line]\n"
        "    exclusions: [skin line]\n    precision: {picc line: 0.8}\n"
    )

    schema = schema_import_yaml(text_or_path=str(path))

    rows = set(Phrase.objects.filter(label__schema=schema).values_list("text", "kind", "precision"))
    assert rows == {
        ("picc line", PhraseKind.MENTION, 0.8),
        ("central line", PhraseKind.MENTION, None),
        ("skin line", PhraseKind.EXCLUSION, None),
    }


def test_reimport_updates_phrases_and_disables_those_left_out():
    schema = schema_import_yaml(text_or_path=CT_HEAD)
    label_ids = set(Label.objects.values_list("pk", flat=True))

    again = schema_import_yaml(text_or_path=CT_HEAD.replace("subdural, bleed", "subdural, extra-axial collection"))

    assert again.pk == schema.pk
    assert set(Label.objects.values_list("pk", flat=True)) == label_ids
    assert _phrases(schema, "Intracranial Hemorrhage") == {
        "hemorrhage": True, "hematoma": True, "subdural": True, "bleed": False, "extra-axial collection": True,
    }


def test_reimport_without_a_label_disables_its_phrases_but_keeps_the_row():
    schema = schema_import_yaml(text_or_path=CT_HEAD)

    schema_import_yaml(text_or_path=CT_HEAD.split("  - name: Midline Shift")[0])

    assert schema.labels.filter(name="Midline Shift").exists()
    assert _phrases(schema, "Midline Shift") == {"midline shift": False}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("labels: []\n", "'name'"),
        ("name: x\nlabels: nope\n", "'labels'"),
        ("name: x\nlabels:\n  - name: A\n", "'phrases'"),
        ("name: x\nlabels:\n  - phrases: [a]\n", "'name'"),
        ("name: x\nlabels:\n  - name: A\n    phrases: [a]\n    colour: red\n", "colour"),
        ("name: x\nlabels:\n  - name: A\n    phrases: {a: 1}\n", "labels[0] (A).phrases"),
        ("name: CT Head!\nlabels:\n  - name: A\n    phrases: [a]\n", "key 'name'"),
        ("name: x\nlabels:\n  - name: A\n    phrases: [a]\n    uncertain: [b]\n", "'uncertain'"),
        ("name: x\nlabels:\n  - name: A\n    phrases: [a]\n    precision: {zz: 0.5}\n", "'precision'"),
        ("name: x\nlabels:\n  - name: A\n    phrases: [a\n", "line"),
    ],
)
def test_a_bad_file_names_the_key_and_changes_nothing(text, named):
    schema_import_yaml(text_or_path=CT_HEAD)
    before = list(Phrase.objects.order_by("pk").values_list("pk", "text", "enabled"))

    with pytest.raises(SchemaError) as excinfo:
        schema_import_yaml(text_or_path=text)

    assert named in str(excinfo.value)
    assert LabelSchema.objects.count() == 1
    assert list(Phrase.objects.order_by("pk").values_list("pk", "text", "enabled")) == before


def test_a_file_named_like_a_builtin_schema_is_refused():
    schema_sync_builtin()
    phrases = Phrase.objects.count()

    with pytest.raises(SchemaError, match="built-in"):
        schema_import_yaml(text_or_path="name: chexpert\nlabels:\n  - name: A\n    phrases: [a]\n")

    assert Phrase.objects.count() == phrases


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SchemaError, match="cannot read"):
        schema_import_yaml(text_or_path=str(tmp_path / "missing.yaml"))
