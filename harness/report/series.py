"""Time series for the charts, read from each run's timeseries.json and pooled across repeats:
success ratio = Σ ok / Σ requests and attempts per request = Σ attempts / Σ requests per bucket;
p99 = the mean of the repeats' bucket p99s of SUCCESSFUL requests (NaN where a bucket had none: a
strategy that fails fast serves nothing there, it is not fast); region load = mean attempts/s ÷
capacity. Runs written before successes were binned apart fall back to the p99 of all requests
(`p99_successes` says which)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.compare.model import Comparison
from harness.compare.rundir import Timeseries, load_timeseries

NAN = math.nan
CHARTS = ("success", "p99", "attempts", "load")  # the charts every report draws
SINGLE_PANEL_MAX = 6  # strategies sharing one plot; beyond, one small panel per strategy


@dataclass(frozen=True, slots=True)
class Window:
    start: float
    end: float
    label: str


@dataclass(frozen=True, slots=True)
class ChartSeries:
    bucket: float
    times: tuple[float, ...]  # bucket midpoints, seconds from the start of the run
    strategies: tuple[str, ...]  # rank order
    ranks: Mapping[str, str]  # "3", or "=3" when tied
    success: Mapping[str, Sequence[float]]  # NaN where a bucket had no requests
    p99_ms: Mapping[str, Sequence[float]]
    p99_successes: bool  # p99_ms is of successful requests only (False: all, from older runs)
    attempts_per_request: Mapping[str, Sequence[float]]
    region_load: Mapping[str, Mapping[str, Sequence[float]]]  # strategy -> region -> load/capacity
    windows: tuple[Window, ...]
    seeds: tuple[int, ...]  # the repeats pooled into every series

    @property
    def seeds_text(self) -> str:
        """Which seeds a chart shows: every chart pools all repeats."""
        if len(self.seeds) == 1:
            return f"one run, seed {self.seeds[0]}"
        listed = (
            ", ".join(map(str, self.seeds))
            if len(self.seeds) <= 6
            else (f"{self.seeds[0]}…{self.seeds[-1]}")
        )
        return f"pooled over {len(self.seeds)} seeds ({listed}); fault windows: mean start/end"


def load_series(c: Comparison) -> ChartSeries:
    runs = [load_timeseries(c.root / run.name) for run in c.runs]
    length = max((len(s.requests) for ts in runs for s in ts.strategies.values()), default=0)
    bucket = runs[0].bucket
    names = c.strategies
    ok_only = all(s.latency_ok_p99_ms is not None for ts in runs for s in ts.strategies.values())
    success, p99, attempts, load = {}, {}, {}, {}
    for name in names:
        requests = _sum(runs, name, "requests", length)
        ok = _sum(runs, name, "ok", length)
        tries = _sum(runs, name, "attempts", length)
        success[name] = [o / r if r else NAN for o, r in zip(ok, requests, strict=True)]
        attempts[name] = [a / r if r else NAN for a, r in zip(tries, requests, strict=True)]
        p99[name] = _mean_p99(runs, name, length, ok_only)
        load[name] = {
            region: [
                n / len(runs) / bucket / capacity for n in _sum_region(runs, name, region, length)
            ]
            for region, capacity in c.capacity_rps.items()
            if capacity
        }
    windows = tuple(
        Window(f.start.mean, f.end.mean, f.label)
        for f in c.faults
        if f.start.mean is not None and f.end.mean is not None
    )
    times = tuple((i + 0.5) * bucket for i in range(length))
    ranks = {row.strategy: f"={row.rank}" if row.tied else str(row.rank) for row in c.rows}
    seeds = tuple(run.seed for run in c.runs)
    return ChartSeries(
        bucket, times, names, ranks, success, p99, ok_only, attempts, load, windows, seeds
    )


def _pad(values: Sequence[int], length: int) -> list[int]:
    return list(values) + [0] * (length - len(values))


def _sum(runs: Sequence[Timeseries], name: str, field: str, length: int) -> list[int]:
    total = [0] * length
    for ts in runs:
        s = ts.strategies.get(name)
        if s is not None:
            total = [a + b for a, b in zip(total, _pad(getattr(s, field), length), strict=True)]
    return total


def _sum_region(runs: Sequence[Timeseries], name: str, region: str, length: int) -> list[int]:
    total = [0] * length
    for ts in runs:
        s = ts.strategies.get(name)
        if s is not None:
            counts = _pad(s.region_attempts.get(region, ()), length)
            total = [a + b for a, b in zip(total, counts, strict=True)]
    return total


def _mean_p99(runs: Sequence[Timeseries], name: str, length: int, ok_only: bool) -> list[float]:
    out = []
    for i in range(length):
        values = []
        for ts in runs:
            s = ts.strategies.get(name)
            if s is None:
                continue
            p99 = (
                s.latency_ok_p99_ms
                if ok_only and s.latency_ok_p99_ms is not None
                else s.latency_p99_ms
            )
            if i < len(p99) and p99[i] is not None:
                values.append(p99[i])
        out.append(math.fsum(v for v in values if v is not None) / len(values) if values else NAN)
    return out
