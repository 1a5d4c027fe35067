"""Charts of a comparison as PNG bytes (matplotlib, Agg backend: no display needed).

Readable with many strategies: up to SINGLE_PANEL_MAX strategies share one plot (distinct colours,
legend outside the plot); beyond that, small multiples — one panel per strategy, in rank order,
with every other strategy drawn faintly grey behind it for context. Each fault window has its
own shade (overlapping windows stay distinguishable) and a legend maps shade to fault. Every chart
says which seeds it pools.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from harness.report.series import SINGLE_PANEL_MAX, ChartSeries

# Qualitative, 20 distinct hues: tab10, then ten darker or off-axis colours.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#e6ab02", "#637939", "#843c39", "#7b4173", "#1b9e77",
    "#fb9a99", "#a6761d", "#6a3d9a", "#000000",
)  # fmt: skip
STYLES = ("-", "--", "-.", ":")
REGION_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
# One shade per fault window, in timeline order; light enough that lines stay readable on top.
FAULT_SHADES = ("#d62728", "#1f77b4", "#ff7f0e", "#9467bd", "#2ca02c", "#8c564b", "#e377c2")
FAULT_ALPHA = 0.14

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


def fault_shade(index: int) -> str:
    return FAULT_SHADES[index % len(FAULT_SHADES)]


def _shade(ax: Axes, series: ChartSeries) -> None:
    for index, window in enumerate(series.windows):
        ax.axvspan(window.start, window.end, color=fault_shade(index), alpha=FAULT_ALPHA, lw=0)


def _fault_handles(series: ChartSeries) -> list[Patch]:
    return [
        Patch(color=fault_shade(i), alpha=FAULT_ALPHA * 2,
              label=f"fault {i + 1}: {w.label} ({w.start:.0f}–{w.end:.0f} s)")
        for i, w in enumerate(series.windows)
    ]  # fmt: skip


def _fault_legend(fig: Figure, series: ChartSeries) -> None:
    """Shade → fault, under the plot (a figure legend: the axes legend names strategies)."""
    handles = _fault_handles(series)
    if handles:
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 0.0),
                   ncols=min(3, len(handles)), frameon=False, fontsize=8)  # fmt: skip


def _title(fig: Figure, title: str, series: ChartSeries, **kwargs: object) -> None:
    fig.suptitle(f"{title}\n{series.seeds_text}", fontsize=11, **kwargs)


def _grid(count: int) -> tuple[int, int]:
    cols = 1 if count == 1 else 2 if count <= 4 else 3 if count <= 9 else 4
    return math.ceil(count / cols), cols


def _panels(count: int, legend_rows: int = 0) -> tuple[Figure, list[Axes], int]:
    """A grid of shared-axis panels with fixed margins (constrained layout costs ~1 s per chart
    at 16 panels: it measures every tick label repeatedly); `legend_rows` of fault legend below."""
    rows, cols = _grid(count)
    legend = 0.22 * legend_rows
    width, height = 3.6 * cols + 0.4, 2.0 * rows + 1.3 + legend
    fig, grid = plt.subplots(
        rows, cols, figsize=(width, height), sharex=True, sharey=True, squeeze=False
    )
    fig.subplots_adjust(
        left=0.7 / width, right=1 - 0.15 / width, top=1 - 0.85 / height,
        bottom=(0.55 + legend) / height, hspace=0.45, wspace=0.08,
    )  # fmt: skip
    axes = list(grid.flat)
    for index, ax in enumerate(axes):
        ax.set_visible(index < count)
        # x tick labels under the lowest visible panel of each column only
        ax.tick_params(labelbottom=index + cols >= count)
    fig.supxlabel(
        "seconds from start (by intended send time)", fontsize=9, y=(0.1 + legend) / height
    )
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
        fig, ax = plt.subplots(figsize=(11, 4.6 + 0.25 * _legend_rows(series)))
        fig.subplots_adjust(left=0.07, right=0.78, top=0.86,
                            bottom=0.14 + 0.06 * _legend_rows(series))  # fmt: skip
        _shade(ax, series)
        for i, name in enumerate(names):
            label = f"#{series.ranks[name]} {name}"
            width = max(1.0, 2.4 - 0.25 * i)  # earlier (better-ranked) lines wider, drawn first
            ax.plot(x, data[name], color=colour(i), ls=style(i), lw=width, label=label)
        _axes(ax, ylabel, ylim, log)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
        _fault_legend(fig, series)
        _title(fig, title, series)
        return fig
    fig, axes, cols = _panels(len(names), _legend_rows(series))
    for index, (ax, name) in enumerate(zip(axes, names, strict=True)):
        _shade(ax, series)
        others = [list(zip(x, data[o], strict=True)) for o in names if o != name]
        ax.add_collection(LineCollection(others, colors="#c8c8c8", linewidths=0.7, zorder=1))
        ax.plot(x, data[name], color=colour(index), lw=1.6, zorder=3)
        ax.set_title(f"#{series.ranks[name]} {name}", fontsize=9, loc="left", color=colour(index))
        _axes(ax, ylabel if index % cols == 0 else "", ylim, log, small=True)
    _fault_legend(fig, series)
    _title(fig, title, series)
    return fig


def _legend_rows(series: ChartSeries) -> int:
    return math.ceil(len(series.windows) / 3)


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
    """Small multiples per strategy; one line per region, as a multiple of its capacity. The
    y axis is scaled to the data (a shared fixed 0–1.2 axis left light loads flat at the bottom);
    the capacity line is drawn where it falls inside the axis, and the title says when it does
    not."""
    names = series.strategies
    fig, axes, cols = _panels(len(names), _legend_rows(series))
    regions: list[str] = sorted({r for loads in series.region_load.values() for r in loads})
    top = max(
        (v for s in series.region_load.values() for vs in s.values() for v in vs if v == v),
        default=0.0,
    )
    ceiling = top * 1.15 if top > 0 else 1.0
    for index, (ax, name) in enumerate(zip(axes, names, strict=True)):
        _shade(ax, series)
        if ceiling >= 1.0:
            ax.axhline(1.0, color="black", lw=0.9, ls="--", zorder=2)
        for r, region in enumerate(regions):
            values = series.region_load[name].get(region)
            if values is not None:
                ax.plot(series.times, values, color=REGION_COLOURS[r % len(REGION_COLOURS)], lw=1.2,
                        label=region, zorder=3)  # fmt: skip
        ax.set_title(f"#{series.ranks[name]} {name}", fontsize=9, loc="left")
        ax.set_ylim(0, ceiling)
        _axes(ax, "load / capacity" if index % cols == 0 else "", None, False, small=True)
    # One legend for every region drawn in any panel (the first panel may lack some, or all)
    handles: dict[str, Artist] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        drawn = [region for region in regions if region in handles]
        axes[0].legend([handles[r] for r in drawn], drawn, loc="upper right", fontsize=7,
                       frameon=True, framealpha=0.8)  # fmt: skip
    _fault_legend(fig, series)
    capacity = (
        "dashed: capacity"
        if ceiling >= 1.0
        else f"peak {top:.2g}× capacity: capacity (1.0) is above this axis"
    )
    _title(fig, f"Load per region ÷ capacity ({capacity})", series, x=0.02, ha="left")
    return fig
