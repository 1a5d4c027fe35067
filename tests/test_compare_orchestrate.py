"""The comparison orchestrator: batch sizing, and folding batch directories into one run."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from harness.compare import build_comparison
from harness.compare.fake_run import FakeRequest, write_fake_run
from harness.compare.orchestrate import _merge, batch_size
from harness.runner import RunResult
from harness.scenario import parse_scenario

SCENARIO = "name: s\nduration: 10s\nregions: [{name: a}]\nclients: {rate: 200/s}\n"


def test_virtual_clock_runs_every_strategy_at_once_real_clock_batches_by_load() -> None:
    scenario = parse_scenario(SCENARIO)
    assert batch_size(scenario, "virtual", 20) == 20
    # 200/s × 1.5 expected amplification = 300 attempts/s per strategy; ~1,000/s fit at once
    assert batch_size(scenario, "real", 20) == 3
    heavy = parse_scenario(SCENARIO.replace("200/s", "5000/s"))
    assert batch_size(heavy, "real", 20) == 1


def test_batches_fold_into_one_consistent_run_directory(tmp_path: Path) -> None:
    first = write_fake_run(
        tmp_path / "r.part1",
        [FakeRequest("naive", t / 10, 0.01) for t in range(30)],
        elapsed=3.0,
    )
    second = write_fake_run(
        tmp_path / "r.part2",
        [FakeRequest("aws-standard", t / 10, 0.02, attempts=2) for t in range(20)],
        elapsed=3.0,
        saturated=True,
    )
    results = [RunResult(out_dir=first, summary={}), RunResult(out_dir=second, summary={})]
    run_dir = tmp_path / "r"
    _merge(results, run_dir)

    assert not first.exists() and not second.exists()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["strategies"]) == {"naive", "aws-standard"}
    assert summary["saturated"] is True and summary["batches"] == 2
    series = json.loads((run_dir / "timeseries.json").read_text())
    assert set(series["strategies"]) == {"naive", "aws-standard"}
    with gzip.open(run_dir / "requests.jsonl.gz", "rt") as f:  # concatenated gzip members
        lines = [json.loads(line) for line in f]
    assert len(lines) == 50
    assert {r["strategy"] for r in lines} == {"naive", "aws-standard"}
    comparison = build_comparison(run_dir)
    assert {row.strategy for row in comparison.rows} == {"naive", "aws-standard"}
