"""Across repeats: estimates with intervals that respect their domain, paired tests between
strategies, and ranks that tie what the seeds cannot tell apart. docs/statistics.md says why.

Every strategy of a comparison runs on the same seeds (common random numbers), so two strategies
are compared by their per-seed DIFFERENCES, which cancels the seed's own luck (arrival times, the
phase of the connection recycling against the fault).

- A proportion (an availability) gets a Wilson score interval, which stays inside [0, 1] and
  behaves at 0 and 1. One run: Wilson on the run's request counts (only counting noise: requests
  of one run are not independent, so this is a lower bound on the real uncertainty). Several
  seeds: Wilson on the pooled count shrunk to an effective size n / deff, where the design effect
  deff = (variance of the per-seed proportions / k) ÷ the binomial variance (Korn & Graubard), with
  z = t(0.975, k - 1): the seed-to-seed spread, not the request count, sets the width. When the
  seeds scatter no more than counting noise predicts (deff ≤ 1), plain Wilson on the pooled count.
- Any other metric across seeds: mean ± t(0.975, k - 1)·s/√k intersected with the metric's domain
  (every metric here is ≥ 0). The intersection keeps the interval's coverage (the true mean lies
  in the domain), so "lost 19 [0–68]" rather than "19 ± 49" reaching below zero.
- Ranking: paired Student t test on the per-seed differences of the ranked metric between
  neighbours in the order, Holm-corrected over the neighbour pairs at level ALPHA. Neighbours whose
  difference is not significant share a rank ("=7"). The exact sign-flip permutation p-value is
  reported beside it as a check that assumes nothing about the shape of the differences (it cannot
  go below 2^(1-k): 6 seeds before it can reach 5 % at all).
- One seed: nothing to test. Neighbours share a rank unless their Wilson intervals are disjoint:
  no rank difference smaller than the run's counting resolution is shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ALPHA = 0.05
CONFIDENCE = 1 - ALPHA
# scipy.stats.norm.ppf(1 - ALPHA / 2) to the last bit (a test checks): numpy and scipy take ~0.2 s
# to import, so they are imported only inside the functions that compute with them.
Z95 = 1.959963984540054
EXACT_SIGN_FLIP_MAX = 12  # 2^12 sign patterns enumerated; beyond, a seeded Monte Carlo
SIGN_FLIP_DRAWS = 1 << 14

INTERVAL_WILSON = "wilson"  # one run: Wilson on the request counts
INTERVAL_WILSON_SEEDS = "wilson-deff"  # several seeds: Wilson on the effective size
INTERVAL_T = "t"  # several seeds: Student t on the mean, intersected with the domain

TEST_PAIRED_T = "paired-t-holm"
TEST_RESOLUTION = "wilson-overlap"


def t_quantile(df: int) -> float:
    """t(0.975, df): the multiplier of the standard error for a two-sided 95 % interval."""
    if df < 1:
        raise ValueError("a confidence interval needs at least 2 samples")
    from scipy import stats as scipy_stats

    return float(scipy_stats.t.ppf(1 - ALPHA / 2, df))


@dataclass(frozen=True, slots=True)
class Stat:
    """One metric across repeats. values[i] is repeat i's value (None: not measured there)."""

    mean: float | None
    low: float | None  # interval bounds (95 %); None without an interval
    high: float | None
    n: int  # measured repeats
    values: tuple[float | None, ...]
    never: bool = False  # some repeat never got there (a time metric that was infinite)
    interval: str = ""  # how low/high were computed: INTERVAL_* ("" none)

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None


def _clip(value: float, lower: float | None, upper: float | None) -> float:
    if lower is not None:
        value = max(lower, value)
    if upper is not None:
        value = min(upper, value)
    return value


def summarize(
    values: Sequence[float | None], *, lower: float | None = 0.0, upper: float | None = None
) -> Stat:
    """Mean and 95 % Student t interval of the measured values, intersected with [lower, upper];
    math.inf ("never") in any repeat makes the whole Stat never."""
    never = any(v is not None and math.isinf(v) for v in values)
    stored = tuple(None if v is None or math.isinf(v) else float(v) for v in values)
    measured = [v for v in stored if v is not None]
    if never or not measured:
        return Stat(None, None, None, len(measured), stored, never)
    n = len(measured)
    mean = math.fsum(measured) / n
    if n < 2:
        return Stat(mean, None, None, n, stored)
    variance = math.fsum((v - mean) ** 2 for v in measured) / (n - 1)
    half = t_quantile(n - 1) * math.sqrt(variance / n)
    low, high = _clip(mean - half, lower, upper), _clip(mean + half, lower, upper)
    return Stat(mean, low, high, n, stored, interval=INTERVAL_T)


def wilson(ok: float, total: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ok/total (total may be an effective, fractional size)."""
    if total <= 0:
        raise ValueError("a proportion needs at least one trial")
    p = ok / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)


def summarize_proportion(counts: Sequence[tuple[int, int] | None]) -> Stat:
    """A proportion across repeats from (ok, total) per repeat (None or total 0: not measured).
    The estimate is the mean of the per-repeat proportions (each seed weighs the same, as in the
    paired comparisons); the interval is Wilson (see the module docstring)."""
    stored = tuple(None if c is None or c[1] == 0 else c[0] / c[1] for c in counts)
    measured = [(ok, total) for ok, total in (c for c in counts if c is not None) if total]
    if not measured:
        return Stat(None, None, None, 0, stored)
    k = len(measured)
    proportions = [ok / total for ok, total in measured]
    mean = math.fsum(proportions) / k
    pooled = sum(total for _, total in measured)
    if k == 1:
        low, high = wilson(measured[0][0], measured[0][1])
        return Stat(mean, low, high, 1, stored, interval=INTERVAL_WILSON)
    between = math.fsum((p - mean) ** 2 for p in proportions) / (k - 1) / k
    binomial = mean * (1 - mean) / pooled
    deff = between / binomial if binomial > 0 else 0.0
    if deff <= 1:  # the seeds scatter no more than counting noise predicts: binomial width
        low, high = wilson(mean * pooled, pooled)
    else:  # the seeds set the width, and their variance is estimated on k - 1 df
        low, high = wilson(mean * pooled / deff, pooled / deff, t_quantile(k - 1))
    return Stat(mean, low, high, k, stored, interval=INTERVAL_WILSON_SEEDS)


def ratio(value: float | None, base: float | None) -> float | None:
    """value ÷ base, or None when either is unknown or the base is 0."""
    if value is None or base is None or base == 0:
        return None
    return value / base


@dataclass(frozen=True, slots=True)
class PairedTest:
    """`a` against `b` on one metric: the per-seed differences a - b."""

    a: str
    b: str
    n: int  # seeds where both were measured
    mean_diff: float | None
    low: float | None  # 95 % interval of the mean difference (paired t, within [-1, 1])
    high: float | None
    p: float | None  # two-sided; None when untested (fewer than 2 seeds)
    p_adjusted: float | None  # Holm within its family
    p_sign_flip: float | None  # exact sign-flip permutation p (a check; not adjusted)
    significant: bool


def paired_t(differences: Sequence[float]) -> tuple[float, float, float]:
    """(p, low, high) of a two-sided paired t test; the interval is of the mean difference."""
    n = len(differences)
    if n < 2:
        raise ValueError("a paired test needs at least 2 seeds")
    mean = math.fsum(differences) / n
    sd = math.sqrt(math.fsum((d - mean) ** 2 for d in differences) / (n - 1))
    if sd == 0:  # every seed differs by exactly the same amount
        return (1.0 if mean == 0 else 0.0), mean, mean
    se = sd / math.sqrt(n)
    from scipy import stats as scipy_stats

    p = float(2 * scipy_stats.t.sf(abs(mean) / se, n - 1))
    half = t_quantile(n - 1) * se
    return p, mean - half, mean + half


def sign_flip_p(differences: Sequence[float]) -> float:
    """Two-sided sign-flip permutation p-value of the mean difference: under "no difference" each
    seed's difference is as likely positive as negative. Exact up to EXACT_SIGN_FLIP_MAX seeds."""
    import numpy as np

    d = np.asarray(differences, dtype=float)
    n = len(d)
    observed = abs(float(d.sum())) - 1e-12 * max(1.0, float(np.abs(d).sum()))
    if n <= EXACT_SIGN_FLIP_MAX:
        patterns = np.arange(1 << n)[:, None] >> np.arange(n) & 1  # every sign pattern, as bits
        signs = 1.0 - 2.0 * patterns
        return float(np.mean(np.abs(signs @ d) >= observed))
    rng = np.random.default_rng(0)  # a fixed seed: the same comparison, the same p
    signs = rng.choice((1.0, -1.0), size=(SIGN_FLIP_DRAWS, n))
    return float((1 + np.sum(np.abs(signs @ d) >= observed)) / (1 + SIGN_FLIP_DRAWS))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (None stays None and is not counted in the family)."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted


def paired_tests(
    pairs: Sequence[tuple[str, str]], values: Mapping[str, Sequence[float | None]]
) -> tuple[PairedTest, ...]:
    """A family of paired t tests (per-seed differences), Holm-adjusted together."""
    raw: list[tuple[str, str, int, float | None, float | None, float | None, float | None,
                    float | None]] = []  # fmt: skip
    for a, b in pairs:
        diffs = [
            x - y
            for x, y in zip(values[a], values[b], strict=True)
            if x is not None and y is not None
        ]
        if len(diffs) < 2:
            mean = math.fsum(diffs) / len(diffs) if diffs else None
            raw.append((a, b, len(diffs), mean, None, None, None, None))
            continue
        p, low, high = paired_t(diffs)
        mean = math.fsum(diffs) / len(diffs)
        raw.append((a, b, len(diffs), mean, max(-1.0, low), min(1.0, high), p, sign_flip_p(diffs)))
    adjusted = holm([r[6] for r in raw])
    return tuple(
        PairedTest(a, b, n, mean, low, high, p, adj, flip, adj is not None and adj < ALPHA)
        for (a, b, n, mean, low, high, p, flip), adj in zip(raw, adjusted, strict=True)
    )


def resolution_tests(
    pairs: Sequence[tuple[str, str]], stats: Mapping[str, Stat]
) -> tuple[PairedTest, ...]:
    """One seed: a and b count as apart only when their Wilson intervals are disjoint."""
    out = []
    for a, b in pairs:
        sa, sb = stats[a], stats[b]
        apart = False
        diff = None
        if sa.mean is not None and sb.mean is not None:
            diff = sa.mean - sb.mean
            if sa.has_interval and sb.has_interval:
                assert sa.low is not None and sa.high is not None
                assert sb.low is not None and sb.high is not None
                apart = sa.low > sb.high or sb.low > sa.high
        out.append(PairedTest(a, b, min(sa.n, sb.n), diff, None, None, None, None, None, apart))
    return tuple(out)


def tie_ranks(order: Sequence[str], apart: Sequence[bool]) -> dict[str, tuple[int, bool]]:
    """Competition ranks over `order` (best first) where apart[i] says order[i] and order[i+1]
    are told apart; runs of neighbours not told apart share the rank of their first member.
    Returns name -> (rank, tied with another strategy)."""
    if len(apart) != max(0, len(order) - 1):
        raise ValueError("one 'apart' per neighbour pair")
    groups: list[list[str]] = []
    for i, name in enumerate(order):
        if i == 0 or apart[i - 1]:
            groups.append([name])
        else:
            groups[-1].append(name)
    ranks: dict[str, tuple[int, bool]] = {}
    position = 1
    for group in groups:
        for name in group:
            ranks[name] = (position, len(group) > 1)
        position += len(group)
    return ranks


def order_key(metrics: Mapping[str, Stat], headline: str) -> tuple[float, float, float]:
    """Sort key (ascending = better): the ranked availability, then overall availability, then p99
    of successful requests (the order inside a tie)."""
    ranked = metrics[headline].mean
    overall = metrics["availability"].mean
    p99 = metrics["p99_ok_ms"].mean if "p99_ok_ms" in metrics else metrics["p99_ms"].mean
    return (
        -ranked if ranked is not None else 1.0,
        -overall if overall is not None else 1.0,
        p99 if p99 is not None else math.inf,
    )
