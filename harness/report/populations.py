"""Client populations in the reports: with clients in several home regions, one row per strategy
and home region (the `populations` of each strategy in a run's summary.json), so a failure that
hits one region's clients and spares another's is not averaged away in the scoreboard.

Read from the report directory's summary.json (`harness run`) or its runs' (`harness compare`;
the first seed's run is shown, and named), as the service tier is (harness.report.services).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.compare.rundir import run_summaries

if TYPE_CHECKING:
    from rich.table import Table

HEAD = [
    "strategy",
    "home region",
    "share",
    "requests",
    "availability",
    "during faults",
    "after",
    "p50 ok ms",
    "p99 ok ms",
    "failures",
]
NOTE = (
    "Each population's own figures: its clients live in that region, resolve and call its "
    "DynamoDB first, and pay the round trips from there. During faults: requests intended "
    "inside a fault window; after: after the last one ended."
)


def load_populations(directory: Path) -> tuple[str, list[list[str]]] | None:
    """(run label, table rows) of the first run whose clients live in several regions."""
    for summary in run_summaries(directory):
        rows = table_rows(summary)
        if rows:
            return f"seed {summary.get('seed')}", rows
    return None


def table_rows(summary: dict[str, Any]) -> list[list[str]]:
    shares = {
        str(p.get("home")): p.get("share")
        for p in summary.get("populations") or ()
        if isinstance(p, dict)
    }
    rows = []
    for name, entry in (summary.get("strategies") or {}).items():
        populations = entry.get("populations") if isinstance(entry, dict) else None
        if not isinstance(populations, dict):
            continue
        for home, figures in populations.items():
            latency = figures.get("latency_ok_ms") or {}
            rows.append(
                [
                    name,
                    home,
                    _pct(shares.get(home), 0),
                    str(figures.get("requests", 0)),
                    _ratio(figures.get("availability")),
                    _ratio(figures.get("availability_during_fault")),
                    _ratio(figures.get("availability_after_fault")),
                    _ms(latency.get("p50")),
                    _ms(latency.get("p99")),
                    _failures(figures.get("outcomes") or {}),
                ]
            )
    return rows


def _pct(value: Any, digits: int) -> str:
    return "–" if value is None else f"{100 * float(value):.{digits}f} %"


def _ratio(value: Any) -> str:
    return "–" if value is None else f"{float(value):.4f}"


def _ms(value: Any) -> str:
    return "–" if value is None else f"{float(value):.0f}"


def _failures(outcomes: dict[str, int]) -> str:
    """The two commonest failure outcomes with their counts, or —."""
    failed = sorted(((n, o) for o, n in outcomes.items() if o != "ok"), reverse=True)
    return ", ".join(f"{o} {n:,}" for n, o in failed[:2]) or "—"


def populations_markdown(label: str, rows: list[list[str]]) -> str:
    lines = ["", "## Per home region", "", f"{NOTE} The run: {label}.", ""]
    lines.append("| " + " | ".join(HEAD) + " |")
    lines.append("|" + "|".join("---" for _ in HEAD) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def populations_html(label: str, rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in HEAD)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        f'<h2>Per home region</h2><p class="note">{escape(NOTE)} The run: {escape(label)}.</p>'
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
        "</table></div>"
    )


def populations_table(label: str, rows: list[list[str]]) -> Table:
    """The same table for the terminal (rich)."""
    from rich.table import Table

    table = Table(title=f"Per home region ({label})", title_justify="left")
    for index, head in enumerate(HEAD):
        left = index < 2 or index == len(HEAD) - 1
        table.add_column(head, justify="left" if left else "right")
    for row in rows:
        table.add_row(*row)
    return table
