"""write_atomic: the whole file or none, and no temporary file left behind either way."""
from __future__ import annotations

import pytest

from reports.dicom.files import write_atomic


def test_it_writes_the_whole_file_and_leaves_no_partial(tmp_path):
    write_atomic(tmp_path / "a" / "b.dcm", b"data")
    assert (tmp_path / "a" / "b.dcm").read_bytes() == b"data"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.dcm"]


def test_a_failed_rename_leaves_nothing_behind(tmp_path):
    (tmp_path / "taken").mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(IsADirectoryError):
        write_atomic(tmp_path / "taken", b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
