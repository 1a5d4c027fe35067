"""The scoreboard in a terminal (rich): compact columns, SLO violations in red."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from harness.compare.model import Comparison
from harness.report.fmt import bad_cells, cell, columns, deadline_line


def scoreboard_table(c: Comparison) -> Table:
    repeats = f"{c.repeats} repeats, mean ± 95 % CI" if c.repeats > 1 else "1 run"
    table = Table(
        title=f"{c.scenario}: {repeats}, baseline {c.baseline}",
        caption="ranked by availability during faults, then overall, then p99"
        + ("; red: SLO violated" if c.violations else "")
        + (f"\n{deadline_line(c).replace('`', '')}" if deadline_line(c) else ""),
    )
    cols = columns(c, detail="compact")
    table.add_column("#", justify="right")
    table.add_column("strategy")
    for col in cols:
        table.add_column(col.header, justify="right")
    bad = bad_cells(c)
    for row in c.rows:
        name = Text(row.strategy)
        if row.saturated:
            name.append(" ⚠ saturated", style="yellow")
        cells = [
            Text(
                cell(c, row.strategy, col),
                style="bold red" if (row.strategy, col.key) in bad else "",
            )
            for col in cols
        ]
        table.add_row(str(row.rank), name, *cells)
    return table
