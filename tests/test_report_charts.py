"""Charts: pooled series across repeats, and readable layouts from 2 to 16 strategies."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_hex

from harness.compare import build_comparison
from harness.compare.fake_run import (
    TINY_FAULT,
    Behaviour,
    FakeFault,
    synthetic_requests,
    tiny_requests,
    write_fake_run,
)
from harness.report.charts import PALETTE, load_chart, render_chart, success_chart
from harness.report.series import load_series


def test_series_pool_repeats(tmp_path: Path) -> None:
    for repeat in (1, 2):
        write_fake_run(
            tmp_path / "runs" / f"0{repeat}-seed{repeat}", tiny_requests(), elapsed=20.0,
            faults=[TINY_FAULT], capacity_rps={"us-east-1": 100.0, "us-west-2": 80.0},
        )  # fmt: skip
    series = load_series(build_comparison(tmp_path, baseline=None, slos={}))
    assert series.strategies == ("failover", "naive")
    assert series.times[:2] == (0.5, 1.5) and len(series.times) == 20
    assert series.success["naive"][4:6] == [1.0, 0.0]  # the fault starts in bucket 5
    assert series.success["failover"][5:7] == [0.0, 1.0]
    assert series.attempts_per_request["failover"][6] == 2.0
    # one attempt per bucket per repeat: the mean over repeats ÷ 80/s
    assert series.region_load["failover"]["us-west-2"][6] == pytest.approx(1 / 80)
    assert series.p99_ms["naive"][19] == pytest.approx(200.0)
    assert [(w.start, w.end, w.label) for w in series.windows] == [
        (5.0, 10.0, "dns.nodata us-east-1")
    ]


def test_few_strategies_share_one_plot_with_the_legend_outside(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "r", tiny_requests(), elapsed=20.0, faults=[TINY_FAULT])
    series = load_series(build_comparison(run, slos={}))
    figure = success_chart(series)
    try:
        (ax,) = figure.axes
        legend = ax.get_legend()
        assert legend is not None
        assert [t.get_text() for t in legend.get_texts()] == ["#=1 failover", "#=1 naive"]
        assert legend.get_bbox_to_anchor().x0 > ax.get_window_extent().x1 - 1
        assert len(ax.patches) == 1  # the shaded fault window
    finally:
        plt.close(figure)
    assert render_chart(series, "p99")[:4] == b"\x89PNG"


def test_sixteen_strategies_become_small_multiples(tmp_path: Path) -> None:
    names = [f"strategy-{i:02d}" for i in range(16)]
    behaviours = [
        Behaviour(n, ok_during_fault=i / 16, detect_after=1.0) for i, n in enumerate(names)
    ]
    fault = FakeFault(applied_at=4.0, reverted_at=8.0)
    requests = synthetic_requests(behaviours, rate=5, elapsed=12.0, fault=fault)
    run = write_fake_run(tmp_path / "r", requests, elapsed=12.0, faults=[fault])
    series = load_series(build_comparison(run, slos={}))
    for draw in (success_chart, load_chart):
        figure = draw(series)
        try:
            visible = [ax for ax in figure.axes if ax.get_visible()]
            assert len(visible) == 16
            titles = [ax.get_title(loc="left") for ax in visible]
            assert titles[0].endswith("1 strategy-15") and titles[-1].endswith("strategy-00")
        finally:
            plt.close(figure)
    assert len(set(PALETTE)) >= 16 and not math.isnan(series.success[names[0]][0])


def test_overlapping_faults_get_distinct_shades_and_a_legend(tmp_path: Path) -> None:
    first = FakeFault(applied_at=4.0, reverted_at=10.0)
    second = FakeFault(applied_at=7.0, reverted_at=12.0, fault="endpoint.errors")
    behaviours = [Behaviour(n, ok_during_fault=0.5) for n in ("a", "b")]
    requests = synthetic_requests(behaviours, rate=5, elapsed=16.0, fault=first)
    for k in (1, 2):
        write_fake_run(
            tmp_path / "runs" / f"0{k}-seed{40 + k}", requests, elapsed=16.0,
            faults=[first, second], seed=40 + k,
        )  # fmt: skip
    series = load_series(build_comparison(tmp_path, slos={}))
    figure = success_chart(series)
    try:
        (ax,) = figure.axes
        shades = {to_hex(patch.get_facecolor()) for patch in ax.patches}
        assert len(ax.patches) == 2 and len(shades) == 2
        (faults,) = figure.legends
        assert [t.get_text() for t in faults.get_texts()] == [
            "fault 1: dns.nodata us-east-1 (4–10 s)",
            "fault 2: endpoint.errors us-east-1 (7–12 s)",
        ]
        # the chart says which seeds it shows: all of them, pooled
        assert "pooled over 2 seeds (41, 42)" in figure.get_suptitle()
    finally:
        plt.close(figure)


def test_load_axis_is_scaled_to_the_data(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "r", tiny_requests(), elapsed=20.0, faults=[TINY_FAULT])
    series = load_series(build_comparison(run, slos={}))
    figure = load_chart(series)
    try:
        top = max(ax.get_ylim()[1] for ax in figure.axes if ax.get_visible())
        # one attempt per second against 100/s: a peak of 0.02, not a flat line under 1.2
        assert 0.01 < top < 0.05
        assert "capacity (1.0) is above this axis" in figure.get_suptitle()
        assert "one run, seed 1" in figure.get_suptitle()
    finally:
        plt.close(figure)
