"""comparison.json: the saved Comparison, enough to re-render every report without re-reading the
request logs (the charts still read each run's timeseries.json)."""

from __future__ import annotations

import json
import math
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
    Verdict,
    Violation,
)
from harness.compare.rundir import RunFileError, read_json
from harness.compare.stats import (
    INTERVAL_T,
    INTERVAL_WILSON,
    INTERVAL_WILSON_SEEDS,
    PairedTest,
    Stat,
)
from harness.scenario.model import SloSpec

COMPARISON_JSON = "comparison.json"
SCHEMA_VERSION = 2
RANK_ORDER = (
    "availability during faults (overall when no fault was applied), higher first; neighbours "
    "not told apart by the test share a rank",
    "inside a tie: overall availability, higher first",
    "then p99 latency of successful requests, lower first",
)
INTERVALS = {
    INTERVAL_WILSON: "Wilson score interval on the run's request counts (one run)",
    INTERVAL_WILSON_SEEDS: "Wilson score interval on the pooled count shrunk by the design effect "
    "of the seed-to-seed variance, z = t(0.975, seeds - 1)",
    INTERVAL_T: "mean ± t(0.975, seeds - 1)·s/√seeds, intersected with the metric's domain (≥ 0)",
}
TESTS = {
    "paired-t-holm": "two-sided paired Student t test on the per-seed differences of the ranked "
    "metric between neighbours in the order, Holm-corrected over the neighbour pairs; neighbours "
    "whose adjusted p is not below the level share a rank. p_sign_flip: the exact sign-flip "
    "permutation p of the same differences, unadjusted, as a check",
    "wilson-overlap": "one seed, nothing tested: neighbours share a rank unless their 95 % Wilson "
    "intervals on request counts are disjoint",
}


def _stat(stat: Stat) -> dict[str, Any]:
    return {
        "mean": stat.mean,
        "low": stat.low,
        "high": stat.high,
        "interval": stat.interval,
        "n": stat.n,
        "values": list(stat.values),
        "never": stat.never,
    }


def _ratio_out(value: float | None) -> float | str | None:
    """JSON has no infinity: a ratio against a baseline without failures is written "inf"."""
    return "inf" if value is not None and math.isinf(value) else value


def _test(t: PairedTest) -> dict[str, Any]:
    return {
        "a": t.a,
        "b": t.b,
        "n": t.n,
        "mean_diff": t.mean_diff,
        "low": t.low,
        "high": t.high,
        "p": t.p,
        "p_adjusted": t.p_adjusted,
        "p_sign_flip": t.p_sign_flip,
        "significant": t.significant,
    }


def _verdict(v: Verdict) -> dict[str, Any]:
    return {
        "metric": v.metric,
        "test": v.test,
        "test_description": TESTS.get(v.test, ""),
        "level": v.level,
        "tested": v.tested,
        "neighbours": [_test(t) for t in v.neighbours],
        "vs_baseline": [_test(t) for t in v.vs_baseline],
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
        "verdict": _verdict(c.verdict),
        "intervals": INTERVALS,
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
                "tied": row.tied,
                "saturated": row.saturated,
                "deadline": row.deadline,
                "metrics": {k: _stat(s) for k, s in row.metrics.items()},
                "ratios": {k: _ratio_out(v) for k, v in row.ratios.items()},
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
                        "ok": s.ok,
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


def saved_settings(directory: Path) -> tuple[str | None, dict[str, SloSpec], float] | None:
    """For a comparison.json written by an older harness (an earlier schema): its baseline, SLOs
    and settle, so the comparison can be rebuilt from the runs; None when it is current."""
    path = directory / COMPARISON_JSON
    raw = read_json(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("schema"), int):
        return None  # not ours at all: load_comparison names the defect
    if raw["schema"] >= SCHEMA_VERSION:
        return None
    try:
        slos = {str(n): SloSpec.model_validate(spec) for n, spec in raw["slos"].items()}
        return str(raw["baseline"]), slos, float(raw["settle_s"])
    except (KeyError, TypeError, ValueError, AttributeError, ValidationError) as exc:
        raise RunFileError(path, f"malformed ({type(exc).__name__}: {exc})") from None


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


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


def _load_stat(d: Mapping[str, Any]) -> Stat:
    values = tuple(_opt(v) for v in d["values"])
    return Stat(
        _opt(d["mean"]), _opt(d["low"]), _opt(d["high"]), int(d["n"]), values, bool(d["never"]),
        str(d["interval"]),
    )  # fmt: skip


def _load_test(d: Mapping[str, Any]) -> PairedTest:
    return PairedTest(
        str(d["a"]), str(d["b"]), int(d["n"]), _opt(d["mean_diff"]), _opt(d["low"]),
        _opt(d["high"]), _opt(d["p"]), _opt(d["p_adjusted"]), _opt(d["p_sign_flip"]),
        bool(d["significant"]),
    )  # fmt: skip


def _load_verdict(d: Mapping[str, Any]) -> Verdict:
    return Verdict(
        str(d["metric"]), str(d["test"]), float(d["level"]), bool(d["tested"]),
        tuple(_load_test(t) for t in d["neighbours"]),
        tuple(_load_test(t) for t in d["vs_baseline"]),
    )  # fmt: skip


def _from_dict(d: Mapping[str, Any], root: Path) -> Comparison:
    rows = tuple(
        StrategyRow(
            strategy=str(s["strategy"]),
            description=str(s["description"]),
            rank=int(s["rank"]),
            tied=bool(s["tied"]),
            metrics={m.key: _load_stat(s["metrics"][m.key]) for m in METRICS},
            ratios={k: _opt(v) for k, v in s["ratios"].items()},
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
                    ok=int(s["ok"]),
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
        verdict=_load_verdict(d["verdict"]),
        faults=faults,
        slos={name: SloSpec.model_validate(spec) for name, spec in d["slos"].items()},
        violations=violations,
        root=root,
        fleets={name: fleet_from_dict(f) for name, f in d.get("fleets", {}).items()},
    )
