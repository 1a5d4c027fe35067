"""The coordinator writes a run directory from units' results, in the layout a single run has
(summary.json, requests.jsonl.gz, timeseries.json, journal.json), so `build_comparison` and
`harness report` read it unchanged. Units are folded in their given (strategy) order, so the
files are the same whichever executor ran them and in whatever order they finished."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.compare.rundir import JOURNAL, REQUESTS, SUMMARY, TIMESERIES
from harness.errors import HarnessError
from harness.executors.units import Unit, UnitResult
from harness.runner.results import write_json

_SEVERITY = {"ok": 0, "aborted": 1, "interrupted": 2, "error": 3}


def merge_units(
    units: list[Unit],
    results: list[UnitResult],
    run_dir: Path,
    executor: dict[str, Any],
    *,
    leave_out: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Write run_dir from the results that carry files (strategies in `leave_out` excluded);
    returns the merged summary."""
    kept = [
        r for u, r in zip(units, results, strict=True)
        if r.summary is not None and not set(u.strategies) & leave_out
    ]  # fmt: skip
    if not kept:
        raise ValueError("no unit of this run has results")
    run_dir.mkdir(parents=True, exist_ok=True)
    first = kept[0].summary
    assert first is not None
    summary: dict[str, Any] = json.loads(json.dumps(first))  # a deep copy
    series: dict[str, Any] | None = None
    journal: dict[str, Any] = {}
    for result in kept:
        part = result.summary
        assert part is not None
        if part is not first:
            fold_summary(summary, part)
        if result.timeseries is not None:
            if series is None:
                series = json.loads(json.dumps(result.timeseries))
            else:
                series["strategies"].update(result.timeseries["strategies"])
        journal.update(result.journal or {})
    starts = [_wall(r.summary["started_at"]) for r in kept if r.summary]
    ends = [_wall(r.summary["ended_at"]) for r in kept if r.summary]
    summary["started_at"] = min(starts).isoformat(timespec="milliseconds")
    summary["ended_at"] = max(ends).isoformat(timespec="milliseconds")
    summary["wall_seconds"] = round((max(ends) - min(starts)).total_seconds(), 3)
    summary["executor"] = executor
    summary["units"] = [_unit_entry(u, r) for u, r in zip(units, results, strict=True)]
    # Every file is attempted even when one cannot be written (a full disk may free up, and
    # the journal says which faults ran); the first failure is the one reported.
    writes: list[Callable[[], None]] = [
        lambda: _write_records(run_dir / REQUESTS, kept),
        lambda: write_json(run_dir / SUMMARY, summary),
        lambda: write_json(run_dir / JOURNAL, journal),
    ]
    if series is not None:
        writes.insert(2, lambda: write_json(run_dir / TIMESERIES, series))
    failures: list[HarnessError] = []
    for write in writes:
        try:
            write()
        except HarnessError as exc:
            failures.append(exc)
    if failures:
        raise failures[0]
    return summary


def fold_summary(summary: dict[str, Any], part: dict[str, Any]) -> None:
    """Fold one run's summary of other strategies, same seed, into `summary` (in place)."""
    summary["strategies"].update(part["strategies"])
    summary["consistency"].update(part.get("consistency", {}))
    summary["saturated"] = summary["saturated"] or part["saturated"]
    summary["saturation_reasons"] += part["saturation_reasons"]
    summary["elapsed"] = max(summary["elapsed"], part["elapsed"])
    if _SEVERITY.get(part["status"], 3) > _SEVERITY.get(summary["status"], 3):
        summary["status"] = part["status"]
    summary["aborted"] = summary["aborted"] or part["aborted"]
    summary["abort_reason"] = summary["abort_reason"] or part["abort_reason"]


def _unit_entry(unit: Unit, result: UnitResult) -> dict[str, Any]:
    wall = result.summary.get("wall_seconds") if result.summary else None
    return {
        "id": unit.id,
        "strategies": list(unit.strategies),
        "status": result.status,
        "reason": result.reason,
        "attempts": result.attempts,
        "worker": result.worker,
        "wall_seconds": wall,
    }


def _wall(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _write_records(path: Path, kept: list[UnitResult]) -> None:
    """Units' records in order: gzip members concatenate into one valid stream."""
    try:
        with path.open("wb") as records:
            for result in kept:
                records.write(result.requests)
    except OSError as exc:
        raise HarnessError(f"{path}: cannot write ({exc.strerror or exc})") from None
