"""Build a Comparison from the run directories of a comparison (or from one run directory)."""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path

from harness.compare.fleet import fleet_rows
from harness.compare.metrics import RunMetrics, StrategyRunMetrics, compute_run_metrics
from harness.compare.model import (
    METRIC_BY_KEY,
    METRICS,
    Comparison,
    FaultStrategyStats,
    FaultWindowRow,
    RunInfo,
    StrategyRow,
    Verdict,
)
from harness.compare.rundir import REQUESTS, SUMMARY, RunFileError, find_run_dirs
from harness.compare.slo import evaluate_slos
from harness.compare.stats import (
    ALPHA,
    TEST_PAIRED_T,
    TEST_RESOLUTION,
    Stat,
    order_key,
    paired_tests,
    ratio,
    resolution_tests,
    summarize,
    summarize_proportion,
    tie_ranks,
)
from harness.compare.windows import DEFAULT_SETTLE, recovery_window_buckets
from harness.errors import HarnessError
from harness.processes import map_in_processes
from harness.scenario.model import SloSpec

# Compressed request records worth reading in helper processes: ~1.5 s of reading on one core
# (the headline writes ~4 MB per seed), four times what starting a helper costs.
FAN_OUT_BYTES = 4_000_000


def build_comparison(
    directory: Path,
    *,
    baseline: str | None = None,
    slos: Mapping[str, SloSpec] | None = None,
    settle: float = DEFAULT_SETTLE,
    workers: int = 1,
) -> Comparison:
    """Read DIR/runs/* (or DIR itself when it is a single run directory) and rank the strategies.

    baseline: the strategy ratios are taken against; default: the first strategy of the run.
    settle: seconds after the last fault ends before "after recovery" starts (see windows.py).
    workers: processes that read the repeats' requests side by side, when there are enough of
    them to pay for starting a process (FAN_OUT_BYTES).
    """
    directory = Path(directory)
    run_dirs = find_run_dirs(directory)
    if sum(_size(run_dir / REQUESTS) for run_dir in run_dirs) < FAN_OUT_BYTES:
        workers = 1
    read = partial(compute_run_metrics, settle=settle)
    runs = map_in_processes(read, run_dirs, workers=workers)
    return comparison_from_runs(runs, directory, baseline=baseline, slos=slos, settle=settle)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # compute_run_metrics says what is missing


def comparison_from_runs(
    runs: Sequence[RunMetrics],
    root: Path,
    *,
    baseline: str | None = None,
    slos: Mapping[str, SloSpec] | None = None,
    settle: float = DEFAULT_SETTLE,
) -> Comparison:
    """Rank the strategies over already-read repeats (compute_run_metrics of each run directory,
    `settle` as they were read with); run names are taken relative to `root`. Lets a study
    re-rank any subset of a comparison's seeds without reading its requests again
    (bench/seed_count.py)."""
    if not runs:
        raise HarnessError("a comparison needs at least one run")
    directory = Path(root)
    first = runs[0].summary
    names = list(first.strategies)
    for run in runs[1:]:
        _check_consistent(runs[0], run)
    chosen = baseline if baseline is not None else names[0]
    if chosen not in names:
        raise HarnessError(f"baseline {chosen!r} is not a strategy of this comparison "
                           f"(strategies: {', '.join(names)})")  # fmt: skip
    headline = (
        "availability_during_fault"
        if any(w is not None for run in runs for w in run.windows)
        else "availability"
    )
    rows, verdict = _rows(runs, names, chosen, headline)
    slos = dict(slos or {})
    return Comparison(
        scenario=first.scenario,
        home_region=first.home_region,
        capacity_rps=dict(first.capacity_rps),
        bucket=runs[0].timeseries.bucket,
        settle_s=settle,
        recovery_window_s=recovery_window_buckets(runs[0].timeseries.bucket)
        * runs[0].timeseries.bucket,
        baseline=chosen,
        runs=tuple(_run_info(run, directory) for run in runs),
        rows=rows,
        verdict=verdict,
        faults=_fault_rows(runs, [row.strategy for row in rows]),
        slos=slos,
        violations=tuple(evaluate_slos(slos, rows)),
        root=directory,
        fleets=fleet_rows([run.summary for run in runs], names),
    )


def _check_consistent(reference: RunMetrics, run: RunMetrics) -> None:
    ref, other = reference.summary, run.summary
    where = run.summary.path / SUMMARY
    if other.scenario != ref.scenario:
        raise RunFileError(where, f"scenario {other.scenario!r} differs from {ref.scenario!r}")
    if list(other.strategies) != list(ref.strategies):
        raise RunFileError(where, f"strategies differ from those of {ref.path.name}")
    if len(other.faults) != len(ref.faults):
        raise RunFileError(
            where, f"{len(other.faults)} faults, {ref.path.name} has {len(ref.faults)}"
        )
    if run.timeseries.bucket != reference.timeseries.bucket:
        raise RunFileError(where.with_name("timeseries.json"), "bucket differs between repeats")


def _run_info(run: RunMetrics, root: Path) -> RunInfo:
    s = run.summary
    return RunInfo(
        name=Path(os.path.relpath(s.path, root)).as_posix(),
        seed=s.seed,
        clock=s.clock,
        elapsed=s.elapsed,
        wall_seconds=s.wall_seconds,
        saturated=s.saturated or any(m.saturated for m in run.strategies.values()),
        saturation_reasons=s.saturation_reasons,
        aborted=s.aborted,
        abort_reason=s.abort_reason,
    )


def _stat(per_run: Sequence[StrategyRunMetrics], key: str) -> Stat:
    info = METRIC_BY_KEY[key]
    if info.proportion:
        return summarize_proportion([r.counts[key] for r in per_run])
    return summarize([_value(r, key) for r in per_run], upper=info.upper)


def _rows(
    runs: Sequence[RunMetrics], names: Sequence[str], baseline: str, headline: str
) -> tuple[tuple[StrategyRow, ...], Verdict]:
    per_strategy = {name: [run.strategies[name] for run in runs] for name in names}
    metrics = {
        name: {m.key: _stat(per_run, m.key) for m in METRICS}
        for name, per_run in per_strategy.items()
    }
    order = sorted(names, key=lambda n: (order_key(metrics[n], headline), names.index(n)))
    verdict = _verdict(order, baseline, headline, {n: metrics[n][headline] for n in names})
    measured = {n for n in names if metrics[n][headline].mean is not None}
    # an unmeasured strategy (no request in the window) is never tied with a measured one
    ranks = tie_ranks(
        order,
        [t.significant or (t.a in measured) != (t.b in measured) for t in verdict.neighbours],
    )
    base = metrics[baseline]
    rows = []
    for name in order:
        per_run = per_strategy[name]
        regions = list(runs[0].summary.capacity_rps)
        rows.append(
            StrategyRow(
                strategy=name,
                description=runs[0].summary.strategies[name].description,
                rank=ranks[name][0],
                tied=ranks[name][1],
                metrics=metrics[name],
                ratios={k: _ratio(k, s.mean, base[k].mean) for k, s in metrics[name].items()},
                peak_load_by_region={
                    region: summarize([r.peak_load_by_region.get(region) for r in per_run])
                    for region in regions
                },
                outcomes=_sum_counts(r.outcomes for r in per_run),
                saturated=any(r.saturated for r in per_run),
                deadline=runs[0].summary.strategies[name].deadline,
            )
        )
    return tuple(rows), verdict


def _verdict(
    order: Sequence[str], baseline: str, headline: str, stats: Mapping[str, Stat]
) -> Verdict:
    """Paired tests between neighbours in the order (they decide the ties) and against the
    baseline; with one seed, only the counting resolution separates neighbours."""
    neighbours = list(itertools.pairwise(order))
    others = [(name, baseline) for name in order if name != baseline]
    seeds = max((s.n for s in stats.values()), default=0)
    if seeds >= 2:
        values = {name: s.values for name, s in stats.items()}
        return Verdict(
            headline, TEST_PAIRED_T, ALPHA, True,
            paired_tests(neighbours, values), paired_tests(others, values),
        )  # fmt: skip
    return Verdict(
        headline, TEST_RESOLUTION, ALPHA, False,
        resolution_tests(neighbours, stats), resolution_tests(others, stats),
    )  # fmt: skip


def _ratio(key: str, value: float | None, base: float | None) -> float | None:
    if METRIC_BY_KEY[key].ratio_of_failures:
        if value is None or base is None:
            return None
        failures, base_failures = 1 - value, 1 - base
        if base_failures <= 0:  # the baseline never failed: equal, or infinitely worse
            return 1.0 if failures <= 0 else math.inf
        return failures / base_failures
    return ratio(value, base)


def _value(metrics: StrategyRunMetrics, key: str) -> float | None:
    value = getattr(metrics, key)
    return None if value is None else float(value)


def _sum_counts(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for mapping in counts:
        for key, n in mapping.items():
            total[key] = total.get(key, 0) + n
    return total


def _fault_rows(runs: Sequence[RunMetrics], names: Sequence[str]) -> tuple[FaultWindowRow, ...]:
    rows = []
    for index, record in enumerate(runs[0].summary.faults):
        windows = [run.windows[index] for run in runs]
        applied = [w for w in windows if w is not None]
        if not applied:
            continue  # never applied in any repeat: nothing to measure
        per_strategy = {}
        for name in names:
            measured = [run.strategies[name].faults[index] for run in runs]
            per_strategy[name] = FaultStrategyStats(
                requests=sum(f.requests for f in measured if f is not None),
                ok=sum(f.ok for f in measured if f is not None),
                availability=summarize_proportion(
                    [(f.ok, f.requests) if f else None for f in measured]
                ),
                time_to_first_success_s=summarize(
                    [f.time_to_first_success_s if f else None for f in measured]
                ),
                recovery_s=summarize([f.recovery_s if f else None for f in measured]),
            )
        rows.append(
            FaultWindowRow(
                index=index,
                fault=record.fault,
                target=record.target,
                start=summarize([w.start if w else None for w in windows]),
                end=summarize([w.end if w else None for w in windows]),
                reverted=all(w.reverted for w in applied),
                strategies=per_strategy,
            )
        )
    return tuple(rows)
