"""The comparison: a ranked scoreboard of strategies across repeats, per-fault-window results and
SLO verdicts. Plain frozen data; computed by build.py, written by harness/report/."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.compare.fleet import FleetRow
from harness.compare.stats import PairedTest, Stat
from harness.scenario.model import SloSpec

Better = Literal["higher", "lower", "neither"]


@dataclass(frozen=True, slots=True)
class MetricInfo:
    key: str  # attribute of StrategyRunMetrics, key in comparison.json / .csv
    label: str  # short column header
    unit: str  # "" for ratios and counts
    better: Better
    decimals: int
    legend: str

    @property
    def ratio_of_failures(self) -> bool:
        """Availabilities are compared by their failures, (1 - a) / (1 - a_base): a ratio of
        successes says little when the baseline fails everything (0) or nearly nothing."""
        return self.key.startswith("availability")

    @property
    def proportion(self) -> bool:
        """A share of requests: its interval is Wilson on request counts (stats.py)."""
        return self.key.startswith("availability")

    @property
    def upper(self) -> float | None:
        """The top of the metric's domain (every metric is ≥ 0)."""
        return 1.0 if self.key == "cross_region_share" else None


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("availability", "avail", "", "higher", 4, "share of all requests that succeeded"),
    MetricInfo(
        "availability_during_fault", "avail fault", "", "higher", 4,
        "success ratio of requests intended while a fault was on (union of the fault windows)",
    ),
    MetricInfo(
        "availability_after_recovery", "avail after", "", "higher", 4,
        "success ratio from the end of the last fault + the settling margin to the end of the run",
    ),
    MetricInfo("goodput_rps", "goodput", "/s", "higher", 1, "successful requests per second"),
    MetricInfo(
        "p50_ok_ms", "p50 ok", "ms", "lower", 1,
        "median latency of successful requests, from the intended start",
    ),
    MetricInfo(
        "p99_ok_ms", "p99 ok", "ms", "lower", 1,
        "99th percentile latency of successful requests (a fast failure cannot improve it)",
    ),
    MetricInfo(
        "p999_ok_ms", "p99.9 ok", "ms", "lower", 1,
        "99.9th percentile latency of successful requests",
    ),
    MetricInfo(
        "p50_ms", "p50 all", "ms", "lower", 1,
        "median latency from the intended start over ALL requests, failed ones included "
        "(what the caller waited)",
    ),
    MetricInfo(
        "p99_ms", "p99 all", "ms", "lower", 1,
        "99th percentile latency over all requests, failed ones included",
    ),
    MetricInfo(
        "p999_ms", "p99.9 all", "ms", "lower", 1,
        "99.9th percentile latency over all requests, failed ones included",
    ),
    MetricInfo(
        "attempts_per_request", "att/req", "", "lower", 2,
        "attempts on the wire per request (retries and hedges included): work amplification",
    ),
    MetricInfo(
        "peak_load", "peak/cap", "", "lower", 2,
        "highest attempts/s one region received in a bucket ÷ its capacity (> 1: overloaded)",
    ),
    MetricInfo(
        "time_to_first_success_s", "1st ok", "s", "lower", 2,
        "worst fault: time from applied_at to the first success of a request intended after it",
    ),
    MetricInfo(
        "recovery_s", "recovery", "s", "lower", 1,
        "worst fault: time from reverted_at until the success ratio over a sliding window "
        "(5 buckets, ≥ 2 s) is back within 1 point of its pre-fault level "
        "('never': not by the end of the run)",
    ),
    MetricInfo(
        "cross_region_share", "x-region", "", "neither", 3,
        "share of successes served by a region other than the home region",
    ),
    MetricInfo("stale_reads", "stale", "", "lower", 0, "reads that returned an out-of-date item"),
    MetricInfo("lost_writes", "lost", "", "lower", 0, "acknowledged writes later missing"),
)  # fmt: skip
METRIC_BY_KEY: Mapping[str, MetricInfo] = {m.key: m for m in METRICS}

FAULT_METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("availability", "avail", "", "higher", 4, "success ratio of requests in the window"),
    MetricInfo("time_to_first_success_s", "1st ok", "s", "lower", 2, "detection + failover"),
    MetricInfo("recovery_s", "recovery", "s", "lower", 1, "back to the pre-fault level"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Violation:
    strategy: str
    metric: str  # an SloSpec field name
    actual: float | None  # None: not measured
    limit: float
    message: str  # one line, e.g. "breaker-failover: availability_during_fault 0.942 < 0.99"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class RunInfo:
    name: str  # directory relative to the comparison directory ("." for a single run)
    seed: int
    clock: str
    elapsed: float
    wall_seconds: float
    saturated: bool
    saturation_reasons: tuple[str, ...]
    aborted: bool
    abort_reason: str | None


@dataclass(frozen=True, slots=True)
class StrategyRow:
    strategy: str
    description: str
    rank: int  # 1 = best; strategies the statistics cannot tell apart share a rank
    tied: bool  # shares its rank with another strategy ("=7")
    metrics: Mapping[str, Stat]  # every key of METRICS
    ratios: Mapping[str, float | None]  # metric mean ÷ the baseline's mean
    peak_load_by_region: Mapping[str, Stat]
    outcomes: Mapping[str, int]  # summed over repeats
    saturated: bool  # in any repeat: the generator fell behind, numbers are suspect
    deadline: str = ""  # the caller's deadline in force: "10 s", "none"; "" unknown (old run)


@dataclass(frozen=True, slots=True)
class FaultStrategyStats:
    requests: int  # summed over repeats
    ok: int  # summed over repeats
    availability: Stat
    time_to_first_success_s: Stat
    recovery_s: Stat


@dataclass(frozen=True, slots=True)
class FaultWindowRow:
    index: int
    fault: str
    target: str
    start: Stat  # applied_at across repeats
    end: Stat  # reverted_at (or the end of the run) across repeats
    reverted: bool
    strategies: Mapping[str, FaultStrategyStats]

    @property
    def label(self) -> str:
        return f"{self.fault} {self.target}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """How the ranks were decided (stats.py): which metric, which test, at which level, and the
    test behind every boundary or tie between neighbours in the ranking."""

    metric: str  # the metric ranked on (a METRICS key)
    test: str  # stats.TEST_PAIRED_T (several seeds) or stats.TEST_RESOLUTION (one seed)
    level: float  # the significance level (alpha)
    tested: bool  # False: one seed, the order is not a tested ranking
    neighbours: tuple[PairedTest, ...]  # rows[i] against rows[i + 1]
    vs_baseline: tuple[PairedTest, ...]  # every other strategy against the baseline


@dataclass(frozen=True, slots=True)
class Comparison:
    scenario: str
    home_region: str
    capacity_rps: Mapping[str, float | None]
    bucket: float
    settle_s: float
    recovery_window_s: float
    baseline: str
    runs: tuple[RunInfo, ...]
    rows: tuple[StrategyRow, ...]  # in rank order
    verdict: Verdict
    faults: tuple[FaultWindowRow, ...]
    slos: Mapping[str, SloSpec]
    violations: tuple[Violation, ...]
    root: Path  # the comparison directory the runs are under (not saved)
    fleets: Mapping[str, FleetRow] = field(default_factory=dict)  # by strategy; {}: no fleet data

    @property
    def repeats(self) -> int:
        return len(self.runs)

    @property
    def strategies(self) -> tuple[str, ...]:
        return tuple(row.strategy for row in self.rows)

    def row(self, strategy: str) -> StrategyRow:
        for row in self.rows:
            if row.strategy == strategy:
                return row
        raise KeyError(strategy)

    @property
    def headline_metric(self) -> str:
        """The availability the ranking leads with: during faults when any fault was applied."""
        return "availability_during_fault" if self.faults else "availability"
