"""Ties and gaps from known seeds: a synthetic comparison where two strategies are told apart and
two pairs are not; the single-seed comparison says it is not tested; every report shows it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from rich.console import Console

from harness.compare import METRICS, Comparison, build_comparison, load_comparison
from harness.compare.build import comparison_from_runs
from harness.compare.fake_run import TINY_FAULT, FakeRequest, write_fake_run
from harness.compare.metrics import compute_run_metrics
from harness.compare.serialize import comparison_to_dict
from harness.compare.stats import TEST_PAIRED_T, TEST_RESOLUTION
from harness.report import scoreboard_table, write_reports
from harness.report.csvout import csv_columns, render_csv
from harness.report.markdown import render_markdown

# successes out of 50 requests during the fault (5 s .. 10 s, one every 0.1 s), per seed
DURING_OK = {
    "best": (48, 49, 47, 48),
    "good": (47, 49, 46, 48),  # best - good: 0.02, 0, 0.02, 0 -> p = 0.18, tied
    "bad": (30, 33, 29, 31),  # good - bad: 0.34, 0.32, 0.34, 0.34 -> p < 0.001, apart
    "worst": (29, 33, 30, 30),  # bad - worst: 0.02, 0, -0.02, 0.02 -> p = 0.39, tied
}


def _requests(seed_index: int) -> list[FakeRequest]:
    out = []
    for name, oks in DURING_OK.items():
        for i in range(200):  # 0 .. 20 s
            t = i * 0.1
            in_fault = 5.0 <= t < 10.0
            ok = (i - 50) < oks[seed_index] if in_fault else True
            out.append(FakeRequest(name, t, 0.005 if ok else 0.0001, "ok" if ok else "dns_nodata"))
    return out


def _write_seeds(root: Path, ks: Iterable[int]) -> None:
    """The fake runs of seeds k + 1 for each k, under root/runs/."""
    for k in ks:
        write_fake_run(
            root / "runs" / f"{k + 1:02d}-seed{k + 1}", _requests(k), elapsed=20.0,
            faults=[TINY_FAULT], seed=k + 1,
        )  # fmt: skip


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    root = tmp_path_factory.mktemp("verdict")
    _write_seeds(root, range(4))
    return build_comparison(root, baseline="worst", slos={}, settle=2.0)


def test_separated_and_tied_groups(four: Comparison) -> None:
    assert four.strategies == ("best", "good", "bad", "worst")
    assert [(r.rank, r.tied) for r in four.rows] == [(1, True), (1, True), (3, True), (3, True)]
    v = four.verdict
    assert (v.test, v.level, v.tested, v.metric) == (
        TEST_PAIRED_T, 0.05, True, "availability_during_fault",
    )  # fmt: skip
    best_good, good_bad, bad_worst = v.neighbours
    assert (best_good.a, best_good.b, best_good.n) == ("best", "good", 4)
    # d = 0.02, 0, 0.02, 0: mean 0.01, s 0.011547, t = 1.732 on 3 df: p = 0.1817
    assert best_good.mean_diff == pytest.approx(0.01)
    assert best_good.p == pytest.approx(0.1817, abs=1e-4)
    assert not best_good.significant and not bad_worst.significant and good_bad.significant
    assert good_bad.p is not None and good_bad.p < 1e-4
    # Holm over the three neighbour pairs: the smallest p is tripled
    assert good_bad.p_adjusted == pytest.approx(3 * good_bad.p)
    assert best_good.p_sign_flip == pytest.approx(0.5)  # 8 of the 16 sign patterns reach 0.04
    against = {t.a: t for t in v.vs_baseline}
    assert set(against) == {"best", "good", "bad"} and against["best"].significant


def test_a_subset_of_seeds_ranks_as_a_comparison_of_only_those_seeds(tmp_path: Path) -> None:
    """bench/seed_count.py re-ranks subsets of read repeats: the same verdict as `harness compare`
    over only those seeds."""
    every = tmp_path / "every"
    only = tmp_path / "only"
    _write_seeds(every, range(4))
    _write_seeds(only, (1, 3))
    runs = [compute_run_metrics(d, settle=2.0) for d in sorted((every / "runs").iterdir())]
    subset = comparison_from_runs([runs[1], runs[3]], every, settle=2.0)
    direct = build_comparison(only, slos={}, settle=2.0)
    assert [r.seed for r in subset.runs] == [2, 4]
    assert [(r.strategy, r.rank, r.tied) for r in subset.rows] == [
        (r.strategy, r.rank, r.tied) for r in direct.rows
    ]
    assert [(t.a, t.b, t.p, t.p_adjusted) for t in subset.verdict.neighbours] == [
        (t.a, t.b, t.p, t.p_adjusted) for t in direct.verdict.neighbours
    ]
    # seeds 2 and 4: good - bad = 0.32, 0.34: t = 33 on 1 df, p = 0.019, Holm x3 = 0.058: on two
    # seeds even that gap is not told apart (four seeds separate it, test above)
    good_bad = subset.verdict.neighbours[1]
    assert good_bad.p == pytest.approx(0.0193, abs=1e-3) and not good_bad.significant
    assert [(r.rank, r.tied) for r in subset.rows] == [(1, True)] * 4


def test_single_seed_is_not_tested_and_hides_differences_below_resolution(
    tmp_path: Path,
) -> None:
    write_fake_run(tmp_path, _requests(0), elapsed=20.0, faults=[TINY_FAULT])
    c = build_comparison(tmp_path, slos={}, settle=2.0)
    assert (c.verdict.test, c.verdict.tested) == (TEST_RESOLUTION, False)
    # 48/50 and 47/50 overlap (Wilson), as do 30/50 and 29/50; 47/50 vs 30/50 are disjoint
    assert [(r.strategy, r.rank, r.tied) for r in c.rows] == [
        ("best", 1, True), ("good", 1, True), ("bad", 3, True), ("worst", 3, True),
    ]  # fmt: skip
    text = render_markdown(c)
    assert "the ranking is NOT tested" in text and "| =1 | `best` |" in text
    console = Console(width=120, record=True)
    console.print(scoreboard_table(c, 120))
    assert "NOT tested" in console.export_text()


def test_reports_show_ties_and_the_tests_behind_them(four: Comparison, tmp_path: Path) -> None:
    text = render_markdown(four)
    assert "| =1 | `best` |" in text and "| =3 | `worst` |" in text
    assert "| best vs good | 4 | +0.0100 [-0.0084, +0.0284] | 0.182 |" in text
    assert "| good vs bad | 4 |" in text and "apart |" in text
    raw = json.loads(json.dumps(comparison_to_dict(four)))
    assert raw["verdict"]["test"] == "paired-t-holm" and raw["verdict"]["level"] == 0.05
    assert [t["significant"] for t in raw["verdict"]["neighbours"]] == [False, True, False]
    assert raw["strategies"][0]["tied"] is True
    during = raw["strategies"][0]["metrics"]["availability_during_fault"]
    assert 0.0 <= during["low"] <= during["mean"] <= during["high"] <= 1.0
    write_reports(four, four.root)
    loaded = load_comparison(four.root)
    assert loaded.verdict == four.verdict and [r.tied for r in loaded.rows] == [True] * 4
    html = (four.root / "report.html").read_text()
    assert '<td class="">=1</td>' in html and "Ties and gaps between neighbours" in html


def test_csv_columns_are_documented_and_filled(four: Comparison) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(four))))
    assert list(rows[0]) == [name for name, _ in csv_columns()]
    best = rows[0]
    assert best["rank"] == "1" and best["tied"] == "true"
    # availabilities: the value is a success ratio, the ratio column is named for failures
    assert float(best["availability"]) > 0.9
    assert float(best["availability_during_fault"]) == pytest.approx(0.96)
    assert float(best["availability_during_fault_failure_ratio"]) == pytest.approx(
        0.04 / (1 - 0.61)
    )
    # nobody failed after recovery: the ratio is 1 (equal), not empty
    assert best["availability_after_recovery"] == "1.0"
    assert best["availability_after_recovery_failure_ratio"] == "1.0"
    assert float(best["availability_during_fault_low"]) <= 0.96
    docs = (Path(__file__).parents[1] / "docs" / "statistics.md").read_text()
    for name in ("rank", "tied", "strategy", "repeats", "saturated", *(m.key for m in METRICS)):
        assert f"`{name}`" in docs, name
    for suffix in ("_low", "_high", "_ratio", "_failure_ratio"):
        assert f"`{{metric}}{suffix}`" in docs, suffix


@pytest.mark.parametrize("width", [80, 120])
def test_terminal_scoreboard_fits_without_cutting_numbers(four: Comparison, width: int) -> None:
    console = Console(width=width, record=True)
    console.print(scoreboard_table(four, width))
    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    assert "0.96" in text and "=1" in text
