"""`harness compare`: every strategy under the same scenario, seed and fault timeline, each in its
own world; N repeats with consecutive seeds; then the scoreboard and reports.

Concurrency: under the virtual clock CPU time does not move the clock, so all strategies run
together in one loop (no saturation is possible). In real time the load generator can become the
bottleneck, so strategies run in batches sized from the offered load; a batch whose generator
reports saturation is split in half and run again, down to one strategy at a time.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from harness.errors import HarnessError
from harness.loops import run_with_signals
from harness.runner import RunOptions, RunResult, run_scenario
from harness.scenario.model import Scenario

# Attempts per second one core carries with client and server in one loop, at low send lag
# (reference/libraries.md measured ~2,650/s flat out; we keep to about 40 % of that).
REAL_TIME_ATTEMPTS_PER_SECOND = 1000.0
EXPECTED_AMPLIFICATION = 1.5

Strategies = list[tuple[str, Any]]


def batch_size(scenario: Scenario, clock: str, count: int) -> int:
    # A shared world must hold every strategy at once: batches would each get their own world.
    if clock == "virtual" or scenario.run.isolation == "shared":
        return max(count, 1)
    per_strategy = scenario.clients.rate * EXPECTED_AMPLIFICATION
    return max(1, min(count, int(REAL_TIME_ATTEMPTS_PER_SECOND // max(per_strategy, 1.0))))


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
    output_format: str = "table",
) -> int:
    from harness.compare import build_comparison, evaluate_slos
    from harness.report import write_reports
    from harness.report.present import present

    runs = directory / "runs"
    if runs.is_dir() and any(runs.iterdir()):
        raise HarnessError(
            f"{runs} already holds results: choose another --out, or remove it "
            "(`harness report` re-renders an existing comparison)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    interrupted = aborted = False
    abort_reason: str | None = None
    with _sigterm_as_interrupt():
        try:
            for index in range(repeat):
                seed = scenario.seed + index
                seeded = scenario.model_copy(update={"seed": seed})
                run_dir = runs / f"{index + 1:02d}-seed{seed}"
                results = _run_batches(
                    seeded,
                    strategies,
                    run_dir,
                    clock,
                    metrics_addr,
                    explicit_metrics,
                    progress,
                    scenario_file,
                    err,
                )
                _merge(results, run_dir)
                interrupted = any(r.interrupted for r in results)
                stopped = next((r for r in results if r.aborted and not r.interrupted), None)
                if stopped is not None:
                    aborted, abort_reason = True, stopped.abort_reason
                complete = {n for r in results for n in r.summary.get("strategies", {})}
                if complete != {name for name, _ in strategies}:
                    _set_aside(run_dir, directory)  # a repeat missing strategies is not comparable
                if interrupted or stopped is not None:
                    break  # a stop condition ends the comparison: later batches would differ
        except KeyboardInterrupt:  # between batches, where no run loop handles the signal
            interrupted = True
            for leftover in runs.glob("*.part*"):
                _set_aside(leftover, directory)
    if abort_reason is not None:
        err.print(f"[bold red]aborted[/]: {abort_reason}", highlight=False)
    if not any(runs.glob("*/summary.json")):
        err.print(f"no complete repeat to compare; partial results are under {directory}")
        return 130 if interrupted else 3
    slos = {n: slo for n, slo in scenario.slo.items() if n in {name for name, _ in strategies}}
    comparison = build_comparison(directory, baseline=baseline, slos=slos)
    paths = write_reports(comparison, directory)
    present(comparison, paths, out, err, output_format)
    violations = [str(v) for v in evaluate_slos(slos, comparison)]
    for violation in violations:
        err.print(f"[bold red]SLO violated[/]: {violation}", highlight=False)
    if interrupted:
        err.print("[yellow]interrupted[/]: faults reverted, partial results written")
        return 130
    if aborted:
        return 3
    return 1 if violations else 0


def _run_batches(
    scenario: Scenario,
    strategies: Strategies,
    run_dir: Path,
    clock: Literal["virtual", "real"],
    metrics_addr: tuple[str, int] | None,
    explicit_metrics: bool,
    progress: bool,
    scenario_file: str,
    err: Console,
) -> list[RunResult]:
    size = batch_size(scenario, clock, len(strategies))
    pending = [strategies[i : i + size] for i in range(0, len(strategies), size)]
    results: list[RunResult] = []
    part = 0
    while pending:
        batch = pending.pop(0)
        part += 1
        options = RunOptions(
            out_dir=run_dir.with_name(f"{run_dir.name}.part{part}")
            if len(strategies) > len(batch) or pending
            else run_dir,
            clock=clock,
            metrics_addr=metrics_addr,
            allow_non_loopback_metrics=explicit_metrics,
            progress=progress,
            scenario_file=scenario_file,
        )
        names = ", ".join(name for name, _ in batch)
        err.print(f"[dim]running seed {scenario.seed}: {names}[/]", highlight=False)
        result = run_with_signals(
            clock,
            lambda interrupt, b=batch, o=options: run_scenario(  # type: ignore[misc]
                scenario, b, o, interrupt=interrupt, console=err
            ),
        )
        if result.interrupted:
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


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Between runs no event loop listens for signals: make SIGTERM behave like Ctrl-C."""

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: cannot read results ({exc})") from None
