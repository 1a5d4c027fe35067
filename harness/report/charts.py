"""Charts of a comparison as PNG bytes (matplotlib, Agg backend: no display needed).

Readable with many strategies: up to SINGLE_PANEL_MAX strategies share one plot (distinct colours,
legend outside the plot); beyond that, small multiples — one panel per strategy, in rank order,
with every other strategy drawn faintly grey behind it for context. Fault windows are shaded.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from harness.report.series import ChartSeries

SINGLE_PANEL_MAX = 6
# Qualitative, 20 distinct hues: tab10, then ten darker or off-axis colours.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#e6ab02", "#637939", "#843c39", "#7b4173", "#1b9e77",
    "#fb9a99", "#a6761d", "#6a3d9a", "#000000",
)  # fmt: skip
STYLES = ("-", "--", "-.", ":")
REGION_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
FAULT_SHADE = "#d62728"
CHARTS = ("success", "p99", "attempts", "load")

Values = Sequence[float]


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def style(index: int) -> str:
    """Line style for one shared plot: cycled, so that lines lying on top of each other (two
    strategies that never fail) both stay visible."""
    return STYLES[index % len(STYLES)]


def render_chart(series: ChartSeries, name: str) -> bytes:
    """One chart ("success", "p99", "attempts" or "load") as PNG bytes."""
    draw: Mapping[str, Callable[[ChartSeries], Figure]] = {
        "success": success_chart,
        "p99": p99_chart,
        "attempts": attempts_chart,
        "load": load_chart,
    }
    figure = draw[name](series)
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        return buffer.getvalue()
    finally:
        plt.close(figure)


def success_chart(series: ChartSeries) -> Figure:
    return _lines(series, series.success, "Success ratio over time", "success ratio", (0.0, 1.03))


def p99_chart(series: ChartSeries) -> Figure:
    title = (
        "p99 latency of successful requests over time (gaps: no success in that bucket)"
        if series.p99_successes
        else "p99 latency over time, all requests (failures included)"
    )
    return _lines(series, series.p99_ms, title, "p99 (ms, log)", None, log=True)


def attempts_chart(series: ChartSeries) -> Figure:
    top = max((v for s in series.attempts_per_request.values() for v in s if v == v), default=1.0)
    return _lines(
        series, series.attempts_per_request, "Attempts per request over time", "attempts/request",
        (0.0, max(1.5, top * 1.1)),
    )  # fmt: skip


def _shade(ax: Axes, series: ChartSeries, *, label: bool) -> None:
    for window in series.windows:
        ax.axvspan(window.start, window.end, color=FAULT_SHADE, alpha=0.12, lw=0)
        if label:
            ax.text(
                window.start, 1.0, f" {window.label}", transform=ax.get_xaxis_transform(),
                va="bottom", ha="left", fontsize=8, color=FAULT_SHADE, clip_on=False,
            )  # fmt: skip


def _grid(count: int) -> tuple[int, int]:
    cols = 1 if count == 1 else 2 if count <= 4 else 3 if count <= 9 else 4
    return math.ceil(count / cols), cols


def _panels(count: int) -> tuple[Figure, list[Axes], int]:
    """A grid of shared-axis panels with fixed margins (constrained layout costs ~1 s per chart
    at 16 panels: it measures every tick label repeatedly)."""
    rows, cols = _grid(count)
    width, height = 3.6 * cols + 0.4, 2.0 * rows + 1.0
    fig, grid = plt.subplots(
        rows, cols, figsize=(width, height), sharex=True, sharey=True, squeeze=False
    )
    fig.subplots_adjust(
        left=0.7 / width, right=1 - 0.15 / width, top=1 - 0.6 / height, bottom=0.55 / height,
        hspace=0.45, wspace=0.08,
    )  # fmt: skip
    axes = list(grid.flat)
    for index, ax in enumerate(axes):
        ax.set_visible(index < count)
        # x tick labels under the lowest visible panel of each column only
        ax.tick_params(labelbottom=index + cols >= count)
    fig.supxlabel("seconds from start (by intended send time)", fontsize=9, y=0.1 / height)
    return fig, axes[:count], cols


def _lines(
    series: ChartSeries,
    data: Mapping[str, Values],
    title: str,
    ylabel: str,
    ylim: tuple[float, float] | None,
    *,
    log: bool = False,
) -> Figure:
    names = series.strategies
    x = series.times
    if len(names) <= SINGLE_PANEL_MAX:
        fig, ax = plt.subplots(figsize=(11, 4.6), layout="constrained")
        _shade(ax, series, label=True)
        for i, name in enumerate(names):
            label = f"#{series.ranks[name]} {name}"
            width = max(1.0, 2.4 - 0.25 * i)  # earlier (better-ranked) lines wider, drawn first
            ax.plot(x, data[name], color=colour(i), ls=style(i), lw=width, label=label)
        _axes(ax, ylabel, ylim, log)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
        fig.suptitle(title, fontsize=12)
        return fig
    fig, axes, cols = _panels(len(names))
    for index, (ax, name) in enumerate(zip(axes, names, strict=True)):
        _shade(ax, series, label=False)
        others = [list(zip(x, data[o], strict=True)) for o in names if o != name]
        ax.add_collection(LineCollection(others, colors="#c8c8c8", linewidths=0.7, zorder=1))
        ax.plot(x, data[name], color=colour(index), lw=1.6, zorder=3)
        ax.set_title(f"#{series.ranks[name]} {name}", fontsize=9, loc="left", color=colour(index))
        _axes(ax, ylabel if index % cols == 0 else "", ylim, log, small=True)
    shaded = f" (shaded: {', '.join(w.label for w in series.windows)})" if series.windows else ""
    fig.suptitle(f"{title}{shaded}", fontsize=12)
    return fig


def _axes(
    ax: Axes, ylabel: str, ylim: tuple[float, float] | None, log: bool, small: bool = False
) -> None:
    if log:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(numticks=6))
        ax.yaxis.set_minor_locator(NullLocator())  # minor log ticks dominate the drawing time
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    elif ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel, fontsize=8 if small else 10)
    ax.set_xlabel("" if small else "seconds from start (by intended send time)")
    ax.grid(True, alpha=0.3, lw=0.5)
    ax.tick_params(labelsize=7 if small else 9)
    ax.margins(x=0)


def load_chart(series: ChartSeries) -> Figure:
    """Small multiples per strategy; one line per region, as a multiple of its capacity."""
    names = series.strategies
    fig, axes, cols = _panels(len(names))
    regions: list[str] = sorted({r for loads in series.region_load.values() for r in loads})
    top = max((v for s in series.region_load.values() for vs in s.values() for v in vs), default=1)
    for index, (ax, name) in enumerate(zip(axes, names, strict=True)):
        _shade(ax, series, label=False)
        ax.axhline(1.0, color="black", lw=0.9, ls="--", zorder=2)
        for r, region in enumerate(regions):
            values = series.region_load[name].get(region)
            if values is not None:
                ax.plot(series.times, values, color=REGION_COLOURS[r % len(REGION_COLOURS)], lw=1.2,
                        label=region, zorder=3)  # fmt: skip
        ax.set_title(f"#{series.ranks[name]} {name}", fontsize=9, loc="left")
        ax.set_ylim(0, max(1.2, top * 1.08))
        _axes(ax, "load / capacity" if index % cols == 0 else "", None, False, small=True)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", bbox_to_anchor=(0.985, 0.995),
               ncols=max(1, len(regions)), frameon=False, fontsize=9)  # fmt: skip
    fig.suptitle("Load per region ÷ capacity (dashed: capacity)", fontsize=12, x=0.02, ha="left")
    return fig
