"""Units of work on every executor: the same seeds give the same bytes inline, on local worker
processes (1 and 2) and on a real Dask LocalCluster (scheduler + 2 worker processes on
loopback); a stop reaches every unit wherever it runs."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from harness.compare import build_comparison
from harness.executors.merge import merge_units
from harness.executors.plan import Execution, execute, plan
from harness.scenario import parse_scenario

SCENARIO = """
name: units
seed: 5
duration: {duration}
dns: {{ttl: 1s, negative_ttl: 1s}}
regions:
  - {{name: us-east-1, endpoints: 2, rtt: 1ms, connections: {{max_age: 2s}}}}
  - {{name: us-west-2, endpoints: 2, rtt: 30ms, connections: {{max_age: 2s}}}}
clients: {{rate: {rate}/s, deadline: 2s}}
strategies: [naive, breaker-failover]
run: {{repeats: 2}}
phases: [{{name: steady, at: 0s}}, {{name: outage, at: 2s}}]
timeline:
  - {{fault: dns.nodata, target: us-east-1, at: 2s, duration: {fault}}}
"""
WALL = ("started_at", "ended_at", "wall_seconds", "executor")


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster.scheduler_address


def _compare(
    tmp: Path,
    execution: Execution,
    *,
    duration: str = "6s",
    rate: int = 20,
    fault: str = "2s",
    stop_after: float = 0,
) -> tuple[Path, Any]:
    text = SCENARIO.format(duration=duration, rate=rate, fault=fault)
    scenario = parse_scenario(text, "units.yaml")
    execution = Execution(execution.kind, execution.workers, execution.cluster, text, {})
    repeats = plan(
        scenario, ["naive", "breaker-failover"], execution, scenario_file="units.yaml", repeat=2
    )
    interrupt = threading.Event()
    if stop_after:
        threading.Timer(stop_after, interrupt.set).start()
    outcome, info = execute(repeats, execution, interrupt, progress=False, err=Console(quiet=True))
    for r in repeats:
        results = [outcome.results[u.id] for u in r.units]
        if any(res.has_results for res in results):
            merge_units(r.units, results, tmp / "runs" / r.name, info)
    return tmp, outcome


def _files(directory: Path) -> dict[str, Any]:
    """Everything a comparison reads, with the wall-clock fields left out."""
    files: dict[str, Any] = {}
    for run in sorted((directory / "runs").iterdir()):
        summary = json.loads((run / "summary.json").read_text())
        for key in WALL:
            summary.pop(key)
        for unit in summary["units"]:
            unit.pop("worker"), unit.pop("wall_seconds")
        journal = json.loads((run / "journal.json").read_text())
        for entries in journal.values():
            for entry in entries:
                entry.pop("wall")
        files[run.name] = {
            "summary": summary,
            "requests": (run / "requests.jsonl.gz").read_bytes(),
            "timeseries": json.loads((run / "timeseries.json").read_text()),
            "journal": journal,
        }
    return files


def test_same_seeds_same_bytes_inline_local_and_dask(tmp_path: Path, dask_scheduler: str) -> None:
    inline, _ = _compare(tmp_path / "inline", Execution("inline"))
    reference = _files(inline)
    assert sorted(reference) == ["01-seed5", "02-seed6"]
    first = reference["01-seed5"]
    assert list(first["summary"]["strategies"]) == ["naive", "breaker-failover"]
    assert first["requests"] != reference["02-seed6"]["requests"]  # the seeds do differ
    with gzip.open(inline / "runs" / "01-seed5" / "requests.jsonl.gz", "rt") as lines:
        strategies = [json.loads(line)["strategy"] for line in lines]
    assert strategies.count("naive") == first["summary"]["strategies"]["naive"]["requests"] > 100

    for name, execution in (
        ("local-1", Execution("local", workers=1)),
        ("local-2", Execution("local", workers=2)),
        ("dask", Execution("dask", cluster=dask_scheduler)),
    ):
        directory, outcome = _compare(tmp_path / name, execution)
        assert {r.status for r in outcome.results.values()} == {"ok"}, name
        assert _files(directory) == reference, name
        summary = json.loads((directory / "runs" / "01-seed5" / "summary.json").read_text())
        assert summary["executor"]["kind"] == name.split("-")[0]
        # every unit says where it ran (how the pool spreads them is the OS's affair: a worker
        # that starts late may find the others took every unit, so that is not asserted)
        assert all(u["worker"] for u in summary["units"])
    comparison = build_comparison(tmp_path / "dask")
    assert {row.strategy for row in comparison.rows} == {"naive", "breaker-failover"}


def test_a_stop_reaches_every_dask_task(tmp_path: Path, dask_scheduler: str) -> None:
    # 2 workers, 4 long units: two are running when the stop comes, two have not started.
    _, outcome = _compare(
        tmp_path, Execution("dask", cluster=dask_scheduler), duration="300s", rate=50,
        fault="290s", stop_after=4.0,
    )  # fmt: skip
    assert outcome.interrupted
    statuses = sorted(r.status for r in outcome.results.values())
    assert "interrupted" in statuses and "ok" not in statuses, statuses
    assert set(statuses) <= {"interrupted", "skipped"}
    applied = 0
    for result in outcome.results.values():
        if result.status == "interrupted":
            assert result.summary is not None and result.summary["status"] == "interrupted"
            assert result.summary["elapsed"] < 300
            fault = result.summary["faults"][0]
            if fault["applied_at"] is not None:  # faults reverted in each stopped unit
                applied += 1
                assert fault["revert_reason"] == "interrupted" and fault["reverted_at"] is not None
    assert applied >= 1
