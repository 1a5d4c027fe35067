"""A unit of work: one world per (strategies, seed), described by plain data and run anywhere.

A unit carries the scenario's text (not a parsed object), the strategy names and the seed; the
process that runs it parses the scenario again, resolves the strategies by name (catalog, inline
definitions, user factories) and runs it in a temporary directory, then hands back the result
files' contents. Nothing live crosses a process boundary, so the same unit gives the same bytes in
this process, in a local worker or on a Dask worker on another machine.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import HarnessError
from harness.loops import StopFlag, run_loop

Status = Literal["ok", "aborted", "interrupted", "skipped", "error"]
ErrorKind = Literal["input", "internal", "lost"]

REPORT_EVERY = 0.2  # real seconds between two progress reports of one unit (display only)

# The files a run writes (harness/compare/rundir.py reads them; not imported from there, which
# would load the comparison's statistics stack into every worker for nothing).
SUMMARY, TIMESERIES, JOURNAL, REQUESTS = (
    "summary.json",
    "timeseries.json",
    "journal.json",
    "requests.jsonl.gz",
)

Reporter = Callable[[str, int, float, int], None]  # (unit id, attempt, elapsed, requests)


@dataclass(frozen=True, slots=True)
class Unit:
    id: str  # e.g. "01-seed42/naive": names the unit in messages and in units.json
    repeat: int  # 1-based index of the repeat (seed) it belongs to
    seed: int
    strategies: tuple[str, ...]
    scenario_text: str
    scenario_file: str
    overrides: dict[str, Any] = field(default_factory=dict)  # e.g. duration from --duration
    duration: float = 0.0  # loop seconds the unit covers (for the progress bar's ETA)
    expected_requests: float = 0.0  # offered load × duration × strategies: the unit's size


@dataclass(frozen=True, slots=True)
class UnitResult:
    unit_id: str
    status: Status
    reason: str | None = None
    error_kind: ErrorKind | None = None
    summary: dict[str, Any] | None = None
    timeseries: dict[str, Any] | None = None
    journal: dict[str, Any] | None = None
    requests: bytes = b""  # requests.jsonl.gz exactly as the run wrote it
    worker: str = ""  # host:pid
    attempts: int = 1

    @property
    def has_results(self) -> bool:
        return self.summary is not None


def run_unit(unit: Unit, attempt: int, stop: StopFlag, report: Reporter) -> UnitResult:
    """Run one unit in this process; never raises for a failure of the run itself (a failed run
    comes back as status `error`, with whatever results it wrote)."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if stop.is_set():
        return UnitResult(unit.id, "skipped", "stopped before it started", worker=worker)
    with tempfile.TemporaryDirectory(prefix="harness-unit-") as name:
        tmp = Path(name)
        try:
            status, reason = _run(unit, attempt, stop, report, tmp)
            kind: ErrorKind | None = None
        except Exception as exc:
            leaf = _first_leaf(exc)
            status, kind = "error", "input" if isinstance(leaf, HarnessError) else "internal"
            reason = str(leaf) if kind == "input" else f"{type(leaf).__name__}: {leaf}"
        return _collect(unit.id, status, reason, kind, tmp, worker, attempt)


def _run(
    unit: Unit, attempt: int, stop: StopFlag, report: Reporter, tmp: Path
) -> tuple[Status, str | None]:
    from harness.cli_run import resolve_strategies
    from harness.client import catalog
    from harness.runner import RunOptions, run_scenario
    from harness.scenario import parse_scenario

    scenario = parse_scenario(
        unit.scenario_text,
        unit.scenario_file,
        known_strategies=catalog.names(),
        overrides={**unit.overrides, "seed": unit.seed},
    )
    # Stop conditions watching a strategy of another unit cannot be evaluated here (the
    # coordinator stops every unit when one of them stops).
    stops = tuple(
        c for c in scenario.stop_when if getattr(c, "strategy", None) in (None, *unit.strategies)
    )
    scenario = scenario.model_copy(update={"stop_when": stops})
    strategies = resolve_strategies(scenario, list(unit.strategies))
    options = RunOptions(
        out_dir=tmp,
        clock="virtual",
        metrics_addr=None,
        progress=False,
        scenario_file=unit.scenario_file,
    )
    last = 0.0

    def on_progress(elapsed: float, requests: int) -> None:
        nonlocal last
        now = time.monotonic()  # display pacing only, never behaviour
        if now - last >= REPORT_EVERY:
            last = now
            report(unit.id, attempt, elapsed, requests)

    result = run_loop(
        "virtual",
        lambda interrupt: run_scenario(
            scenario, strategies, options, interrupt=interrupt, on_progress=on_progress
        ),
        stop=stop,
    )
    report(unit.id, attempt, unit.duration, _requests(result.summary))
    if result.interrupted:
        return "interrupted", result.abort_reason
    if result.aborted:
        return "aborted", result.abort_reason
    return "ok", None


def _collect(
    unit_id: str,
    status: Status,
    reason: str | None,
    kind: ErrorKind | None,
    tmp: Path,
    worker: str,
    attempt: int,
) -> UnitResult:
    summary = _json(tmp / SUMMARY)
    if summary is None and status != "error":
        status, reason, kind = "error", "the run wrote no summary", "internal"
    return UnitResult(
        unit_id,
        status,
        reason,
        kind,
        summary=summary,
        timeseries=_json(tmp / TIMESERIES),
        journal=_json(tmp / JOURNAL),
        requests=(tmp / REQUESTS).read_bytes() if (tmp / REQUESTS).exists() else b"",
        worker=worker,
        attempts=attempt,
    )


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _requests(summary: dict[str, Any]) -> int:
    return sum(int(s.get("requests", 0)) for s in summary.get("strategies", {}).values())


def _json(path: Path) -> dict[str, Any] | None:
    import json

    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
