"""Per strategy, per run: the numbers of the scoreboard, computed from the run directory's files.

Request-derived metrics come from one streaming pass over requests.jsonl.gz (memory does not grow
with the run: latencies go into an HdrHistogram, 3 significant digits). Latency is measured from
the INTENDED start (no coordinated omission), twice: over every request, failed ones included
(a request that fails after its 3 s deadline cost its caller 3 s), and over successful requests
only (a request that failed in 0.1 ms must not make a strategy look fast). Peak regional load
comes from timeseries.json; stale reads, lost writes and cross-region share from summary.json.
`math.inf` in a time metric means "never" (no success / never recovered before the run ended).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram

from harness.compare.rundir import (
    RunFileError,
    RunSummary,
    Timeseries,
    iter_requests,
    load_summary,
    load_timeseries,
)
from harness.compare.windows import (
    DEFAULT_SETTLE,
    RECOVERY_TOLERANCE,
    FaultWindow,
    after_recovery_start,
    fault_windows,
    recovery_time,
    recovery_window_buckets,
)

_HIGHEST_US = 24 * 3600 * 1_000_000


@dataclass(frozen=True, slots=True)
class FaultMetrics:
    """One strategy during one fault window."""

    requests: int
    ok: int
    availability: float | None
    time_to_first_success_s: float  # first success completed after applied_at, minus applied_at
    recovery_s: float | None  # None: the fault was never reverted
    pre_fault_availability: float


@dataclass(frozen=True, slots=True)
class StrategyRunMetrics:
    requests: int
    ok: int
    availability: float | None
    availability_during_fault: float | None  # over the union of the fault windows
    availability_after_recovery: float | None
    goodput_rps: float
    p50_ms: float | None
    p99_ms: float | None
    p999_ms: float | None
    max_ms: float | None
    p50_ok_ms: float | None  # successful requests only; None without a success
    p99_ok_ms: float | None
    p999_ok_ms: float | None
    attempts_per_request: float | None
    peak_load: float | None  # max over regions of peak_load_by_region
    peak_load_by_region: Mapping[str, float | None]
    time_to_first_success_s: float | None  # worst over the applied faults
    recovery_s: float | None  # worst over the reverted faults
    cross_region_share: float
    stale_reads: int
    lost_writes: int
    send_lag_p99_ms: float | None
    saturated: bool
    faults: tuple[FaultMetrics | None, ...]  # one per summary fault; None: never applied
    outcomes: Mapping[str, int]
    counts: Mapping[str, tuple[int, int]]  # availability metric key -> (ok, requests)


@dataclass(frozen=True, slots=True)
class RunMetrics:
    summary: RunSummary
    timeseries: Timeseries
    windows: tuple[FaultWindow | None, ...]
    after_recovery_from: float | None
    strategies: Mapping[str, StrategyRunMetrics]


class _Accumulator:
    """Everything one streaming pass needs for one strategy."""

    def __init__(self, windows: Sequence[FaultWindow], after_from: float | None, buckets: int):
        self.windows, self.after_from = windows, after_from
        self.total = self.ok = self.attempts = 0
        self.hist = HdrHistogram(1, _HIGHEST_US, 3)
        self.hist_ok = HdrHistogram(1, _HIGHEST_US, 3)
        self.max_latency = 0.0
        self.win_total, self.win_ok = [0] * len(windows), [0] * len(windows)
        self.pre_total, self.pre_ok = [0] * len(windows), [0] * len(windows)
        self.first_ok_end = [math.inf] * len(windows)
        self.union_total = self.union_ok = self.after_total = self.after_ok = 0
        self.bucket_total, self.bucket_ok = [0] * buckets, [0] * buckets

    def add(self, intended: float, end: float, ok: bool, attempts: int, bucket: float) -> None:
        self.total += 1
        self.ok += ok
        self.attempts += attempts
        latency = max(0.0, end - intended)
        self.max_latency = max(self.max_latency, latency)
        self.hist.record_value(min(_HIGHEST_US, round(latency * 1e6)))
        if ok:
            self.hist_ok.record_value(min(_HIGHEST_US, round(latency * 1e6)))
        index = max(0, int(intended // bucket))
        if index >= len(self.bucket_total):  # a request past `elapsed`: grow, never drop it
            grow = index + 1 - len(self.bucket_total)
            self.bucket_total += [0] * grow
            self.bucket_ok += [0] * grow
        self.bucket_total[index] += 1
        self.bucket_ok[index] += ok
        in_any = False
        for k, w in enumerate(self.windows):
            if w.start <= intended < w.end:
                in_any = True
                self.win_total[k] += 1
                self.win_ok[k] += ok
            elif w.pre_start <= intended < w.start:
                self.pre_total[k] += 1
                self.pre_ok[k] += ok
            if ok and intended >= w.start and end < self.first_ok_end[k]:
                self.first_ok_end[k] = end
        if in_any:
            self.union_total += 1
            self.union_ok += ok
        if self.after_from is not None and intended >= self.after_from:
            self.after_total += 1
            self.after_ok += ok


def compute_run_metrics(run_dir: Path, *, settle: float = DEFAULT_SETTLE) -> RunMetrics:
    summary = load_summary(run_dir)
    series = load_timeseries(run_dir)
    windows = fault_windows(summary.faults, summary.horizon)
    applied = [w for w in windows if w is not None]
    after_from = after_recovery_start(windows, summary.horizon, settle)
    buckets = max(1, math.ceil(summary.horizon / series.bucket - 1e-9))
    accs = {name: _Accumulator(applied, after_from, buckets) for name in summary.strategies}
    for line_no, r in enumerate(iter_requests(run_dir), start=1):
        acc = accs.get(r.strategy)
        if acc is None:
            raise RunFileError(
                run_dir / "requests.jsonl.gz",
                f"line {line_no}: strategy {r.strategy!r} is not in summary.json",
            )
        acc.add(r.intended, r.end, r.ok, r.attempts, series.bucket)
    strategies = {name: _finish(acc, summary, series, windows, name) for name, acc in accs.items()}
    return RunMetrics(summary, series, windows, after_from, strategies)


def _ratio(ok: int, total: int) -> float | None:
    return ok / total if total else None


def _finish(
    acc: _Accumulator,
    summary: RunSummary,
    series: Timeseries,
    windows: Sequence[FaultWindow | None],
    name: str,
) -> StrategyRunMetrics:
    faults: list[FaultMetrics | None] = []
    k = 0
    for window in windows:
        if window is None:
            faults.append(None)
            continue
        pre = _ratio(acc.pre_ok[k], acc.pre_total[k])
        pre_level = 1.0 if pre is None else pre  # nothing before the fault: expect perfection
        recovery = (
            recovery_time(
                acc.bucket_total, acc.bucket_ok, series.bucket, window.end,
                pre_level - RECOVERY_TOLERANCE, recovery_window_buckets(series.bucket),
            )
            if window.reverted
            else None
        )  # fmt: skip
        faults.append(
            FaultMetrics(
                requests=acc.win_total[k],
                ok=acc.win_ok[k],
                availability=_ratio(acc.win_ok[k], acc.win_total[k]),
                time_to_first_success_s=acc.first_ok_end[k] - window.start,
                recovery_s=recovery,
                pre_fault_availability=pre_level,
            )
        )
        k += 1
    measured = [f for f in faults if f is not None]
    recoveries = [f.recovery_s for f in measured if f.recovery_s is not None]
    peak = _peak_load(series, summary, name)
    known_peaks = [v for v in peak.values() if v is not None]
    info = summary.strategies[name]
    percentiles = acc.hist.get_percentile_to_value_dict([50.0, 99.0, 99.9]) if acc.total else {}
    ok_pct = acc.hist_ok.get_percentile_to_value_dict([50.0, 99.0, 99.9]) if acc.ok else {}
    return StrategyRunMetrics(
        requests=acc.total,
        ok=acc.ok,
        availability=_ratio(acc.ok, acc.total),
        availability_during_fault=_ratio(acc.union_ok, acc.union_total),
        availability_after_recovery=_ratio(acc.after_ok, acc.after_total),
        goodput_rps=acc.ok / summary.horizon,
        p50_ms=percentiles[50.0] / 1000 if acc.total else None,
        p99_ms=percentiles[99.0] / 1000 if acc.total else None,
        p999_ms=percentiles[99.9] / 1000 if acc.total else None,
        max_ms=acc.max_latency * 1000 if acc.total else None,
        p50_ok_ms=ok_pct[50.0] / 1000 if acc.ok else None,
        p99_ok_ms=ok_pct[99.0] / 1000 if acc.ok else None,
        p999_ok_ms=ok_pct[99.9] / 1000 if acc.ok else None,
        attempts_per_request=_ratio(acc.attempts, acc.total),
        peak_load=max(known_peaks, default=None),
        peak_load_by_region=peak,
        time_to_first_success_s=max((f.time_to_first_success_s for f in measured), default=None),
        recovery_s=max(recoveries, default=None),
        cross_region_share=info.cross_region_share,
        stale_reads=info.stale_reads,
        lost_writes=info.lost_writes,
        send_lag_p99_ms=info.send_lag_p99_ms,
        saturated=info.saturated or summary.saturated,
        faults=tuple(faults),
        outcomes=dict(info.outcomes),
        counts={
            "availability": (acc.ok, acc.total),
            "availability_during_fault": (acc.union_ok, acc.union_total),
            "availability_after_recovery": (acc.after_ok, acc.after_total),
        },
    )


def _peak_load(series: Timeseries, summary: RunSummary, name: str) -> dict[str, float | None]:
    """Per region: max over buckets of attempts/s sent there ÷ the region's capacity_rps."""
    strategy = series.strategies.get(name)
    out: dict[str, float | None] = {}
    for region, capacity in summary.capacity_rps.items():
        counts = strategy.region_attempts.get(region, ()) if strategy else ()
        peak = max(counts, default=0) / series.bucket
        out[region] = peak / capacity if capacity else None
    return out
