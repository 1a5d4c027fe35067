"""comparison.md: the scoreboard as GitHub Markdown, ready for a pull request or a post-mortem."""

from __future__ import annotations

from collections.abc import Sequence

from harness.compare.model import METRIC_BY_KEY, Comparison, FaultWindowRow
from harness.report.fleet import FLEET_HEAD, FLEET_NOTE, fleet_rows
from harness.report.fmt import (
    FAULT_HEAD,
    RANK_TEXT,
    VERDICT_HEAD,
    bad_cells,
    cell,
    columns,
    deadline_line,
    fault_rows,
    fault_span,
    rank_text,
    ratio_legend,
    run_status,
    slo_status,
    summary_line,
    verdict_rows,
    verdict_text,
)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """A GitHub table; the first `left` columns and the last (text) columns align left."""
    align = ["---" if i < left else "---:" for i in range(len(head))]
    lines = ["| " + " | ".join(_escape(h) for h in head) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_escape(v) for v in row) + " |" for row in rows]
    return lines


def render_markdown(c: Comparison) -> str:
    cols = columns(c, detail="markdown")
    bad = bad_cells(c)
    rows = []
    for row in c.rows:
        name = f"`{row.strategy}`" + (" ⚠" if row.saturated else "")
        cells = []
        for col in cols:
            text = cell(c, row.strategy, col)
            cells.append(f"**{text}** ✗" if (row.strategy, col.key) in bad else text)
        rows.append([rank_text(row), name, *cells])
    out = [f"# Comparison: {c.scenario}", "", summary_line(c), ""]
    if deadline_line(c):
        out += [deadline_line(c), ""]
    out += [verdict_text(c), ""]
    out += _table(["#", "strategy", *(col.header for col in cols)], rows, left=2)
    out += ["", *_legend(c, [col.key for col in cols]), ""]
    out += ["## Ties and gaps between neighbours", ""]
    out += _table(VERDICT_HEAD, verdict_rows(c)) if c.verdict.neighbours else ["(one strategy)"]
    out += [""]
    out += _slo_section(c)
    for fault in c.faults:
        out += ["", *_fault_section(c, fault)]
    if fleet := fleet_rows(c):
        out += ["", "## Fleet", "", FLEET_NOTE, "", *_table(FLEET_HEAD, fleet)]
    out += ["", "## Runs", ""]
    out += _table(
        ["run", "status", "clock", "seed", "elapsed s", "wall s"],
        [
            [f"`{r.name}`", run_status(r), r.clock, str(r.seed), f"{r.elapsed:.1f}",
             f"{r.wall_seconds:.1f}"]
            for r in c.runs
        ],
        left=3,
    )  # fmt: skip
    return "\n".join(out) + "\n"


def _legend(c: Comparison, keys: Sequence[str]) -> list[str]:
    lines = ["<details><summary>Legend</summary>", ""]
    for key in keys:
        if key.startswith("ratio:"):
            continue
        info = METRIC_BY_KEY[key]
        lines.append(f"- **{info.label}**{f' ({info.unit})' if info.unit else ''}: {info.legend}")
    lines += [
        *(f"- {line}" for line in ratio_legend(c)),
        f"- fault windows by intended start; after recovery starts {c.settle_s:g} s after the last "
        f"fault ends; recovery window {c.recovery_window_s:g} s",
        f"- {RANK_TEXT}",
        "- ✗: violates the scenario's SLO; ⚠: the load generator saturated, numbers suspect",
        "",
        "</details>",
    ]
    return lines


def _slo_section(c: Comparison) -> list[str]:
    status = slo_status(c)
    if status is not None:
        return [status]
    lines = [f"## SLO violations ({len(c.violations)})", ""]
    lines += [f"- {v.message}" for v in c.violations]
    return lines


def _fault_section(c: Comparison, fault: FaultWindowRow) -> list[str]:
    until = "" if fault.reverted else " (not reverted before the end)"
    span = fault_span(fault)
    lines = [f"## Fault {fault.index + 1}: `{fault.fault}` on {fault.target}, {span}{until}", ""]
    return lines + _table(FAULT_HEAD, fault_rows(c, fault))
