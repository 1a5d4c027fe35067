"""Shared text formatting of the scoreboard: which columns, how a value across repeats reads."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from harness.compare.model import (
    FAULT_METRICS,
    METRIC_BY_KEY,
    Comparison,
    FaultWindowRow,
    MetricInfo,
    RunInfo,
    StrategyRow,
)
from harness.compare.slo import violated_metrics
from harness.compare.stats import TEST_PAIRED_T, Stat

MISSING = "—"
NEVER = "never"
_FAULT_ONLY = {
    "availability_during_fault",
    "availability_after_recovery",
    "time_to_first_success_s",
    "recovery_s",
}


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # a metric key, or "ratio:<metric key>" for its baseline ratio
    header: str


def header(info: MetricInfo) -> str:
    return f"{info.label} {info.unit}".strip()


_COMPACT = {
    "availability", "availability_during_fault", "availability_after_recovery", "p99_ok_ms",
    "attempts_per_request", "peak_load", "time_to_first_success_s", "recovery_s",
}  # fmt: skip
# in the HTML, CSV and JSON
_NOT_IN_MARKDOWN = {"goodput_rps", "p50_ms", "p999_ms", "p50_ok_ms", "p999_ok_ms"}
_ONLY_IF_NONZERO = {"cross_region_share", "stale_reads", "lost_writes"}


def columns(
    c: Comparison, *, detail: Literal["full", "markdown", "compact"] = "full"
) -> list[Column]:
    """Scoreboard columns after rank and strategy. Fault columns only when a fault was applied;
    cross-region share, stale reads and lost writes only when some strategy has any. The headline
    availability and p99 each get a baseline-ratio column next to them."""
    keys = [k for k in METRIC_BY_KEY if c.faults or k not in _FAULT_ONLY]
    keys = [k for k in keys if k not in _ONLY_IF_NONZERO or _any_nonzero(c, k)]
    if detail == "compact":
        keys = [k for k in keys if k in _COMPACT]
    elif detail == "markdown":
        keys = [k for k in keys if k not in _NOT_IN_MARKDOWN]
    out: list[Column] = []
    for key in keys:
        out.append(Column(key, header(METRIC_BY_KEY[key])))
        if key == c.headline_metric:
            out.append(Column(f"ratio:{key}", "fail vs base"))
        elif key == "p99_ok_ms":
            out.append(Column(f"ratio:{key}", "vs base"))
    return out


def _any_nonzero(c: Comparison, key: str) -> bool:
    return any(row.metrics[key].mean or row.metrics[key].never for row in c.rows)


def decimals(stat: Stat, info: MetricInfo) -> int:
    """Digits worth printing: down to the first significant digit of the interval's half-width
    (its second when that digit is 1), never more than the metric's own precision."""
    if stat.low is None or stat.high is None or stat.high <= stat.low:
        return info.decimals
    half = (stat.high - stat.low) / 2
    digits = -math.floor(math.log10(half))
    if f"{half:e}".startswith("1"):  # the leading significant digit
        digits += 1
    return max(0, min(info.decimals, digits))


def stat_text(stat: Stat, info: MetricInfo, *, ci: bool = True) -> str:
    """`0.83 [0.79–0.87]`: the estimate and its 95 % interval (asymmetric where the domain ends)."""
    if stat.never:
        return NEVER
    if stat.mean is None:
        return MISSING
    d = decimals(stat, info)
    text = f"{stat.mean:.{d}f}"
    if ci and stat.low is not None and stat.high is not None:
        low, high = f"{stat.low:.{d}f}", f"{stat.high:.{d}f}"
        if (low, high) != (text, text):  # every seed agreed: no interval to show
            text += f" [{low}–{high}]"
    return text


def rank_text(row: StrategyRow) -> str:
    """`=7` when the statistics cannot tell this strategy from a neighbour."""
    return f"={row.rank}" if row.tied else str(row.rank)


def ratio_text(value: float | None, *, is_baseline: bool) -> str:
    if is_baseline:
        return "base"
    return MISSING if value is None else f"{value:.2f}"


def cell(c: Comparison, strategy: str, column: Column, *, ci: bool = True) -> str:
    row = c.row(strategy)
    if column.key.startswith("ratio:"):
        key = column.key.removeprefix("ratio:")
        return ratio_text(row.ratios.get(key), is_baseline=strategy == c.baseline)
    return stat_text(row.metrics[column.key], METRIC_BY_KEY[column.key], ci=ci)


def bad_cells(c: Comparison) -> set[tuple[str, str]]:
    """(strategy, metric key) pairs that violate an SLO: reports highlight them."""
    return violated_metrics(c.violations)


def seconds(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1f} s"


def run_status(run: RunInfo) -> str:
    parts = []
    if run.aborted:
        parts.append(f"aborted: {run.abort_reason or 'unknown reason'}")
    if run.saturated:
        reasons = "; ".join(run.saturation_reasons) or "the load generator fell behind"
        parts.append(f"saturated ({reasons}): numbers suspect")
    return ", ".join(parts) or "ok"


def repeats_text(c: Comparison) -> str:
    if c.repeats > 1:
        return f"{c.repeats} seeds, estimate [95 % interval]"
    return "1 run, estimate [95 % Wilson interval on request counts]"


def verdict_text(c: Comparison) -> str:
    """How the ranks were decided, in one sentence."""
    v = c.verdict
    label = METRIC_BY_KEY[v.metric].label
    if v.test == TEST_PAIRED_T:
        return (
            f"Ranked on {label}: neighbours share a rank (=N) unless a paired t test on their "
            f"per-seed differences, Holm-corrected, gives p < {v.level:g}."
        )
    return (
        f"One seed: the ranking is NOT tested (run --repeat N for a verdict); neighbours on "
        f"{label} share a rank (=N) unless their Wilson intervals are disjoint."
    )


def summary_line(c: Comparison) -> str:
    baseline = f"baseline `{c.baseline}`"
    homes = f"home region{'s' if ', ' in c.home_region else ''} {c.home_region}"
    return f"Scenario `{c.scenario}` — {repeats_text(c)}; {baseline}; {homes}."


def deadline_line(c: Comparison) -> str:
    """The caller's deadline in force per strategy in one sentence ("": runs that predate it)."""
    by_deadline: dict[str, list[str]] = {}
    for row in c.rows:
        if row.deadline:
            by_deadline.setdefault(row.deadline, []).append(row.strategy)
    if not by_deadline:
        return ""
    common = max(by_deadline, key=lambda d: len(by_deadline[d]))
    others = [
        f"{d} for {', '.join(f'`{n}`' for n in names)}"
        for d, names in by_deadline.items()
        if d != common
    ]
    rest = "; " + "; ".join(others) if others else " for every strategy"
    return f"Caller deadline per request (retries included): {common}{rest}."


def slo_status(c: Comparison) -> str | None:
    """The SLO gates in one sentence, or None when some were violated (reports list them)."""
    if not c.slos:
        return "SLO gates: none defined."
    if not c.violations:
        return f"SLO gates: all passed ({len(c.slos)} strategies checked)."
    return None


def fault_span(fault: FaultWindowRow) -> str:
    start, end = fault.start.mean, fault.end.mean
    return f"{start:.1f} s → {end:.1f} s" if start is not None and end is not None else MISSING


FAULT_HEAD = ("strategy", "requests", "avail", "first success s", "recovery s")


def fault_rows(c: Comparison, fault: FaultWindowRow) -> list[list[str]]:
    """One row per strategy measured in the fault window, in scoreboard order (FAULT_HEAD)."""
    rows = []
    for row in c.rows:
        s = fault.strategies.get(row.strategy)
        if s is None:
            continue
        stats = (s.availability, s.time_to_first_success_s, s.recovery_s)
        texts = [stat_text(st, info) for st, info in zip(stats, FAULT_METRICS, strict=True)]
        rows.append([row.strategy, str(s.requests), *texts])
    return rows


def ratio_legend(c: Comparison) -> list[str]:
    base = c.baseline
    return [
        f"fail vs base: this strategy's failures (1 - availability) ÷ the baseline's (`{base}`); "
        "0.10 = ten times fewer failed requests",
        "vs base: p99 of successes ÷ the baseline's (Polly's benchmark 'Ratio'); ratios of every "
        "metric are in comparison.csv",
    ]


RANK_TEXT = (
    "Rank: availability during faults (overall if no fault); strategies the statistics cannot "
    "tell apart share a rank (=N) and are listed by overall availability, then p99 of successes. "
    "See docs/statistics.md."
)


VERDICT_HEAD = ("pair", "seeds", "difference [95 %]", "p", "p (Holm)", "p sign-flip", "ranks")


def _p(value: float | None) -> str:
    if value is None:
        return MISSING
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _difference(low: float | None, high: float | None, mean: float | None) -> str:
    if mean is None:
        return MISSING
    text = f"{mean:+.4f}"
    if low is not None and high is not None:
        text += f" [{low:+.4f}, {high:+.4f}]"
    return text


def verdict_rows(c: Comparison) -> list[list[str]]:
    """The test behind each boundary or tie between neighbours in the ranking (VERDICT_HEAD)."""
    rows = []
    for t in c.verdict.neighbours:
        decision = "apart" if t.significant else "tied"
        rows.append(
            [
                f"{t.a} vs {t.b}", str(t.n), _difference(t.low, t.high, t.mean_diff), _p(t.p),
                _p(t.p_adjusted), _p(t.p_sign_flip), decision,
            ]
        )  # fmt: skip
    return rows
