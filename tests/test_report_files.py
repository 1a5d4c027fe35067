"""Every report file is written and parseable; reports re-render from saved results alone."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from harness.compare import Comparison, build_comparison, load_comparison
from harness.compare.fake_run import TINY_FAULT, tiny_requests, write_fake_run
from harness.compare.serialize import comparison_to_dict
from harness.report import render_report, scoreboard_table, write_chart_png, write_reports
from harness.scenario.model import SloSpec

DATA = Path(__file__).parent / "data" / "compare-small"
SLOS = {"failover": SloSpec(availability_during_fault=0.9)}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Comparison, Path, list[Path]]:
    root = tmp_path_factory.mktemp("report")
    for repeat in (1, 2):
        write_fake_run(
            root / "runs" / f"{repeat:02d}-seed{repeat}", tiny_requests(), elapsed=20.0,
            faults=[TINY_FAULT], seed=repeat, stale_reads={"failover": repeat},
        )  # fmt: skip
    comparison = build_comparison(root, baseline="naive", slos=SLOS, settle=2.0)
    return comparison, root, write_reports(comparison, root)


def test_every_report_is_written(written: tuple[Comparison, Path, list[Path]]) -> None:
    _, root, paths = written
    names = ["comparison.json", "comparison.md", "comparison.csv", "report.html"]
    charts = ["chart-success.png", "chart-p99.png", "chart-attempts.png", "chart-load.png"]
    assert [p.name for p in paths] == names + charts
    assert all((root / name).read_bytes()[:4] == b"\x89PNG" for name in charts)
    assert all((root / name).stat().st_size > 0 for name in names)


def test_json_round_trips(written: tuple[Comparison, Path, list[Path]]) -> None:
    comparison, root, _ = written
    raw = json.loads((root / "comparison.json").read_text())
    assert raw["schema"] == 2 and raw["repeats"] == 2 and raw["passed"] is False
    assert [s["strategy"] for s in raw["strategies"]] == ["failover", "naive"]
    assert raw["strategies"][0]["metrics"]["stale_reads"]["values"] == [1.0, 2.0]
    assert raw["violations"][0]["message"] == "failover: availability_during_fault 0.800 < 0.9"
    loaded = load_comparison(root)
    assert comparison_to_dict(loaded) == comparison_to_dict(comparison)
    assert loaded.slos == SLOS


def test_csv_has_one_row_per_strategy(written: tuple[Comparison, Path, list[Path]]) -> None:
    _, root, _ = written
    with (root / "comparison.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["strategy"] for r in rows] == ["failover", "naive"]
    assert float(rows[0]["availability_during_fault"]) == pytest.approx(0.8)
    assert float(rows[0]["availability_during_fault_failure_ratio"]) == pytest.approx(0.2)
    # stale reads 1 and 2: 1.5 ± 12.7062 · 0.7071 / √2, cut at 0
    assert rows[0]["stale_reads_low"] == "0.0"
    assert float(rows[0]["stale_reads_high"]) == pytest.approx(1.5 + 12.7062 * 0.5, abs=1e-3)
    assert rows[1]["recovery_s"] == "2.0" and rows[0]["rank"] == "1"


def test_markdown_scoreboard(written: tuple[Comparison, Path, list[Path]]) -> None:
    _, root, _ = written
    text = (root / "comparison.md").read_text()
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("| # | strategy")))
    header, rule, *rest = lines[start:]
    table = rest[: next(i for i, line in enumerate(rest) if not line.startswith("|"))]
    assert [row.split(" | ")[1] for row in table] == ["`failover`", "`naive`"]
    assert header.count("|") == rule.count("|") == table[0].count("|")
    assert "fail vs base" in header and "avail fault" in header
    assert "| 1 | `failover` | 0.95 [0.83–0.99] | **0.8 [0.5–0.9]** ✗ | 0.20 |" in text
    assert "- failover: availability_during_fault 0.800 < 0.9" in text
    assert "## Fault 1: `dns.nodata` on us-east-1, 5.0 s → 10.0 s" in text
    assert "| naive | 10 | 0.00 [0.00–0.28] | 7.51 | 2.0 |" in text


def test_html_is_self_contained(written: tuple[Comparison, Path, list[Path]]) -> None:
    _, root, _ = written
    html = (root / "report.html").read_text()
    assert html.count('<img alt="') == 4
    assert html.count('src="data:image/png;base64,') == 4
    assert not re.search(r"https?://", html)
    assert "<script" not in html and "<link" not in html
    assert '<td class="bad">0.8 [0.5–0.9]</td>' in html


def test_rerender_from_saved_results_only(
    written: tuple[Comparison, Path, list[Path]], tmp_path: Path
) -> None:
    _, root, _ = written
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    before = (copy / "comparison.md").read_text()
    for name in ("comparison.md", "comparison.csv", "report.html"):
        (copy / name).unlink()
    for run in (copy / "runs").iterdir():
        (run / "requests.jsonl.gz").unlink()  # re-rendering never re-reads the request logs
    paths = render_report(copy)
    assert all(p.exists() for p in paths)
    assert (copy / "comparison.md").read_text() == before


def test_checked_in_comparison_still_renders(tmp_path: Path) -> None:
    """A comparison saved by an earlier version (tests/data) must keep rendering."""
    copy = tmp_path / "saved"
    shutil.copytree(DATA, copy)
    render_report(copy)
    comparison = load_comparison(copy)
    assert comparison.strategies == ("failover", "naive")
    assert "| =1 | `failover` |" in (copy / "comparison.md").read_text()  # one seed: untested


def test_report_of_a_fresh_run_directory(tmp_path: Path) -> None:
    """`harness run` writes no comparison.json: `harness report RUN_DIR` builds one."""
    run = write_fake_run(tmp_path / "run", tiny_requests(), elapsed=20.0, faults=[TINY_FAULT])
    paths = render_report(run)
    assert paths[0].name == "comparison.json"
    assert load_comparison(run).runs[0].name == "."


def test_chart_png_export(written: tuple[Comparison, Path, list[Path]], tmp_path: Path) -> None:
    _, root, _ = written
    path = write_chart_png(root, tmp_path / "img" / "success.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="unknown chart"):
        write_chart_png(root, tmp_path / "x.png", chart="pie")


def test_terminal_scoreboard(written: tuple[Comparison, Path, list[Path]]) -> None:
    comparison, _, _ = written
    table = scoreboard_table(comparison)
    assert table.row_count == 2
    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    text = console.export_text()
    assert "failover" in text and "0.8 [0.5–0.9]" in text and "2 seeds" in text
