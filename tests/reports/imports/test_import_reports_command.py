"""manage.py import_reports: counts on success, line-numbered errors and a non-zero exit otherwise."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

from reports.models import Study
from tests.reports.imports.conftest import GOOD_CSV

pytestmark = pytest.mark.django_db


def test_it_imports_and_prints_counts(protocol, write_file):
    out = io.StringIO()
    call_command("import_reports", str(write_file("r.csv", GOOD_CSV)), protocol=protocol.irb_number, stdout=out)
    assert "3 created, 0 updated, 0 unchanged" in out.getvalue()
    assert Study.objects.filter(protocol=protocol).count() == 3


def test_it_takes_the_format_from_the_option(protocol, write_file):
    call_command("import_reports", str(write_file("r.txt", GOOD_CSV)), protocol=protocol.irb_number, format="csv",
                 stdout=io.StringIO())
    assert Study.objects.count() == 3


def test_bad_rows_exit_non_zero_naming_line_and_field(protocol, write_file):
    err = io.StringIO()
    path = write_file("r.csv", GOOD_CSV + "A9,P1,CR,CHEST,2024-02-31,,x\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_reports", str(path), protocol=protocol.irb_number, stderr=err)
    assert "line 7, study_date: Not a valid calendar date" in err.getvalue()
    assert not Study.objects.exists()


def test_an_unknown_protocol_is_a_clear_error(write_file):
    with pytest.raises(CommandError, match="No protocol"):
        call_command("import_reports", str(write_file("r.csv", GOOD_CSV)), protocol="IRB-NOPE")


def test_a_missing_file_is_a_clear_error(protocol, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_reports", str(tmp_path / "nope.csv"), protocol=protocol.irb_number)


def test_an_unknown_extension_is_a_clear_error(protocol, write_file):
    with pytest.raises(CommandError, match="format"):
        call_command("import_reports", str(write_file("r.txt", GOOD_CSV)), protocol=protocol.irb_number)


def test_the_process_exits_non_zero(protocol, write_file, capsys):
    argv = ["manage.py", "import_reports", str(write_file("r.csv", "")), "--protocol", protocol.irb_number]
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(argv).execute()
    assert exited.value.code == 1
    assert "file: The file is empty." in capsys.readouterr().err
