"""Confidence intervals, baseline ratios and the rank order."""

from __future__ import annotations

import math

import pytest

from harness.compare.rundir import FaultRecord
from harness.compare.stats import Stat, competition_ranks, rank_key, ratio, summarize, t_quantile
from harness.compare.windows import (
    after_recovery_start,
    fault_windows,
    recovery_time,
    recovery_window_buckets,
)


def test_t_quantiles_from_the_table_then_normal() -> None:
    assert t_quantile(1) == 12.7062
    assert t_quantile(2) == 4.3027
    assert t_quantile(9) == 2.2622
    assert t_quantile(30) == 2.0423
    assert t_quantile(31) == 1.96
    with pytest.raises(ValueError):
        t_quantile(0)


def test_mean_and_95_percent_interval() -> None:
    stat = summarize([0.90, 0.95, 1.00])
    assert stat.mean == pytest.approx(0.95)
    # s = 0.05, n = 3: 4.3027 · 0.05 / √3
    assert stat.ci95 == pytest.approx(4.3027 * 0.05 / math.sqrt(3))
    assert stat.ci95 is not None and stat.low == pytest.approx(0.95 - stat.ci95)
    assert stat.n == 3 and not stat.never


def test_one_value_has_no_interval_and_missing_values_are_skipped() -> None:
    assert summarize([0.5]) == Stat(0.5, None, 1, (0.5,))
    stat = summarize([None, 2.0, 4.0])
    assert (stat.mean, stat.n, stat.values) == (3.0, 2, (None, 2.0, 4.0))
    assert summarize([None, None]).mean is None


def test_never_in_any_repeat_makes_the_metric_never() -> None:
    stat = summarize([1.0, math.inf])
    assert stat.never and stat.mean is None and stat.ci95 is None
    assert stat.values == (1.0, None)


def test_ratio() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(3.0, 0.0) is None
    assert ratio(None, 2.0) is None


def _metrics(during: float | None, overall: float, p99: float) -> dict[str, Stat]:
    return {
        "availability": summarize([overall]),
        "availability_during_fault": summarize([during]),
        "p99_ms": summarize([p99]),
    }


def test_rank_by_fault_availability_then_overall_then_p99() -> None:
    keys = {
        "slow-but-up": rank_key(_metrics(0.99, 0.99, 900.0)),
        "fast-but-down": rank_key(_metrics(0.50, 0.90, 10.0)),
        "best-overall": rank_key(_metrics(0.50, 0.95, 50.0)),
        "noise-level-better": rank_key(_metrics(0.9904, 0.99, 950.0)),
    }
    ranks = competition_ranks(keys)
    # 0.9904 and 0.99 are equal at 3 decimals: the lower p99 wins
    assert ranks == {
        "slow-but-up": 1,
        "noise-level-better": 2,
        "best-overall": 3,
        "fast-but-down": 4,
    }


def test_equal_keys_share_a_rank_and_no_fault_falls_back_to_overall() -> None:
    keys = {
        "a": rank_key(_metrics(None, 0.99, 10.0)),
        "b": rank_key(_metrics(None, 0.99, 10.0)),
        "c": rank_key(_metrics(None, 0.98, 1.0)),
    }
    assert competition_ranks(keys) == {"a": 1, "b": 1, "c": 3}


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
