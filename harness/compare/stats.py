"""Across repeats: mean and 95 % confidence interval, baseline ratios, and the rank.

CI: mean ± t(0.975, n-1) · s / √n with s the sample standard deviation (Student's t; the table
below for df 1..30, 1.96 beyond). One repeat has no CI.
Baseline ratio: a strategy's mean ÷ the baseline strategy's mean, as in Polly's benchmark tables
(for availabilities, of the failure ratios 1 - a: see MetricInfo.ratio_of_failures).
Rank (1 = best), comparing in this order until one differs:
  1. availability during faults (overall availability without a fault window), higher first
  2. overall availability, higher first
  3. p99 latency, lower first
Availabilities are compared rounded to 3 decimals (0.1 percentage point), so noise-level
differences defer to the next key. Equal keys share a rank ("1, 2, 2, 4").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Two-sided 95 % quantiles of Student's t distribution, t(0.975, df).
_T975 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip
_NORMAL975 = 1.96
RANK_DECIMALS = 3


def t_quantile(df: int) -> float:
    """t(0.975, df): the multiplier of the standard error for a two-sided 95 % interval."""
    if df < 1:
        raise ValueError("a confidence interval needs at least 2 samples")
    return _T975[df - 1] if df <= len(_T975) else _NORMAL975


@dataclass(frozen=True, slots=True)
class Stat:
    """One metric across repeats. values[i] is repeat i's value (None: not measured there)."""

    mean: float | None
    ci95: float | None  # half-width; None with fewer than 2 measured repeats
    n: int  # measured repeats
    values: tuple[float | None, ...]
    never: bool = False  # some repeat never got there (a time metric that was infinite)

    @property
    def low(self) -> float | None:
        return None if self.mean is None or self.ci95 is None else self.mean - self.ci95

    @property
    def high(self) -> float | None:
        return None if self.mean is None or self.ci95 is None else self.mean + self.ci95


def summarize(values: Sequence[float | None]) -> Stat:
    """Mean and 95 % CI of the measured values; math.inf ("never") makes the whole Stat never."""
    never = any(v is not None and math.isinf(v) for v in values)
    stored = tuple(None if v is None or math.isinf(v) else float(v) for v in values)
    measured = [v for v in stored if v is not None]
    if never or not measured:
        return Stat(None, None, len(measured), stored, never)
    n = len(measured)
    mean = math.fsum(measured) / n
    if n < 2:
        return Stat(mean, None, n, stored)
    variance = math.fsum((v - mean) ** 2 for v in measured) / (n - 1)
    return Stat(mean, t_quantile(n - 1) * math.sqrt(variance / n), n, stored)


def ratio(value: float | None, base: float | None) -> float | None:
    """value ÷ base, or None when either is unknown or the base is 0."""
    if value is None or base is None or base == 0:
        return None
    return value / base


def rank_key(metrics: Mapping[str, Stat]) -> tuple[float, float, float]:
    """Sort key (ascending = better) for the rank order documented above."""
    overall = metrics["availability"].mean
    during = metrics["availability_during_fault"].mean
    headline = during if during is not None else overall
    p99 = metrics["p99_ms"].mean
    return (
        -round(headline, RANK_DECIMALS) if headline is not None else 1.0,
        -round(overall, RANK_DECIMALS) if overall is not None else 1.0,
        p99 if p99 is not None else math.inf,
    )


def competition_ranks(keys: Mapping[str, tuple[float, float, float]]) -> dict[str, int]:
    """Rank by key (lower is better); equal keys share a rank and the next rank skips."""
    ordered = sorted(keys, key=lambda name: keys[name])
    ranks: dict[str, int] = {}
    for position, name in enumerate(ordered, start=1):
        previous = ordered[position - 2] if position > 1 else None
        same = previous is not None and keys[previous] == keys[name]
        ranks[name] = ranks[previous] if same and previous is not None else position
    return ranks
