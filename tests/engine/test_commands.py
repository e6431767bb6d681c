"""softlabel and bench_softlabel end to end, including every bad-input case (no output file)."""
from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

DATA = Path(__file__).parent / "data"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_softlabel_writes_one_line_per_input_in_order(tmp_path: Path) -> None:
    inp = _write(tmp_path / "in.jsonl", [
        json.dumps({"id": "a", "text": "No pneumothorax. Small left pleural effusion.", "extra": 1}),
        json.dumps({"id": 2, "text": "Lungs are clear."}),
    ])
    out = tmp_path / "out.jsonl"
    call_command("softlabel", str(inp), "--schema", "chexpert", "--out", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "2"]
    assert rows[0]["labels"]["Pleural Effusion"]["value"] == "positive"
    assert rows[0]["labels"]["Pneumothorax"]["evidence"][0]["modifiers"] == ["NEGATED_EXISTENCE"]
    assert rows[1]["labels"] == {"No Finding": rows[1]["labels"]["No Finding"]}


def test_softlabel_custom_yaml_schema_and_processes(tmp_path: Path) -> None:
    lines = [json.dumps({"id": str(i), "text": "No acute intracranial hemorrhage. Small infarcts."}) for i in range(4100)]
    inp = _write(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    call_command("softlabel", str(inp), "--schema", str(DATA / "head_ct_schema.yaml"), "--out", str(out),
                 "--processes", "2")
    rows = out.read_text().splitlines()
    assert len(rows) == 4100
    first = json.loads(rows[0])["labels"]
    assert first["Intracranial Hemorrhage"]["value"] == "negative"
    assert first["Infarct"]["value"] == "positive"


@pytest.mark.parametrize(
    ("lines", "schema", "message"),
    [
        (['{"id": "a", "text": "x"}', "{not json"], "chexpert", "line 2"),
        (['{"text": "x"}'], "chexpert", "line 1: missing 'id'"),
        (['{"id": "a"}'], "chexpert", "line 1: missing 'text'"),
        ([], "chexpert", "empty"),
        (['{"id": "a", "text": "x"}'], "no-such-schema", "unknown"),
        (['{"id": "a", "text": "x"}'], "BADYAML", "line"),
        (['{"id": "a", "text": "x"}'], "NOPHRASES", "phrases"),
    ],
)
def test_softlabel_bad_input_fails_and_leaves_no_output(
    tmp_path: Path, lines: list[str], schema: str, message: str
) -> None:
    inp = _write(tmp_path / "in.jsonl", lines)
    if schema == "BADYAML":
        schema = str(_write(tmp_path / "bad.yaml", ["name: x", "labels:", "  - name: [oops"]))
    elif schema == "NOPHRASES":
        schema = str(_write(tmp_path / "nophrases.yaml", ["name: x", "labels:", "  - name: A"]))
    out = tmp_path / "out.jsonl"
    with pytest.raises(CommandError, match=message):
        call_command("softlabel", str(inp), "--schema", schema, "--out", str(out))
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_bench_softlabel_tiny_run(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("bench_softlabel", "--count", "50", "--processes", "1", "--reference-sample", "5")
    out = capsys.readouterr().out
    assert "reports/s" in out
    assert "speed ratio" in out
    assert "peak memory" in out


def test_bench_softlabel_distinct_times_the_whole_command(capsys: pytest.CaptureFixture[str]) -> None:
    call_command(
        "bench_softlabel", "--distinct", "--count", "30", "--processes", "1", "--reference-sample", "3", "--end-to-end"
    )
    out = capsys.readouterr().out
    assert "mostly distinct sentences" in out
    assert "softlabel command end to end" in out
    assert "peak RSS" in out
    assert "speed ratio softlabel command / reference" in out


def _peak_of_child(code: str) -> int:
    """_tree_hwm_kb of a Python child once it has run ``code`` and printed "ready"."""
    import subprocess
    import sys

    from benchmarks.softlabel import _tree_hwm_kb

    child = subprocess.Popen(
        [sys.executable, "-c", f"{code}\nprint('ready', flush=True)\nimport sys; sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        return _tree_hwm_kb(child.pid)
    finally:
        child.communicate("")


def test_the_end_to_end_peak_rss_is_the_commands_own_not_the_benchmarks() -> None:
    import resource

    bare = _peak_of_child("pass")
    grown = _peak_of_child("block = b'x' * (160 * 2**20)")

    # rusage of a child started from this process would report at least this process's peak
    assert 0 < bare < resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert grown - bare > 150 * 1024


def test_processes_default_to_the_cores_this_process_may_use() -> None:
    import os

    from annotation.engine.batch import default_processes

    assert default_processes() == len(os.sched_getaffinity(0))


def _manage_py(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` in a child, as a user does: the command-line path (run_from_argv)."""
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    return subprocess.run([sys.executable, str(manage), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("schema", "processes"), [("chexpert", "1"), (str(DATA / "head_ct_schema.yaml"), "2")]
)
def test_softlabel_from_the_command_line_writes_what_call_command_writes(
    tmp_path: Path, schema: str, processes: str
) -> None:
    # The command line runs with the cycle collector off and freezes at the end; the lines must
    # be the same bytes as in-process (where the collector stays on).
    from annotation.engine.synthetic import generate_distinct_reports, generate_reports

    texts = generate_distinct_reports(300, seed=3) + generate_reports(100, seed=3)
    inp = _write(tmp_path / "in.jsonl", [json.dumps({"id": str(i), "text": t}) for i, t in enumerate(texts)])
    cli_out, in_process_out = tmp_path / "cli.jsonl", tmp_path / "in_process.jsonl"

    done = _manage_py("softlabel", str(inp), "--schema", schema, "--out", str(cli_out), "--processes", processes)
    call_command("softlabel", str(inp), "--schema", schema, "--out", str(in_process_out))

    assert done.returncode == 0, done.stderr
    assert f"labelled {len(texts)} reports" in done.stderr
    assert cli_out.read_bytes() == in_process_out.read_bytes()
    assert gc.isenabled()  # call_command leaves this process's collector alone


def test_softlabel_from_the_command_line_reports_bad_input_and_leaves_no_output(tmp_path: Path) -> None:
    inp = _write(tmp_path / "in.jsonl", ['{"id": "a", "text": "x"}', "{not json"])
    out = tmp_path / "out.jsonl"

    done = _manage_py("softlabel", str(inp), "--schema", "chexpert", "--out", str(out))

    assert done.returncode == 1
    assert "line 2: invalid JSON" in done.stderr
    assert not out.exists()
