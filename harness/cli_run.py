"""`harness run` and `harness compare`: resolve strategies, run on a clock, print results."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from rich.console import Console
from rich.table import Table

from harness.errors import HarnessError
from harness.executors.plan import Execution
from harness.loops import run_with_signals
from harness.runner import RunOptions, RunResult, run_scenario
from harness.scenario.model import Scenario

Clock = Literal["virtual", "real"]


def pick_clock(requested: str | None, scenario: Scenario) -> Clock:
    clock = requested or scenario.run.clock
    if clock not in ("virtual", "real"):
        raise HarnessError(f"--clock: expected 'virtual' or 'real', got {clock!r}")
    return cast(Clock, clock)


def resolve_strategies(scenario: Scenario, names: list[str] | None) -> list[tuple[str, Any]]:
    """The strategies to run, as (name, spec-or-user-strategy). Names may pick from the scenario's
    own definitions or from the catalog."""
    from harness.client import catalog
    from harness.client.factory import resolve_strategies as resolve

    defined = resolve(scenario.strategies, scenario)
    by_name = {str(s.name): s for s in defined}
    repeated = sorted({name for name in names or () if list(names or ()).count(name) > 1})
    if repeated:
        raise HarnessError(f"strategy {', '.join(map(repr, repeated))} given more than once")
    if not names:
        names = list(by_name)
    if scenario.dns.port != 0 and scenario.run.isolation == "per-strategy" and len(names) > 1:
        raise HarnessError(
            f"dns.port {scenario.dns.port}: a fixed DNS port allows one world only; use port 0, "
            "run.isolation: shared, or one strategy"
        )
    for stop in scenario.stop_when:
        watched = getattr(stop, "strategy", None)
        if watched is not None and watched not in names:
            raise HarnessError(
                f"stop_when watches {watched!r}, which is not among the strategies run"
            )
    chosen: list[tuple[str, Any]] = []
    for name in names:
        chosen.append((name, by_name[name] if name in by_name else catalog.get(name)))
    return chosen


def print_run_table(result: RunResult, out: Console) -> None:
    table = Table(title=f"{result.summary['scenario']} — seed {result.summary['seed']}")
    for column in (
        "strategy",
        "requests",
        "availability",
        "p50 ok ms",
        "p99 ok ms",
        "p99 all ms",
        "attempts/req",
        "cross-region",
        "top failures",
    ):
        table.add_column(
            column, justify="left" if column in ("strategy", "top failures") else "right"
        )
    for name, s in result.summary["strategies"].items():
        failures = sorted(
            ((k, v) for k, v in s["outcomes"].items() if k != "ok"), key=lambda kv: -kv[1]
        )[:2]
        lat, lat_ok = s["latency_ms"], s.get("latency_ok_ms") or {}
        table.add_row(
            name,
            str(s["requests"]),
            _fmt(s["availability"], "{:.4f}"),
            _fmt(lat_ok.get("p50"), "{:.1f}"),  # successes only: a fast failure is not fast
            _fmt(lat_ok.get("p99"), "{:.1f}"),
            _fmt(lat["p99"], "{:.1f}"),
            _fmt(s["attempts_per_request"], "{:.2f}"),
            _fmt(s["cross_region_share"], "{:.1%}"),
            ", ".join(f"{k} {v}" for k, v in failures),
        )
    out.print(table)
    from harness.report.populations import populations_table, table_rows

    rows = table_rows(result.summary)  # clients in several home regions: each one's figures
    if rows:
        out.print(populations_table(f"seed {result.summary['seed']}", rows))


def _fmt(value: Any, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def _report_run_end(result: RunResult, out: Console, err: Console) -> None:
    summary = result.summary
    if summary.get("saturated"):
        err.print(
            "[bold red]SATURATED:[/] the load generator could not keep up; these numbers are not "
            "to be trusted:\n  " + "\n  ".join(summary["saturation_reasons"][:5])
        )
    if result.interrupted:
        err.print("[yellow]interrupted[/]: faults reverted, partial results written")
    elif result.aborted:
        err.print(f"[bold red]aborted[/]: {result.abort_reason}")
    for violation in result.slo_violations:
        err.print(f"[bold red]SLO violated[/]: {violation}", highlight=False)
    out.print(f"results: {result.out_dir}", highlight=False)


@dataclass(frozen=True, slots=True)
class Invocation:
    """What `run` and `compare` share: the loaded scenario and how to run and report it."""

    scenario: Scenario
    path: Path
    out_dir: Path | None
    clock: str | None
    metrics_addr: tuple[str, int] | None
    explicit_metrics: bool
    progress: bool
    out: Console
    err: Console
    execution: Execution | None = None  # where units run (virtual clock); None: in one loop


def execute_run(inv: Invocation, names: list[str] | None) -> int:
    from harness.cli import default_out

    scenario = inv.scenario
    strategies = resolve_strategies(scenario, names)
    clock = pick_clock(inv.clock, scenario)
    split = scenario.run.isolation == "per-strategy" and len(strategies) > 1
    from harness.executors.plan import INLINE_BELOW, real_clock_note

    offered = scenario.clients.rate * scenario.duration * len(strategies)
    small = inv.execution is not None and inv.execution.auto and offered < INLINE_BELOW
    if clock == "virtual" and inv.execution is not None and split and not small:
        return _run_in_units(inv, strategies, inv.out_dir or default_out("", scenario.name))
    if clock == "real" and split and (note := real_clock_note(inv.execution)) is not None:
        inv.err.print(note, highlight=False, markup=False)
    options = RunOptions(
        out_dir=inv.out_dir or default_out("", scenario.name),
        clock=clock,
        metrics_addr=inv.metrics_addr,
        allow_non_loopback_metrics=inv.explicit_metrics,
        progress=inv.progress and sys.stderr.isatty(),
        scenario_file=str(inv.path),
    )
    result = run_with_signals(
        options.clock or "virtual",
        lambda interrupt: run_scenario(
            scenario, strategies, options, interrupt=interrupt, console=inv.err
        ),
    )
    if not result.interrupted:
        result.slo_violations = slo_violations(scenario, result.out_dir)
    print_run_table(result, inv.out)
    _report_run_end(result, inv.out, inv.err)
    return result.exit_code


def _run_in_units(inv: Invocation, strategies: list[tuple[str, Any]], out_dir: Path) -> int:
    """`harness run` with several strategies under the virtual clock: one unit per strategy, run
    on the executor, merged into one results directory."""
    import threading

    from harness.compare.orchestrate import EXIT_UNIT_FAILED, raise_unit_errors
    from harness.executors.merge import merge_units
    from harness.executors.plan import execute, plan, results_dir
    from harness.loops import signals_set

    execution = _with_text(inv)
    assert execution is not None
    names = [name for name, _ in strategies]
    repeat = plan(inv.scenario, names, execution, scenario_file=str(inv.path), repeat=1)[0]
    if inv.metrics_addr is not None:
        inv.err.print(
            "[dim]metrics: not served (units run in separate worker processes under the virtual "
            "clock; --clock real serves them live)[/]",
            highlight=False,
        )
    interrupt = threading.Event()
    with results_dir(out_dir), signals_set(interrupt):
        outcome, info = execute(
            [repeat], execution, interrupt, progress=inv.progress and sys.stderr.isatty(),
            err=inv.err,
        )  # fmt: skip
        results = [outcome.results[u.id] for u in repeat.units]
        lost = [
            (u, r)
            for u, r in zip(repeat.units, results, strict=True)
            if r.status == "error" and r.error_kind == "lost"
        ]
        leave_out = frozenset(name for u, _ in lost for name in u.strategies)
        if not any(r.has_results for u, r in zip(repeat.units, results, strict=True)
                   if not set(u.strategies) & leave_out):  # fmt: skip
            for unit, r in lost:
                inv.err.print(f"[bold red]failed[/]: unit {unit.id}: {r.reason}", highlight=False)
            inv.err.print("no results: every unit was stopped or failed before it ran")
            return 130 if outcome.interrupted else EXIT_UNIT_FAILED
        summary = merge_units(repeat.units, results, out_dir, info, leave_out=leave_out)
        raise_unit_errors(outcome)  # after merging: the failed run's results stay on disk
    result = RunResult(
        out_dir=out_dir,
        summary=summary,
        aborted=bool(summary["aborted"]),
        abort_reason=summary["abort_reason"],
        interrupted=outcome.interrupted,
    )
    if not result.interrupted:
        result.slo_violations = slo_violations(inv.scenario, out_dir)
    print_run_table(result, inv.out)
    _report_run_end(result, inv.out, inv.err)
    for unit, r in lost:
        inv.err.print(f"[bold red]failed[/]: unit {unit.id}: {r.reason}", highlight=False)
    code = result.exit_code
    return EXIT_UNIT_FAILED if lost and code in (0, 1) else code


def slo_violations(scenario: Scenario, directory: Path) -> list[str]:
    if not scenario.slo:
        return []
    from harness.compare import build_comparison, evaluate_slos

    slos = slos_for(scenario, {row.strategy for row in build_comparison(directory).rows})
    comparison = build_comparison(directory, baseline=None, slos=slos)
    return [str(v) for v in evaluate_slos(slos, comparison)]


def slos_for(scenario: Scenario, strategies: set[str]) -> dict[str, Any]:
    """The scenario's SLO gates for the strategies actually run (`-s` may pick a subset)."""
    return {name: slo for name, slo in scenario.slo.items() if name in strategies}


def execute_compare(
    inv: Invocation,
    names: list[str],
    repeat: int,
    baseline: str | None,
    output_format: str = "table",
) -> int:
    from harness.cli import default_out
    from harness.compare.orchestrate import run_comparison

    scenario = inv.scenario
    if names == ["all"]:
        from harness.client import catalog

        names = list(catalog.names())
    strategies = resolve_strategies(scenario, names or None)
    if baseline is not None and baseline not in {n for n, _ in strategies}:
        raise HarnessError(f"--baseline: {baseline!r} is not among the strategies being compared")
    return run_comparison(
        scenario,
        strategies,
        directory=inv.out_dir or default_out("compare", scenario.name),
        repeat=repeat,
        baseline=baseline,
        clock=pick_clock(inv.clock, scenario),
        metrics_addr=inv.metrics_addr,
        explicit_metrics=inv.explicit_metrics,
        progress=inv.progress and sys.stderr.isatty(),
        scenario_file=str(inv.path),
        out=inv.out,
        err=inv.err,
        execution=_with_text(inv),
        output_format=output_format,
    )


def _with_text(inv: Invocation) -> Execution | None:
    """The execution plan with the scenario's own text (units carry it to their workers)."""
    if inv.execution is None:
        return None
    from dataclasses import replace

    try:
        text = inv.path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"{inv.path}: cannot read ({exc.strerror})") from None
    return replace(inv.execution, scenario_text=text)
