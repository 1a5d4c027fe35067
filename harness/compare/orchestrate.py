"""`harness compare`: every strategy under the same scenario, seed and fault timeline, each in its
own world; N repeats with consecutive seeds; then the scoreboard and reports.

Concurrency: under the virtual clock CPU time does not move the clock (no saturation is
possible), so every (strategy, seed) world is a unit of work run by an executor — worker processes
by default, or a Dask cluster (harness/executors). In real time the load generator can become the
bottleneck, so strategies run in batches in this process sized from the offered load; a batch
whose generator reports saturation is split in half and run again, down to one strategy at a
time.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from harness.errors import HarnessError
from harness.executors.coordinator import Outcome
from harness.executors.local import usable_cores
from harness.executors.merge import merge_units
from harness.executors.plan import (
    Execution,
    execute,
    output_dirs,
    plan,
    real_clock_note,
    results_dir,
)
from harness.loops import reinstall, run_with_signals, signals_set
from harness.runner import RunOptions, RunResult, run_scenario
from harness.scenario.model import Scenario

# Attempts per second one core carries with client and server in one loop, at low send lag
# (reference/libraries.md measured ~2,650/s flat out; we keep to about 40 % of that).
REAL_TIME_ATTEMPTS_PER_SECOND = 1000.0
EXPECTED_AMPLIFICATION = 1.5

Strategies = list[tuple[str, Any]]

EXIT_UNIT_FAILED = 4  # a unit of work was lost twice (its process died): the rest is reported


def batch_size(scenario: Scenario, clock: str, count: int) -> int:
    # A shared world must hold every strategy at once: batches would each get their own world.
    if clock == "virtual" or scenario.run.isolation == "shared":
        return max(count, 1)
    per_strategy = scenario.clients.rate * EXPECTED_AMPLIFICATION
    return max(1, min(count, int(REAL_TIME_ATTEMPTS_PER_SECOND // max(per_strategy, 1.0))))


@dataclass(slots=True)
class _Ending:
    interrupted: bool = False
    abort_reason: str | None = None  # a stop_when condition ended the comparison
    failed: list[str] = field(default_factory=list)  # units given up on, one line each
    # processes for what follows the units (reading repeats, drawing charts): as many as ran
    # the units on this machine; one when they ran in this process
    report_workers: int = 1


def run_comparison(
    scenario: Scenario,
    strategies: Strategies,
    *,
    directory: Path,
    repeat: int,
    baseline: str | None,
    clock: Literal["virtual", "real"],
    metrics_addr: tuple[str, int] | None,
    explicit_metrics: bool,
    progress: bool,
    scenario_file: str,
    out: Console,
    err: Console,
    execution: Execution | None = None,
    output_format: str = "table",
) -> int:
    """Run the comparison and write its reports. Under the virtual clock (with `execution`) the
    (strategy, seed) units run on an executor; in real time, in batches in this process."""
    runs = directory / "runs"
    if runs.is_dir() and any(runs.iterdir()):
        raise HarnessError(
            f"{runs} already holds results: choose another --out, or remove it "
            "(`harness report` re-renders an existing comparison)"
        )
    interrupt = threading.Event()
    # Signals only set a flag from here to the last report written: a second Ctrl-C cannot cut
    # the writing of results or comparison files short.
    with results_dir(directory), signals_set(interrupt):
        if clock == "virtual" and execution is not None:
            ending = _compare_in_units(
                scenario, strategies, directory, repeat, execution, scenario_file, progress,
                interrupt, err,
            )  # fmt: skip
        else:
            if clock == "real" and (note := real_clock_note(execution)) is not None:
                err.print(note, highlight=False, markup=False)
            batches = _Batches(
                clock, metrics_addr, explicit_metrics, progress, scenario_file, interrupt, err
            )
            ending = _compare_in_batches(scenario, strategies, directory, repeat, batches)
        return _report(scenario, directory, baseline, ending, out, err, output_format)


def _report(
    scenario: Scenario,
    directory: Path,
    baseline: str | None,
    ending: _Ending,
    out: Console,
    err: Console,
    output_format: str,
) -> int:
    from harness.compare import build_comparison, evaluate_slos
    from harness.report import write_reports
    from harness.report.present import present

    runs = directory / "runs"
    if ending.abort_reason is not None:
        err.print(f"[bold red]aborted[/]: {ending.abort_reason}", highlight=False)
    if not any(runs.glob("*/summary.json")):
        err.print(f"no complete repeat to compare; partial results are under {directory}")
        return 130 if ending.interrupted else EXIT_UNIT_FAILED if ending.failed else 3
    compared = {n for n in _strategies_in(runs)}
    slos = {n: slo for n, slo in scenario.slo.items() if n in compared}
    if baseline is not None and baseline not in compared:
        err.print(f"[yellow]baseline {baseline!r} has no results: using the first strategy[/]")
        baseline = None
    workers = ending.report_workers
    comparison = build_comparison(directory, baseline=baseline, slos=slos, workers=workers)
    paths = write_reports(comparison, directory, html=not ending.interrupted, workers=workers)
    present(comparison, paths, out, err, output_format)
    violations = [str(v) for v in evaluate_slos(slos, comparison)]
    for violation in violations:
        err.print(f"[bold red]SLO violated[/]: {violation}", highlight=False)
    for line in ending.failed:
        err.print(f"[bold red]failed[/]: {line}", highlight=False)
    if ending.interrupted:
        err.print(
            "[yellow]interrupted[/]: faults reverted, partial results written "
            f"(`harness report {directory}` renders report.html)",
            highlight=False,
        )
        return 130
    if ending.abort_reason is not None:
        return 3
    if ending.failed:
        return EXIT_UNIT_FAILED
    return 1 if violations else 0


def _strategies_in(runs: Path) -> list[str]:
    first = sorted(runs.glob("*/summary.json"))[0]
    return list(_read(first).get("strategies", {}))


def _compare_in_units(
    scenario: Scenario,
    strategies: Strategies,
    directory: Path,
    repeat: int,
    execution: Execution,
    scenario_file: str,
    progress: bool,
    interrupt: threading.Event,
    err: Console,
) -> _Ending:
    names = [name for name, _ in strategies]
    repeats = plan(scenario, names, execution, scenario_file=scenario_file, repeat=repeat)
    outcome, info = execute(repeats, execution, interrupt, progress=progress, err=err)
    ending = _Ending(interrupted=outcome.interrupted)
    if info["kind"] == "local":
        ending.report_workers = info["workers"]
    elif info["kind"] == "dask":
        ending.report_workers = usable_cores()  # the cluster's workers are not this machine's
    lost = {
        u.id: u
        for r in repeats
        for u in r.units
        if outcome.results[u.id].status == "error" and outcome.results[u.id].error_kind == "lost"
    }
    for unit_id, unit in lost.items():
        reason = outcome.results[unit_id].reason
        names_ = ", ".join(unit.strategies)
        ending.failed.append(f"unit {unit_id} ({names_}): {reason}; left out of the comparison")
    leave_out = frozenset(name for unit in lost.values() for name in unit.strategies)
    for r in repeats:
        results = [outcome.results[u.id] for u in r.units]
        wanted = [res for u, res in zip(r.units, results, strict=True)
                  if not set(u.strategies) & leave_out]  # fmt: skip
        if not any(res.has_results for res in wanted):
            continue
        complete, incomplete = output_dirs(directory, r)
        target = complete if all(res.has_results for res in wanted) else incomplete
        summary = merge_units(r.units, results, target, info, leave_out=leave_out)
        if (
            summary["status"] == "aborted"
            and ending.abort_reason is None
            and not outcome.interrupted
        ):
            ending.abort_reason = summary["abort_reason"]
    return ending


def raise_unit_errors(outcome: Outcome) -> None:
    """A unit that failed on bad input (a user strategy that raises, say) or on a bug in the
    harness fails the whole command, as a single run would."""
    for unit_id, result in outcome.results.items():
        if result.status == "error" and result.error_kind == "input":
            raise HarnessError(result.reason or f"unit {unit_id} failed")
    for unit_id, result in outcome.results.items():
        if result.status == "error" and result.error_kind == "internal":
            raise UnitCrashed(f"unit {unit_id}: {result.reason}")


class UnitCrashed(RuntimeError):
    """A bug surfaced in a unit of work (reported as an internal error, exit 70)."""


@dataclass(frozen=True, slots=True)
class _Batches:
    """How every batch of a comparison run in this process runs (real time, or no executor)."""

    clock: Literal["virtual", "real"]
    metrics_addr: tuple[str, int] | None
    explicit_metrics: bool
    progress: bool
    scenario_file: str
    interrupt: threading.Event
    err: Console


def _compare_in_batches(
    scenario: Scenario, strategies: Strategies, directory: Path, repeat: int, batches: _Batches
) -> _Ending:
    runs = directory / "runs"
    ending = _Ending()
    interrupt = batches.interrupt
    for index in range(repeat):
        if interrupt.is_set():
            ending.interrupted = True
            break
        seed = scenario.seed + index
        seeded = scenario.model_copy(update={"seed": seed})
        run_dir = runs / f"{index + 1:02d}-seed{seed}"
        results = _run_batches(seeded, strategies, run_dir, batches)
        _merge(results, run_dir)
        ending.interrupted = interrupt.is_set() or any(r.interrupted for r in results)
        stopped = next((r for r in results if r.aborted and not r.interrupted), None)
        if stopped is not None:
            ending.abort_reason = stopped.abort_reason
        complete = {n for r in results for n in r.summary.get("strategies", {})}
        if complete != {name for name, _ in strategies}:
            _set_aside(run_dir, directory)  # a repeat missing strategies is not comparable
        if ending.interrupted or stopped is not None:
            break  # a stop condition ends the comparison: later batches would differ
    for leftover in runs.glob("*.part*"):
        _set_aside(leftover, directory)
    return ending


def _run_batches(
    scenario: Scenario, strategies: Strategies, run_dir: Path, batches: _Batches
) -> list[RunResult]:
    clock, interrupt, err = batches.clock, batches.interrupt, batches.err
    size = batch_size(scenario, clock, len(strategies))
    pending = [strategies[i : i + size] for i in range(0, len(strategies), size)]
    results: list[RunResult] = []
    part = 0
    while pending and not interrupt.is_set():
        batch = pending.pop(0)
        part += 1
        options = RunOptions(
            out_dir=run_dir.with_name(f"{run_dir.name}.part{part}")
            if len(strategies) > len(batch) or pending
            else run_dir,
            clock=clock,
            metrics_addr=batches.metrics_addr,
            allow_non_loopback_metrics=batches.explicit_metrics,
            progress=batches.progress,
            scenario_file=batches.scenario_file,
        )
        names = ", ".join(name for name, _ in batch)
        err.print(f"[dim]running seed {scenario.seed}: {names}[/]", highlight=False)
        try:
            result = run_with_signals(
                clock,
                lambda stop, b=batch, o=options: run_scenario(  # type: ignore[misc]
                    scenario, b, o, interrupt=stop, console=err
                ),
            )
        finally:
            reinstall(interrupt)  # the run's loop put Python's default handlers back
        if result.interrupted:
            interrupt.set()
            results.append(result)
            return results
        if result.summary.get("saturated") and len(batch) > 1:
            half = len(batch) // 2
            err.print(f"[yellow]saturated with {len(batch)} at once: retrying {half} at a time[/]")
            shutil.rmtree(result.out_dir, ignore_errors=True)
            pending[:0] = [batch[:half], batch[half:]]
            continue
        results.append(result)
    return results


def _merge(results: list[RunResult], run_dir: Path) -> None:
    """Fold batch directories into one run directory (gzip members concatenate validly)."""
    parts = [r.out_dir for r in results if r.out_dir != run_dir]
    if not parts:
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] | None = None
    series: dict[str, Any] | None = None
    journal: dict[str, Any] = {}
    with (run_dir / "requests.jsonl.gz").open("wb") as records:
        for part in parts:
            part_summary = _read(part / "summary.json")
            if summary is None:
                summary = part_summary
            else:
                summary["strategies"].update(part_summary["strategies"])
                summary["saturated"] = summary["saturated"] or part_summary["saturated"]
                summary["saturation_reasons"] += part_summary["saturation_reasons"]
                summary["aborted"] = summary["aborted"] or part_summary["aborted"]
                summary["abort_reason"] = summary["abort_reason"] or part_summary["abort_reason"]
                summary["wall_seconds"] = round(
                    summary["wall_seconds"] + part_summary["wall_seconds"], 3
                )
                summary["ended_at"] = part_summary["ended_at"]
            part_series = (
                _read(part / "timeseries.json") if (part / "timeseries.json").exists() else None
            )
            if part_series is not None:
                if series is None:
                    series = part_series
                else:
                    series["strategies"].update(part_series["strategies"])
            journal.update(_read(part / "journal.json"))
            with (part / "requests.jsonl.gz").open("rb") as source:
                shutil.copyfileobj(source, records)
    if summary is not None:
        summary["batches"] = len(parts)
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if series is not None:
        (run_dir / "timeseries.json").write_text(json.dumps(series, indent=2) + "\n")
    (run_dir / "journal.json").write_text(json.dumps(journal, indent=2) + "\n")
    for part in parts:
        shutil.rmtree(part, ignore_errors=True)


def _set_aside(path: Path, directory: Path) -> None:
    """Move an incomplete run out of runs/, where every repeat must hold every strategy."""
    if path.exists():
        target = directory / "incomplete" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        path.rename(target)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: cannot read results ({exc})") from None
