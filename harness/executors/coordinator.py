"""Runs units of work on an executor: submits them, retries a lost one once, stops them all.

The coordinator never runs a world itself (the inline executor does, in this thread); it only
hears back plain results. Every unit is stopped when the user interrupts (SIGINT/SIGTERM set the
`interrupt` flag), when one unit ends on a `stop_when` condition, and when one fails on bad input
or a bug; units not started by then come back `skipped`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

from rich.console import Console

from harness.executors.base import Executor, Lost
from harness.executors.progress import UnitsProgress
from harness.executors.units import Unit, UnitResult

MAX_ATTEMPTS = 2  # a unit whose process dies is run once more, then reported as an error
STOP_GRACE = 3.5  # seconds a stopped unit has to revert its faults and send its results
POLL = 0.1


@dataclass(frozen=True, slots=True)
class Outcome:
    results: dict[str, UnitResult]  # by unit id, in the units' order
    interrupted: bool  # the user stopped the run
    stop_reason: str | None  # why the units were stopped early, if they were


def run_units(
    units: list[Unit],
    executor: Executor,
    progress: UnitsProgress,
    interrupt: threading.Event,
    err: Console,
) -> Outcome:
    by_id = {u.id: u for u in units}
    attempts = dict.fromkeys(by_id, 1)
    results: dict[str, UnitResult] = {}
    stopping_since: float | None = None
    stop_reason: str | None = None

    def stop_all(reason: str) -> None:
        nonlocal stopping_since, stop_reason
        if stopping_since is None:
            stopping_since, stop_reason = time.monotonic(), reason
            executor.stop()

    for unit in units:
        executor.submit(unit, 1)
    user_stop = False
    while len(results) < len(units):
        if interrupt.is_set() and stopping_since is None:
            user_stop = True
            stop_all("interrupted (SIGINT/SIGTERM)")
        if stopping_since is not None and time.monotonic() - stopping_since > STOP_GRACE:
            for unit in units:
                if unit.id not in results:
                    reason = f"did not stop within {STOP_GRACE:g} s of being asked"
                    results[unit.id] = UnitResult(unit.id, "error", reason, "lost")
            break
        for item in executor.poll(POLL):
            unit_id = item.unit_id
            if unit_id in results or item.attempt != attempts[unit_id]:
                continue  # a late answer from an attempt already given up on
            if isinstance(item, Lost):
                if attempts[unit_id] < MAX_ATTEMPTS and stopping_since is None:
                    attempts[unit_id] += 1
                    err.print(f"[yellow]unit {unit_id}[/]: {item.reason}; running it again",
                              highlight=False)  # fmt: skip
                    progress.retry(unit_id, attempts[unit_id])
                    executor.submit(by_id[unit_id], attempts[unit_id])
                    continue
                reason = f"{item.reason} (attempt {item.attempt} of {MAX_ATTEMPTS})"
                results[unit_id] = UnitResult(
                    unit_id, "error", reason, "lost", attempts=item.attempt
                )
                err.print(f"[bold red]unit {unit_id} failed[/]: {reason}", highlight=False)
                progress.finished(unit_id, 0)
                continue
            result = item.result
            results[unit_id] = result
            progress.finished(unit_id, _requests(result))
            if result.status == "aborted":
                stop_all(result.reason or "stop_when")
            elif result.status == "error":
                stop_all(f"unit {unit_id} failed: {result.reason}")
    # The inline executor stops its units through this same flag: it means the user only when
    # nothing else (a stop condition, a failed unit) had asked for the stop first.
    interrupted = user_stop or (interrupt.is_set() and stop_reason is None)
    if stop_reason is not None and not interrupted:
        # Units stopped because another one hit a stop condition (or failed) were aborted by
        # it, not interrupted by the user: say so in their results.
        results = {k: _aborted_by(r, stop_reason) for k, r in results.items()}
    ordered = {u.id: results[u.id] for u in units}
    return Outcome(ordered, interrupted, stop_reason)


def _aborted_by(result: UnitResult, reason: str) -> UnitResult:
    if result.status != "interrupted":
        return result
    summary = result.summary
    if summary is not None:
        summary = {**summary, "status": "aborted", "abort_reason": f"stopped early: {reason}"}
    return dataclasses.replace(
        result, status="aborted", reason=f"stopped early: {reason}", summary=summary
    )


def _requests(result: UnitResult) -> int:
    if result.summary is None:
        return 0
    return sum(int(s.get("requests", 0)) for s in result.summary.get("strategies", {}).values())
