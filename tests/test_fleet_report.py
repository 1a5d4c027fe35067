"""The fleet view of a comparison: summary.json fleet blocks -> comparison.json -> md/html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.compare import build_comparison, load_comparison
from harness.compare.fake_run import TINY_FAULT, tiny_requests, write_fake_run
from harness.compare.rundir import RunFileError, load_summary
from harness.report import render_report


def fleet_block(hosts: int, onset: float | None, low: float) -> dict[str, Any]:
    """A `fleet` block as the runner writes it (harness.telemetry.fleet.FleetStats.to_json)."""
    return {
        "hosts": hosts,
        "hosts_with_any_failure": hosts,
        "hosts_failing_in_fault": hosts - 1,
        "availability": {"min": low, "median": 0.8, "max": 0.9},
        "availability_during_fault": {"min": low, "median": 0.5, "max": 0.75},
        "requests_per_host": {"min": 5.0, "median": 10.0, "max": 15.0},
        "first_failure_s": 5.0,
        "onset_spread_s": onset,
        "recovery_spread_s": 1.5,
        "resolution_s": 0.1,
    }


def with_fleets(run_dir: Path, blocks: dict[str, dict[str, Any]]) -> None:
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text())
    for name, block in blocks.items():
        summary["strategies"][name]["fleet"] = block
    path.write_text(json.dumps(summary))


@pytest.fixture
def compared(tmp_path: Path) -> Path:
    for repeat, onset, low in ((1, 2.0, 0.25), (2, 4.0, 0.35)):
        run = write_fake_run(
            tmp_path / "runs" / f"{repeat:02d}-seed{repeat}", tiny_requests(), elapsed=20.0,
            faults=[TINY_FAULT], seed=repeat,
        )  # fmt: skip
        with_fleets(
            run, {"naive": fleet_block(4, onset, low), "failover": fleet_block(4, None, 0.5)}
        )
    return tmp_path


def test_fleet_means_over_repeats_reach_the_json_and_both_reports(compared: Path) -> None:
    comparison = build_comparison(compared, baseline="naive")
    naive = comparison.fleets["naive"]
    assert naive.hosts == 4 and naive.runs == 2
    assert naive.onset_spread_s == 3.0  # mean of 2.0 and 4.0
    assert naive.availability_during_fault_min == 0.3
    assert comparison.fleets["failover"].onset_spread_s is None
    render_report_paths = render_report(compared)
    assert render_report_paths
    loaded = load_comparison(compared)
    assert loaded.fleets["naive"] == naive  # comparison.json round trip
    markdown = (compared / "comparison.md").read_text()
    assert "## Fleet" in markdown
    assert "| naive | 4 | 3.0 | 0.300 | 0.500 | 0.750 | 3.0 | 1.5 |" in markdown
    assert "| failover | 4 | 3.0 | 0.500 | 0.500 | 0.750 | — | 1.5 |" in markdown
    assert "<h2>Fleet</h2>" in (compared / "report.html").read_text()


def test_runs_without_fleet_blocks_have_no_fleet_section(tmp_path: Path) -> None:
    write_fake_run(tmp_path, tiny_requests(), elapsed=20.0, faults=[TINY_FAULT])
    comparison = build_comparison(tmp_path, baseline="naive")
    assert comparison.fleets == {}
    render_report(tmp_path)
    assert "## Fleet" not in (tmp_path / "comparison.md").read_text()


def test_a_malformed_fleet_block_is_one_line_naming_the_field(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path, tiny_requests(), elapsed=20.0, faults=[TINY_FAULT])
    with_fleets(run, {"naive": {**fleet_block(2, 1.0, 0.5), "hosts": "two"}})
    with pytest.raises(RunFileError, match=r"strategies\.naive\.fleet\.hosts: expected an integer"):
        load_summary(run)
