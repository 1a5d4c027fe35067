"""Confidence intervals, baseline ratios and the rank order."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from harness.compare.rundir import FaultRecord
from harness.compare.stats import (
    INTERVAL_WILSON,
    INTERVAL_WILSON_SEEDS,
    Z95,
    Stat,
    holm,
    paired_t,
    ratio,
    sign_flip_p,
    summarize,
    summarize_proportion,
    t_quantile,
    tie_ranks,
    wilson,
)
from harness.compare.windows import (
    after_recovery_start,
    fault_windows,
    recovery_time,
    recovery_window_buckets,
)


def test_t_quantiles() -> None:
    assert t_quantile(1) == pytest.approx(12.7062, abs=1e-4)
    assert t_quantile(2) == pytest.approx(4.3027, abs=1e-4)
    assert t_quantile(30) == pytest.approx(2.0423, abs=1e-4)
    with pytest.raises(ValueError):
        t_quantile(0)


def test_wilson_known_values() -> None:
    assert wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)


def test_one_run_proportion_is_wilson_on_its_counts() -> None:
    stat = summarize_proportion([(8, 10)])
    assert (stat.mean, stat.n, stat.interval) == (0.8, 1, INTERVAL_WILSON)
    assert (stat.low, stat.high) == pytest.approx((0.4902, 0.9433), abs=1e-4)


def test_proportion_across_seeds_uses_the_seed_spread() -> None:
    # 0.8, 0.9, 0.7 of 100 each: s² = 0.01, var of the mean 0.01/3 against binomial 0.16/300:
    # deff 6.25, effective size 300/6.25 = 48, z = t(0.975, 2) = 4.3027 -> Wilson(38.4/48)
    stat = summarize_proportion([(80, 100), (90, 100), (70, 100)])
    assert stat.mean == pytest.approx(0.8) and stat.interval == INTERVAL_WILSON_SEEDS
    assert (stat.low, stat.high) == pytest.approx((0.4896, 0.9435), abs=1e-4)
    assert (stat.low, stat.high) == pytest.approx(wilson(38.4, 48, t_quantile(2)))
    # all perfect: no spread beyond counting noise, Wilson on 200/200 (low = 200 / (200 + z²))
    perfect = summarize_proportion([(100, 100), (100, 100)])
    assert (perfect.low, perfect.high) == pytest.approx((0.9812, 1.0), abs=1e-4)
    assert summarize_proportion([None, (0, 0)]).mean is None


def test_t_interval_is_cut_to_the_domain() -> None:
    # [0, 0, 0, 0, 0, 114]: mean 19, s = 46.54, t(0.975, 5) = 2.5706: 19 ± 48.8, cut at 0
    stat = summarize([0, 0, 0, 0, 0, 114])
    assert stat.mean == pytest.approx(19.0) and stat.low == 0.0
    assert stat.high == pytest.approx(19 + 2.5706 * math.sqrt(2166) / math.sqrt(6), abs=1e-3)
    share = summarize([0.9, 1.0, 1.0], upper=1.0)
    assert share.high == 1.0


def test_one_value_has_no_interval_and_missing_values_are_skipped() -> None:
    assert summarize([0.5]) == Stat(0.5, None, None, 1, (0.5,))
    stat = summarize([None, 2.0, 4.0])
    assert (stat.mean, stat.n, stat.values) == (3.0, 2, (None, 2.0, 4.0))
    assert summarize([None, None]).mean is None


def test_never_in_any_repeat_makes_the_metric_never() -> None:
    stat = summarize([1.0, math.inf])
    assert stat.never and stat.mean is None and stat.low is None
    assert stat.values == (1.0, None)


def test_ratio() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(3.0, 0.0) is None
    assert ratio(None, 2.0) is None


def test_paired_t_sign_flip_and_holm_known_values() -> None:
    # d = 0.1, 0.2, 0.3: mean 0.2, s 0.1, t = 0.2 / (0.1/√3) = 3.464 on 2 df: p = 0.0742
    p, low, high = paired_t([0.1, 0.2, 0.3])
    assert p == pytest.approx(0.0742, abs=1e-4)
    assert (low, high) == pytest.approx((0.2 - 4.3027 * 0.1 / math.sqrt(3),
                                         0.2 + 4.3027 * 0.1 / math.sqrt(3)), abs=1e-4)  # fmt: skip
    # 8 sign patterns, only +++ and --- reach |0.6|: p = 2/8
    assert sign_flip_p([0.1, 0.2, 0.3]) == 0.25
    assert sign_flip_p([0.1, -0.1]) == 1.0
    # beyond 12 seeds a seeded Monte Carlo: 16 all-positive differences, only the observed
    # pattern (counted once) reaches the observed sum -> (1 + 0) / (1 + 16384), and repeatably
    many = [0.01 * i for i in range(1, 17)]
    assert sign_flip_p(many) == pytest.approx(1 / 16385, rel=0.5)
    assert sign_flip_p(many) == sign_flip_p(many)
    assert paired_t([0.0, 0.0])[0] == 1.0 and paired_t([0.1, 0.1])[0] == 0.0
    # Holm: 0.01·3 = 0.03; 0.03·2 = 0.06; 0.04·1, raised to 0.06 to stay monotone
    assert holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])


def test_tie_ranks() -> None:
    ranks = tie_ranks(["a", "b", "c", "d", "e"], [False, True, True, False])
    assert ranks == {"a": (1, True), "b": (1, True), "c": (3, False), "d": (4, True),
                     "e": (4, True)}  # fmt: skip
    assert tie_ranks(["a"], []) == {"a": (1, False)}


def _fault(applied: float | None, reverted: float | None) -> FaultRecord:
    return FaultRecord("dns.nodata", "us-east-1", applied or 0.0, applied, reverted)


def test_fault_windows_and_pre_fault_ranges() -> None:
    first, second, unapplied = fault_windows(
        [_fault(10.0, 20.0), _fault(30.0, None), _fault(None, None)], horizon=60.0
    )
    assert first is not None and second is not None and unapplied is None
    assert (first.start, first.end, first.reverted, first.pre_start) == (10.0, 20.0, True, 0.0)
    assert (second.start, second.end, second.reverted, second.pre_start) == (
        30.0,
        60.0,
        False,
        20.0,
    )
    assert first.contains(10.0) and not first.contains(20.0)


def test_after_recovery_range() -> None:
    windows = fault_windows([_fault(10.0, 20.0)], horizon=60.0)
    assert after_recovery_start(windows, 60.0, settle=10.0) == 30.0
    assert after_recovery_start(windows, 25.0, settle=10.0) is None  # nothing left after settling
    assert after_recovery_start(fault_windows([_fault(10.0, None)], 60.0), 60.0, 10.0) is None
    assert after_recovery_start((), 60.0, 10.0) is None


def test_recovery_time_on_bucket_windows() -> None:
    total = [10] * 10
    ok = [10, 10, 0, 0, 5, 9, 10, 10, 10, 10]
    # reverted at 3.5 s; 3-bucket windows from bucket 4: [4,7) 24/30, [5,8) 29/30 ≥ 0.95
    assert recovery_time(total, ok, 1.0, 3.5, target=0.95, width=3) == pytest.approx(1.5)
    assert recovery_time(total, ok, 1.0, 3.5, target=1.0, width=3) == pytest.approx(2.5)
    assert recovery_time(total, [0] * 10, 1.0, 3.5, target=0.5, width=3) == math.inf
    # windows without requests are skipped, not counted as recovered
    assert recovery_time([0, 0, 0, 5, 5], [0, 0, 0, 5, 5], 1.0, 0.0, 0.9, width=1) == 3.0


def test_recovery_window_is_five_buckets_and_at_least_two_seconds() -> None:
    assert recovery_window_buckets(1.0) == 5
    assert recovery_window_buckets(0.2) == 10
    assert recovery_window_buckets(0.05) == 40


def test_z95_is_scipys_normal_quantile_to_the_last_bit() -> None:
    from scipy import stats as scipy_stats

    assert float(scipy_stats.norm.ppf(0.975)) == Z95


def test_loading_comparisons_and_the_cli_does_not_import_scipy_or_numpy() -> None:
    # Both take ~0.2 s to import; only the statistics that compute with them pull them in.
    code = (
        "import sys, harness.cli, harness.compare, harness.report\n"
        "print(sorted(m for m in ('scipy', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
