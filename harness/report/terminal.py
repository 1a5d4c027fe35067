"""The scoreboard in a terminal (rich): as many columns as fit the width, never a cut number.

Columns are added in order of importance (rank, strategy, the ranked availability with its
interval, its ratio to the baseline, p99 of successes, ...) while the table still fits; the
caption names what was left out and where to find it (comparison.md, --format md)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from harness.compare.model import Comparison
from harness.report.fmt import (
    Column,
    bad_cells,
    cell,
    columns,
    deadline_line,
    rank_text,
    verdict_text,
)

# Order of importance after rank and strategy; the rest of the compact columns follow.
_PRIORITY = (
    "availability_during_fault",
    "ratio:availability_during_fault",
    "availability",
    "ratio:availability",
    "p99_ok_ms",
    "attempts_per_request",
    "recovery_s",
    "time_to_first_success_s",
    "peak_load",
    "availability_after_recovery",
    "ratio:p99_ok_ms",
)
_BORDER = 4  # "│ " + " │" around the table
_GAP = 3  # " │ " between columns
_SATURATED = " ⚠"


def _width(texts: list[str]) -> int:
    return max(len(t) for t in texts)


def fit_columns(c: Comparison, width: int) -> tuple[list[Column], list[Column]]:
    """(shown, left out): the compact columns by importance, as many as fit `width`."""
    cols = columns(c, detail="compact")
    order = {key: i for i, key in enumerate(_PRIORITY)}
    ranked = sorted(cols, key=lambda col: order.get(col.key, len(order)))
    used = _BORDER + _width(["#", *(rank_text(r) for r in c.rows)])
    used += _GAP + _width(["strategy", *(r.strategy + _SATURATED for r in c.rows)])
    shown: list[Column] = []
    left: list[Column] = []
    for col in ranked:
        metric = col.key.removeprefix("ratio:")
        if metric != col.key and metric not in {s.key for s in shown}:
            continue  # a ratio means nothing without its metric beside it
        need = _GAP + _width([col.header, *(cell(c, r.strategy, col) for r in c.rows)])
        if used + need <= width:
            shown.append(col)
            used += need
        else:
            left.append(col)
    keep = {col.key for col in shown}
    return [col for col in cols if col.key in keep], left


def scoreboard_table(c: Comparison, width: int = 200) -> Table:
    shown, left = fit_columns(c, width)
    caption = verdict_text(c)
    if deadline_line(c):
        caption += " " + deadline_line(c).replace("`", "")
    if c.violations:
        caption += " Red: SLO violated."
    if left:
        caption += (
            f" Not shown at this width: {', '.join(col.header for col in left)}"
            " (see comparison.md, or --format md)."
        )
    repeats = f"{c.repeats} seeds, estimate [95 % interval]" if c.repeats > 1 else "1 run"
    table = Table(
        title=f"{c.scenario}: {repeats}, baseline {c.baseline}",
        caption=caption,
        caption_justify="left",
        padding=(0, 1),
    )
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("strategy", no_wrap=True)
    for col in shown:
        table.add_column(col.header, justify="right", no_wrap=True)
    bad = bad_cells(c)
    for row in c.rows:
        name = Text(row.strategy)
        if row.saturated:
            name.append(_SATURATED, style="yellow")
        cells = [
            Text(
                cell(c, row.strategy, col),
                style="bold red" if (row.strategy, col.key) in bad else "",
            )
            for col in shown
        ]
        table.add_row(rank_text(row), name, *cells)
    return table
