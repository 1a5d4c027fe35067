"""Write every report of a comparison, and re-render them from saved results alone."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from harness.compare.build import build_comparison
from harness.compare.model import Comparison
from harness.compare.serialize import (
    COMPARISON_JSON,
    load_comparison,
    save_comparison,
    saved_settings,
)
from harness.processes import map_in_processes
from harness.report.series import CHARTS, SINGLE_PANEL_MAX

if TYPE_CHECKING:
    from harness.report.series import ChartSeries

MARKDOWN = "comparison.md"
CSV = "comparison.csv"
HTML = "report.html"


def write_reports(
    comparison: Comparison, directory: Path, *, html: bool = True, workers: int = 1
) -> list[Path]:
    """comparison.json, comparison.md, comparison.csv and (html=True) report.html and
    chart-<name>.png (one per chart, the same images report.html embeds) into `directory`. An
    interrupted comparison skips the charts, seconds of matplotlib, to exit promptly; `harness
    report DIR` renders them later. `workers`: processes that draw the charts side by side."""
    from harness.report.csvout import write_csv
    from harness.report.markdown import render_markdown
    from harness.report.populations import (
        load_populations,
        populations_html,
        populations_markdown,
    )
    from harness.report.services import (
        graph_png,
        load_services,
        services_html,
        services_markdown,
    )

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [save_comparison(comparison, directory)]
    services = load_services(directory)  # the service tier, when the scenario has one
    populations = load_populations(directory)  # clients in several home regions
    markdown = directory / MARKDOWN
    text = render_markdown(comparison)
    if populations is not None:
        text += populations_markdown(*populations)
    if services is not None:
        text += services_markdown(*services)
    markdown.write_text(text, encoding="utf-8")
    paths += [markdown, write_csv(comparison, directory / CSV)]
    if not html:
        return paths
    from harness.report.html import render_html
    from harness.report.series import load_series

    series = load_series(comparison)
    if len(comparison.strategies) <= SINGLE_PANEL_MAX:
        workers = 1  # one plot each: drawn faster than a helper process starts (~1.3 s)
    charts = dict(zip(CHARTS, map_in_processes(partial(draw_chart, series), CHARTS,
                                               workers=workers), strict=True))  # fmt: skip
    page = render_html(comparison, charts)
    if populations is not None:
        page = page.replace("</body></html>", populations_html(*populations) + "</body></html>", 1)
    if services is not None:
        graph = graph_png(services[1])
        page = page.replace("</body></html>", services_html(*services, graph) + "</body></html>", 1)
        charts = {**charts, "services-graph": graph}
    report = directory / HTML
    report.write_text(page, encoding="utf-8")
    paths.append(report)
    for name, png in charts.items():  # each chart also as a file, for slides and tickets
        path = directory / chart_file(name)
        path.write_bytes(png)
        paths.append(path)
    return paths


def draw_chart(series: ChartSeries, name: str) -> bytes:
    """One chart's PNG; matplotlib is imported only by whoever draws (a helper process, or this
    one when it draws itself)."""
    from harness.report.charts import render_chart

    return render_chart(series, name)


def chart_file(name: str) -> str:
    return f"chart-{name}.png"


def render_report(directory: Path, *, workers: int = 1) -> list[Path]:
    """`harness report DIR`: rebuild every report from saved results, running nothing.

    From DIR/comparison.json and each run's timeseries.json when the comparison was saved; for a
    directory without one (a fresh `harness run` directory) the comparison is built from the runs
    (first strategy as baseline, no SLOs: those live in the scenario, which is not saved here).
    A comparison.json of an older schema is rebuilt from the runs with its baseline and SLOs."""
    directory = Path(directory)
    if (directory / COMPARISON_JSON).exists():
        older = saved_settings(directory)
        if older is not None:
            baseline, slos, settle = older
            comparison = build_comparison(
                directory, baseline=baseline, slos=slos, settle=settle, workers=workers
            )
        else:
            comparison = load_comparison(directory)
    else:
        comparison = build_comparison(directory, baseline=None, slos={}, workers=workers)
    return write_reports(comparison, directory, workers=workers)


def write_chart_png(comparison_dir: Path, path: Path, chart: str = "success") -> Path:
    """Export one chart of a saved comparison (default: the success ratio, as in the README)."""
    from harness.report.series import load_series

    if chart not in CHARTS:
        raise ValueError(f"unknown chart {chart!r} (charts: {', '.join(CHARTS)})")
    png = draw_chart(load_series(load_comparison(Path(comparison_dir))), chart)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path
