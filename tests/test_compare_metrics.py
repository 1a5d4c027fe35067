"""Known run directory in, hand-computed scoreboard out (see fake_run.tiny_requests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.compare import Comparison, build_comparison
from harness.compare.fake_run import (
    TINY_FAULT,
    FakeFault,
    FakeRequest,
    tiny_requests,
    write_fake_run,
)
from harness.compare.metrics import compute_run_metrics

CAPACITY = {"us-east-1": 100.0, "us-west-2": 80.0}


def tiny_run(path: Path, **kwargs: object) -> Path:
    options: dict[str, object] = {
        "elapsed": 20.0,
        "faults": [TINY_FAULT],
        "capacity_rps": CAPACITY,
        "stale_reads": {"failover": 2},
    }
    options.update(kwargs)
    return write_fake_run(path, tiny_requests(), **options)  # type: ignore[arg-type]


@pytest.fixture
def tiny(tmp_path: Path) -> Comparison:
    # settle 2 s: "after recovery" is [12 s, 20 s)
    return build_comparison(tiny_run(tmp_path / "run"), baseline=None, slos={}, settle=2.0)


def mean(c: Comparison, strategy: str, metric: str) -> float | None:
    return c.row(strategy).metrics[metric].mean


def test_availability_overall_during_and_after_the_fault(tiny: Comparison) -> None:
    # naive: 5 ok before, 5 failed in [5, 10), 2 failed after, 8 ok from 12 s: 13/20
    assert mean(tiny, "naive", "availability") == pytest.approx(13 / 20)
    assert mean(tiny, "naive", "availability_during_fault") == 0.0
    assert mean(tiny, "naive", "availability_after_recovery") == 1.0
    # failover: only the request at 5.5 s failed: 19/20, 4/5 in the window
    assert mean(tiny, "failover", "availability") == pytest.approx(19 / 20)
    assert mean(tiny, "failover", "availability_during_fault") == pytest.approx(4 / 5)
    assert mean(tiny, "failover", "availability_after_recovery") == 1.0


def test_goodput_latency_attempts(tiny: Comparison) -> None:
    assert mean(tiny, "naive", "goodput_rps") == pytest.approx(13 / 20)
    assert mean(tiny, "failover", "goodput_rps") == pytest.approx(19 / 20)
    # naive: 7 at 1 ms, 12 at 10 ms, 1 at 200 ms; HdrHistogram keeps 3 significant digits
    assert mean(tiny, "naive", "p50_ms") == pytest.approx(10.0, rel=1e-3)
    assert mean(tiny, "naive", "p99_ms") == pytest.approx(200.0, rel=1e-3)
    assert mean(tiny, "naive", "p999_ms") == pytest.approx(200.0, rel=1e-3)
    # failover: 1 at 1 ms, 15 at 10 ms, 4 at 30 ms
    assert mean(tiny, "failover", "p50_ms") == pytest.approx(10.0, rel=1e-3)
    assert mean(tiny, "failover", "p99_ms") == pytest.approx(30.0, rel=1e-3)
    assert mean(tiny, "naive", "attempts_per_request") == 1.0
    assert mean(tiny, "failover", "attempts_per_request") == pytest.approx(24 / 20)


def test_first_success_and_recovery(tiny: Comparison) -> None:
    # naive's first success after 5 s is the request intended at 12.5 s, done at 12.51 s
    assert mean(tiny, "naive", "time_to_first_success_s") == pytest.approx(7.51)
    # failover's: intended 6.5 s, done 6.53 s
    assert mean(tiny, "failover", "time_to_first_success_s") == pytest.approx(1.53)
    # naive: windows of 5 one-second buckets from 10 s: [10,15) 3/5, [11,16) 4/5, [12,17) 5/5
    assert mean(tiny, "naive", "recovery_s") == pytest.approx(2.0)
    assert mean(tiny, "failover", "recovery_s") == 0.0


def test_regional_load_cross_region_and_consistency(tiny: Comparison) -> None:
    failover = tiny.row("failover")
    # one attempt per 1 s bucket in each region: 1/100 and 1/80 of capacity
    assert failover.peak_load_by_region["us-east-1"].mean == pytest.approx(0.01)
    assert failover.peak_load_by_region["us-west-2"].mean == pytest.approx(1 / 80)
    assert mean(tiny, "failover", "peak_load") == pytest.approx(1 / 80)
    assert tiny.row("naive").peak_load_by_region["us-west-2"].mean == 0.0
    assert mean(tiny, "failover", "cross_region_share") == pytest.approx(4 / 19)
    assert mean(tiny, "failover", "stale_reads") == 2
    assert mean(tiny, "naive", "lost_writes") == 0
    assert failover.outcomes == {"ok": 19, "dns_nodata": 1}


def test_rank_baseline_and_ratios(tiny: Comparison) -> None:
    assert tiny.strategies == ("failover", "naive")
    # one seed: 4/5 and 0/5 during the fault have overlapping Wilson intervals: not told apart
    assert [(row.rank, row.tied) for row in tiny.rows] == [(1, True), (1, True)]
    assert not tiny.verdict.tested
    assert tiny.baseline == "naive"  # default: the first strategy of the run
    ratios = tiny.row("failover").ratios
    # availabilities compare failures: (1 - 0.8) / (1 - 0)
    assert ratios["availability_during_fault"] == pytest.approx(0.2)
    assert ratios["availability"] == pytest.approx(0.05 / 0.35)
    assert ratios["p99_ms"] == pytest.approx(30 / 200, rel=2e-3)
    assert ratios["attempts_per_request"] == pytest.approx(1.2)
    assert tiny.row("naive").ratios["p99_ms"] == 1.0
    assert ratios["availability_after_recovery"] == 1.0  # neither failed there: equal


def test_fault_window_table(tiny: Comparison) -> None:
    (fault,) = tiny.faults
    assert (fault.fault, fault.target, fault.reverted) == ("dns.nodata", "us-east-1", True)
    assert (fault.start.mean, fault.end.mean) == (5.0, 10.0)
    naive, failover = fault.strategies["naive"], fault.strategies["failover"]
    assert (naive.requests, naive.availability.mean) == (5, 0.0)
    assert failover.availability.mean == pytest.approx(0.8)
    assert failover.time_to_first_success_s.mean == pytest.approx(1.53)
    assert naive.recovery_s.mean == pytest.approx(2.0)


def test_single_run_directory_is_one_repeat(tiny: Comparison) -> None:
    assert tiny.repeats == 1
    assert tiny.runs[0].name == "."
    overall = tiny.row("naive").metrics["availability"]  # 13 of 20 requests: Wilson only
    assert (overall.low, overall.high, overall.interval) == pytest.approx(
        (0.4329, 0.8188, "wilson"), abs=1e-4
    )
    assert tiny.row("naive").metrics["p99_ms"].low is None


def test_repeats_give_mean_and_confidence_interval(tmp_path: Path) -> None:
    tiny_run(tmp_path / "runs" / "01-seed1", seed=1)
    # the second repeat: failover also fails at 6.5 s (3/5 during the fault)
    requests = [
        FakeRequest("failover", 6.5, 0.001, "dns_nodata")
        if (r.strategy, r.intended) == ("failover", 6.5)
        else r
        for r in tiny_requests()
    ]
    write_fake_run(
        tmp_path / "runs" / "02-seed2", requests, elapsed=20.0, faults=[TINY_FAULT], seed=2
    )
    c = build_comparison(tmp_path, baseline="naive", slos={}, settle=2.0)
    assert [r.name for r in c.runs] == ["runs/01-seed1", "runs/02-seed2"]
    during = c.row("failover").metrics["availability_during_fault"]
    assert during.values == pytest.approx((0.8, 0.6))
    assert during.mean == pytest.approx(0.7)
    # 4/5 and 3/5: s² = 0.02, var of the mean 0.01 against binomial 0.21/10: within counting noise,
    # so Wilson on the pooled 7/10 (not a t interval of 0.7 ± 1.27, outside [0, 1])
    assert (during.low, during.high) == pytest.approx((0.3968, 0.8922), abs=1e-4)
    first_ok_stat = c.row("failover").metrics["time_to_first_success_s"]
    # 1.53 and 2.53: 2.03 ± 12.7062 · 0.7071 / √2 = ± 6.35, cut at 0
    assert first_ok_stat.low == 0.0
    assert first_ok_stat.high == pytest.approx(2.03 + 12.7062 * 0.5, abs=1e-3)
    first_ok = c.row("failover").metrics["time_to_first_success_s"]
    assert first_ok.values == pytest.approx((1.53, 2.53))


def test_recovery_never_and_fault_never_reverted(tmp_path: Path) -> None:
    never = [FakeRequest("stuck", t + 0.5, 0.01, "ok" if t < 5 else "timeout") for t in range(20)]
    c = build_comparison(
        write_fake_run(tmp_path / "a", never, elapsed=20.0, faults=[TINY_FAULT]), slos={}
    )
    stat = c.row("stuck").metrics["recovery_s"]
    assert stat.never and stat.mean is None
    assert c.row("stuck").metrics["time_to_first_success_s"].never
    # a fault still on when the run ended: no recovery, no "after recovery"
    open_ended = FakeFault(applied_at=5.0, reverted_at=None)
    c = build_comparison(
        write_fake_run(tmp_path / "b", never, elapsed=20.0, faults=[open_ended]), slos={}
    )
    metrics = c.row("stuck").metrics
    assert metrics["recovery_s"].mean is None and not metrics["recovery_s"].never
    assert metrics["availability_after_recovery"].mean is None
    assert metrics["availability_during_fault"].mean == 0.0  # [5 s, end)
    assert c.faults[0].reverted is False


def test_fault_reverted_only_by_the_end_of_run_cleanup_counts_as_not_reverted(
    tmp_path: Path,
) -> None:
    late = FakeFault(applied_at=5.0, reverted_at=20.5)  # the runner reverts at exit, after drain
    run = write_fake_run(tmp_path / "r", tiny_requests(), elapsed=20.0, faults=[late])
    metrics = compute_run_metrics(run)
    window = metrics.windows[0]
    assert window is not None and not window.reverted and window.end == 20.0
    assert metrics.strategies["naive"].faults[0] is not None
    assert metrics.strategies["naive"].faults[0].recovery_s is None


def test_fault_never_applied_has_no_window(tmp_path: Path) -> None:
    unapplied = FakeFault(applied_at=None, reverted_at=None)
    run = write_fake_run(tmp_path / "r", tiny_requests(), elapsed=20.0, faults=[unapplied])
    c = build_comparison(run, slos={})
    assert c.faults == ()
    assert c.row("naive").metrics["availability_during_fault"].mean is None
    assert c.headline_metric == "availability"
    assert c.strategies == ("failover", "naive")


def test_no_requests_for_a_strategy(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "r", tiny_requests(), elapsed=20.0)
    summary = (run / "summary.json").read_text()
    (run / "summary.json").write_text(
        summary.replace(
            '"strategies": {',
            '"strategies": {"idle": {"description": "", '
            '"stale_reads": 0, "lost_writes": 0, "cross_region_share": 0.0, "saturated": false},',
            1,
        )
    )
    c = build_comparison(run, baseline="naive", slos={})
    idle = c.row("idle")
    assert idle.metrics["availability"].mean is None and idle.metrics["p99_ms"].mean is None
    assert idle.rank == 3 and not idle.tied


def test_saturated_runs_are_flagged_in_every_report(tmp_path: Path) -> None:
    from harness.report.markdown import render_markdown

    run = tiny_run(tmp_path / "r", saturated=True)
    c = build_comparison(run, slos={})
    assert c.runs[0].saturated and all(row.saturated for row in c.rows)
    text = render_markdown(c)
    assert "| =1 | `failover` ⚠ |" in text
    assert "saturated (send lag p99 above 5ms): numbers suspect" in text
