"""Missing or corrupt inputs: one HarnessError line naming the file, never a traceback."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from harness.compare import build_comparison
from harness.compare.fake_run import TINY_FAULT, FakeRequest, tiny_requests, write_fake_run
from harness.errors import HarnessError
from harness.report import render_report


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return write_fake_run(
        tmp_path / "runs" / "01-seed1", tiny_requests(), elapsed=20.0, faults=[TINY_FAULT]
    )


def error_of(directory: Path) -> str:
    with pytest.raises(HarnessError) as info:
        build_comparison(directory, baseline=None, slos={})
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_missing_summary(run: Path) -> None:
    (run / "summary.json").unlink()
    assert error_of(run.parent.parent) == f"{run / 'summary.json'}: missing"


def test_missing_requests_and_timeseries(run: Path) -> None:
    (run / "requests.jsonl.gz").unlink()
    assert error_of(run) == f"{run / 'requests.jsonl.gz'}: missing"
    write_fake_run(run, tiny_requests(), elapsed=20.0)
    (run / "timeseries.json").unlink()
    assert error_of(run) == f"{run / 'timeseries.json'}: missing"


def test_corrupt_json(run: Path) -> None:
    (run / "summary.json").write_text('{"scenario": "x",\n  "seed": }')
    message = error_of(run)
    assert message.startswith(f"{run / 'summary.json'}: not valid JSON (line 2")


def test_field_of_the_wrong_type_names_its_path(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    summary["strategies"]["naive"]["stale_reads"] = "many"
    (run / "summary.json").write_text(json.dumps(summary))
    message = error_of(run)
    assert message == (
        f"{run / 'summary.json'}: strategies.naive.stale_reads: expected an integer, got 'many'"
    )
    summary["strategies"]["naive"]["stale_reads"] = 0
    del summary["elapsed"]
    (run / "summary.json").write_text(json.dumps(summary))
    assert error_of(run).endswith("summary.json: elapsed: missing")


def test_truncated_gzip_keeps_its_complete_lines_and_says_so(
    run: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = (run / "requests.jsonl.gz").read_bytes()
    (run / "requests.jsonl.gz").write_bytes(data[: len(data) // 2])
    build_comparison(run, baseline=None, slos={})  # a killed run is still compared
    assert any("truncated" in m and "requests.jsonl.gz" in m for m in caplog.messages)


def test_not_gzip_at_all(run: Path) -> None:
    (run / "requests.jsonl.gz").write_text("plain text")
    message = error_of(run)
    assert message.startswith(f"{run / 'requests.jsonl.gz'}: ") and "corrupt gzip" in message


def test_corrupt_request_line(run: Path) -> None:
    with gzip.open(run / "requests.jsonl.gz", "at", encoding="utf-8") as out:
        out.write('{"strategy": "naive", "intended": 1.0\n')
    assert error_of(run) == f"{run / 'requests.jsonl.gz'}: line 41: not valid JSON"


def test_request_of_an_unknown_strategy(run: Path) -> None:
    stray = FakeRequest("ghost", 1.0, 0.01)
    with gzip.open(run / "requests.jsonl.gz", "at", encoding="utf-8") as out:
        out.write(
            json.dumps({"strategy": stray.strategy, "intended": 1.0, "end": 1.01, "outcome": "ok",
                        "attempts": 1}) + "\n"
        )  # fmt: skip
    assert error_of(run) == (
        f"{run / 'requests.jsonl.gz'}: line 41: strategy 'ghost' is not in summary.json"
    )


def test_not_a_run_or_comparison_directory(tmp_path: Path) -> None:
    assert error_of(tmp_path).endswith(
        "no runs/ directory and no summary.json: not a run or comparison"
    )
    assert error_of(tmp_path / "nope") == f"{tmp_path / 'nope'}: not a directory"
    (tmp_path / "runs").mkdir()
    assert error_of(tmp_path) == f"{tmp_path / 'runs'}: holds no run directories"


def test_repeats_must_be_of_the_same_scenario(run: Path) -> None:
    other = run.parent / "02-seed2"
    write_fake_run(other, tiny_requests(), elapsed=20.0, faults=[TINY_FAULT], scenario="other")
    assert error_of(run.parent.parent) == (
        f"{other / 'summary.json'}: scenario 'other' differs from 'fake'"
    )


def test_unknown_baseline(run: Path) -> None:
    with pytest.raises(HarnessError, match=r"baseline 'ghost' is not a strategy .*naive, failover"):
        build_comparison(run, baseline="ghost", slos={})


def test_render_report_of_a_directory_that_holds_no_results(tmp_path: Path) -> None:
    with pytest.raises(HarnessError) as info:
        render_report(tmp_path)
    assert str(info.value).endswith(
        "no runs/ directory and no summary.json: not a run or comparison"
    )


def test_render_report_with_corrupt_comparison_json(tmp_path: Path) -> None:
    (tmp_path / "comparison.json").write_text('{"schema": 1, "scenario": "x"}')
    with pytest.raises(HarnessError) as info:
        render_report(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'comparison.json'}: malformed (KeyError")
    (tmp_path / "comparison.json").write_text("[]")
    with pytest.raises(HarnessError, match="not a comparison file of schema 2"):
        render_report(tmp_path)


def test_render_report_when_a_run_went_missing(tmp_path: Path, run: Path) -> None:
    root = run.parent.parent
    from harness.compare import save_comparison

    save_comparison(build_comparison(root, baseline=None, slos={}), root)
    shutil.rmtree(run)
    with pytest.raises(HarnessError) as info:
        render_report(root)
    assert str(info.value) == f"{run / 'timeseries.json'}: missing"
