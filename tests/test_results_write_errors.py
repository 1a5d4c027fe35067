"""A results directory that cannot be written (read-only, full disk, not a directory) is one line
naming the file and the OS error, exit 2, no temporary files left, and the first error reported.

As root (CI) chmod does not stop writes, so the failures here are real ones root cannot bypass:
/dev/full answers every write with ENOSPC, and a path under a regular file is ENOTDIR."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import harness, small_scenario

from harness.errors import HarnessError
from harness.runner.results import write_json
from harness.telemetry.records import RecordWriter

FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    return lines[0]


@needs_dev_full
def test_write_json_on_a_full_disk_names_the_file_and_leaves_no_tmp(tmp_path: Path) -> None:
    (tmp_path / "summary.json.tmp").symlink_to(FULL)
    with pytest.raises(HarnessError) as info:
        write_json(tmp_path / "summary.json", {"a": 1})
    assert str(info.value) == f"{tmp_path / 'summary.json'}: cannot write (No space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_write_json_where_the_directory_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(HarnessError, match=r"file/summary.json: cannot write \(Not a directory\)"):
        write_json(tmp_path / "file" / "summary.json", {})


@needs_dev_full
def test_record_writer_on_a_full_disk(tmp_path: Path) -> None:
    (tmp_path / "requests.jsonl.gz").symlink_to(FULL)
    writer = RecordWriter(tmp_path / "requests.jsonl.gz", origin=0.0)
    writer._pending.append("{}")
    with pytest.raises(HarnessError, match=r"cannot write \(No space left on device\)"):
        writer.flush()
    writer.close()  # nothing more to write, no second error


def test_out_under_a_regular_file_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    done = harness("run", small_scenario(tmp_path), "--out", tmp_path / "file" / "out")
    assert done.returncode == 2
    line = one_error_line(done.stderr)
    assert str(tmp_path / "file" / "out") in line and "Not a directory" in line


@needs_dev_full
def test_disk_full_mid_run_reports_the_records_file_first(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "requests.jsonl.gz").symlink_to(FULL)  # the first flush (after 1 s) hits ENOSPC
    (out / "summary.json.tmp").symlink_to(FULL)  # and so would the summary: not the one reported
    done = harness("run", small_scenario(tmp_path), "--out", out, "--metrics-addr", "off")
    assert done.returncode == 2
    line = one_error_line(done.stderr)
    assert line == f"error: {out / 'requests.jsonl.gz'}: cannot write (No space left on device)"
    assert not (out / "summary.json.tmp").exists()  # no debris
    journal = json.loads((out / "journal.json").read_text())  # the rest is still written
    assert journal


@needs_dev_full
def test_summary_on_a_full_disk_after_a_good_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json.tmp").symlink_to(FULL)
    done = harness("run", small_scenario(tmp_path), "--out", out, "--metrics-addr", "off")
    assert done.returncode == 2
    line = one_error_line(done.stderr)
    assert line == f"error: {out / 'summary.json'}: cannot write (No space left on device)"
    assert sorted(p.name for p in out.iterdir()) == [
        "journal.json",
        "requests.jsonl.gz",
        "timeseries.json",
    ]
