"""comparison.json: the saved Comparison, enough to re-render every report without re-reading the
request logs (the charts still read each run's timeseries.json)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.compare.fleet import fleet_from_dict, fleet_to_dict
from harness.compare.model import (
    METRICS,
    Comparison,
    FaultStrategyStats,
    FaultWindowRow,
    RunInfo,
    StrategyRow,
    Violation,
)
from harness.compare.rundir import RunFileError, read_json
from harness.compare.stats import Stat
from harness.scenario.model import SloSpec

COMPARISON_JSON = "comparison.json"
SCHEMA_VERSION = 1
RANK_ORDER = (
    "availability during faults (overall when no fault was applied), higher first, 3 decimals",
    "overall availability, higher first, 3 decimals",
    "p99 latency, lower first",
)


def _stat(stat: Stat) -> dict[str, Any]:
    return {
        "mean": stat.mean,
        "ci95": stat.ci95,
        "n": stat.n,
        "values": list(stat.values),
        "never": stat.never,
    }


def comparison_to_dict(c: Comparison) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "scenario": c.scenario,
        "home_region": c.home_region,
        "capacity_rps": dict(c.capacity_rps),
        "bucket": c.bucket,
        "settle_s": c.settle_s,
        "recovery_window_s": c.recovery_window_s,
        "baseline": c.baseline,
        "repeats": c.repeats,
        "rank_order": list(RANK_ORDER),
        "definitions": {m.key: m.legend for m in METRICS},
        "passed": not c.violations,
        "runs": [
            {
                "name": r.name,
                "seed": r.seed,
                "clock": r.clock,
                "elapsed": r.elapsed,
                "wall_seconds": r.wall_seconds,
                "saturated": r.saturated,
                "saturation_reasons": list(r.saturation_reasons),
                "aborted": r.aborted,
                "abort_reason": r.abort_reason,
            }
            for r in c.runs
        ],
        "strategies": [
            {
                "strategy": row.strategy,
                "description": row.description,
                "rank": row.rank,
                "saturated": row.saturated,
                "deadline": row.deadline,
                "metrics": {k: _stat(s) for k, s in row.metrics.items()},
                "ratios": dict(row.ratios),
                "peak_load_by_region": {k: _stat(s) for k, s in row.peak_load_by_region.items()},
                "outcomes": dict(row.outcomes),
            }
            for row in c.rows
        ],
        "faults": [
            {
                "index": f.index,
                "fault": f.fault,
                "target": f.target,
                "start": _stat(f.start),
                "end": _stat(f.end),
                "reverted": f.reverted,
                "strategies": {
                    name: {
                        "requests": s.requests,
                        "availability": _stat(s.availability),
                        "time_to_first_success_s": _stat(s.time_to_first_success_s),
                        "recovery_s": _stat(s.recovery_s),
                    }
                    for name, s in f.strategies.items()
                },
            }
            for f in c.faults
        ],
        "fleets": {name: fleet_to_dict(row) for name, row in c.fleets.items()},
        "slos": {
            name: spec.model_dump(mode="json", exclude_none=True) for name, spec in c.slos.items()
        },
        "violations": [
            {
                "strategy": v.strategy,
                "metric": v.metric,
                "actual": v.actual,
                "limit": v.limit,
                "message": v.message,
            }
            for v in c.violations
        ],
    }


def save_comparison(c: Comparison, directory: Path) -> Path:
    path = directory / COMPARISON_JSON
    path.write_text(json.dumps(comparison_to_dict(c), indent=1, allow_nan=False) + "\n", "utf-8")
    return path


def load_comparison(directory: Path) -> Comparison:
    """Read DIR/comparison.json back; any defect is one RunFileError naming the file."""
    path = directory / COMPARISON_JSON
    raw = read_json(path)
    try:
        if not isinstance(raw, dict) or raw.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"not a comparison file of schema {SCHEMA_VERSION}")
        return _from_dict(raw, directory)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RunFileError(path, f"slos: {first['msg']}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RunFileError(path, f"malformed ({type(exc).__name__}: {exc})") from None


def _load_stat(d: Mapping[str, Any]) -> Stat:
    values = tuple(None if v is None else float(v) for v in d["values"])
    mean, ci95 = d["mean"], d["ci95"]
    return Stat(
        None if mean is None else float(mean),
        None if ci95 is None else float(ci95),
        int(d["n"]),
        values,
        bool(d["never"]),
    )


def _from_dict(d: Mapping[str, Any], root: Path) -> Comparison:
    rows = tuple(
        StrategyRow(
            strategy=str(s["strategy"]),
            description=str(s["description"]),
            rank=int(s["rank"]),
            metrics={m.key: _load_stat(s["metrics"][m.key]) for m in METRICS},
            ratios={k: None if v is None else float(v) for k, v in s["ratios"].items()},
            peak_load_by_region={k: _load_stat(v) for k, v in s["peak_load_by_region"].items()},
            outcomes={k: int(v) for k, v in s["outcomes"].items()},
            saturated=bool(s["saturated"]),
            deadline=str(s.get("deadline", "")),
        )
        for s in d["strategies"]
    )
    faults = tuple(
        FaultWindowRow(
            index=int(f["index"]),
            fault=str(f["fault"]),
            target=str(f["target"]),
            start=_load_stat(f["start"]),
            end=_load_stat(f["end"]),
            reverted=bool(f["reverted"]),
            strategies={
                name: FaultStrategyStats(
                    requests=int(s["requests"]),
                    availability=_load_stat(s["availability"]),
                    time_to_first_success_s=_load_stat(s["time_to_first_success_s"]),
                    recovery_s=_load_stat(s["recovery_s"]),
                )
                for name, s in f["strategies"].items()
            },
        )
        for f in d["faults"]
    )
    runs = tuple(
        RunInfo(
            str(r["name"]), int(r["seed"]), str(r["clock"]), float(r["elapsed"]),
            float(r["wall_seconds"]), bool(r["saturated"]),
            tuple(str(x) for x in r["saturation_reasons"]), bool(r["aborted"]),
            None if r["abort_reason"] is None else str(r["abort_reason"]),
        )
        for r in d["runs"]
    )  # fmt: skip
    violations = tuple(
        Violation(
            str(v["strategy"]), str(v["metric"]),
            None if v["actual"] is None else float(v["actual"]), float(v["limit"]),
            str(v["message"]),
        )
        for v in d["violations"]
    )  # fmt: skip
    if not rows or not runs:
        raise ValueError("no strategies or no runs")
    return Comparison(
        scenario=str(d["scenario"]),
        home_region=str(d["home_region"]),
        capacity_rps={k: None if v is None else float(v) for k, v in d["capacity_rps"].items()},
        bucket=float(d["bucket"]),
        settle_s=float(d["settle_s"]),
        recovery_window_s=float(d["recovery_window_s"]),
        baseline=str(d["baseline"]),
        runs=runs,
        rows=rows,
        faults=faults,
        slos={name: SloSpec.model_validate(spec) for name, spec in d["slos"].items()},
        violations=violations,
        root=root,
        fleets={name: fleet_from_dict(f) for name, f in d.get("fleets", {}).items()},
    )
