"""report.html: ONE self-contained file: inline CSS, charts as base64 PNG, no external assets."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape

from harness.compare.model import METRIC_BY_KEY, Comparison
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
    repeats_text,
    run_status,
    slo_status,
    verdict_rows,
    verdict_text,
)

CHART_TITLES = {
    "success": "Success ratio over time",
    "p99": "p99 latency of successful requests over time (log scale)",
    "attempts": "Attempts per request over time",
    "load": "Load per region vs capacity",
}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#f3f3f3;position:sticky;top:0}
td.name,th.name{text-align:left}
td.bad{background:#fde2e2;color:#a00;font-weight:bold}
tr.saturated td.name::after{content:" ⚠";color:#b60}
.note{color:#555;font-size:13px;max-width:70em}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0 1.5em}
ul.violations li{color:#a00}
div.scroll{overflow-x:auto}
"""


def _table(
    head: Sequence[str], rows: Sequence[tuple[str, Sequence[tuple[str, str]]]], left: int = 1
) -> str:
    """rows: (row class, [(cell class, text)]); the first `left` headers align left."""
    th = "".join(
        f'<th class="{"name" if i < left else ""}">{escape(h)}</th>' for i, h in enumerate(head)
    )
    body = "".join(
        f'<tr class="{cls}">' + "".join(f'<td class="{c}">{escape(t)}</td>' for c, t in cells)
        + "</tr>"
        for cls, cells in rows
    )  # fmt: skip
    table = f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def render_html(c: Comparison, charts: Mapping[str, bytes]) -> str:
    cols = columns(c)
    bad = bad_cells(c)
    rows = []
    for row in c.rows:
        cells = [("", rank_text(row)), ("name", row.strategy)]
        cells += [
            ("bad" if (row.strategy, col.key) in bad else "", cell(c, row.strategy, col))
            for col in cols
        ]
        rows.append(("saturated" if row.saturated else "", cells))
    repeats = repeats_text(c)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Comparison: {escape(c.scenario)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Comparison: {escape(c.scenario)}</h1>",
        f'<p class="note">{escape(repeats)}; baseline <b>{escape(c.baseline)}</b>; '
        f"home region{'s' if ', ' in c.home_region else ''} {escape(c.home_region)}. "
        f"{escape(RANK_TEXT)}</p>",
        f'<p class="note"><b>{escape(verdict_text(c))}</b></p>',
        f'<p class="note">{escape(deadline_line(c).replace("`", ""))}</p>'
        if deadline_line(c)
        else "",
        _table(["#", "strategy", *(col.header for col in cols)], rows, left=2),
        _legend(c, [col.key for col in cols]),
        "<h2>Ties and gaps between neighbours</h2>",
        _table(
            VERDICT_HEAD,
            [("", [("name", r[0]), *(("", t) for t in r[1:])]) for r in verdict_rows(c)],
        ),
        _slos(c),
    ]
    for name, png in charts.items():
        data = base64.b64encode(png).decode("ascii")
        title = CHART_TITLES.get(name, name)
        parts.append(f"<h2>{escape(title)}</h2>")
        parts.append(f'<img alt="{escape(title)}" src="data:image/png;base64,{data}">')
    parts += [_faults(c), _fleet(c), _runs(c), "</body></html>"]
    return "\n".join(parts) + "\n"


def _legend(c: Comparison, keys: Sequence[str]) -> str:
    items = [
        f"<li><b>{escape(METRIC_BY_KEY[k].label)}</b>: {escape(METRIC_BY_KEY[k].legend)}</li>"
        for k in keys
        if not k.startswith("ratio:")
    ]
    items += [f"<li>{escape(line)}</li>" for line in ratio_legend(c)]
    items.append(
        f"<li>after recovery starts {c.settle_s:g} s after the last fault ends; "
        f"recovery window {c.recovery_window_s:g} s; ⚠: load generator saturated</li>"
    )
    return f'<details class="note"><summary>Legend</summary><ul>{"".join(items)}</ul></details>'


def _slos(c: Comparison) -> str:
    status = slo_status(c)
    if status is not None:
        return f'<p class="note">{escape(status)}</p>'
    items = "".join(f"<li>{escape(v.message)}</li>" for v in c.violations)
    return f'<h2>SLO violations ({len(c.violations)})</h2><ul class="violations">{items}</ul>'


def _faults(c: Comparison) -> str:
    parts = []
    for fault in c.faults:
        span = fault_span(fault)
        parts.append(f"<h2>Fault {fault.index + 1}: {escape(fault.label)}, {escape(span)}</h2>")
        rows = [
            ("", [("name", strategy), *(("", text) for text in texts)])
            for strategy, *texts in fault_rows(c, fault)
        ]
        parts.append(_table(FAULT_HEAD, rows))
    return "\n".join(parts)


def _fleet(c: Comparison) -> str:
    rows = [
        ("", [("name", name), *(("", text) for text in texts)]) for name, *texts in fleet_rows(c)
    ]
    if not rows:
        return ""
    return f'<h2>Fleet</h2><p class="note">{escape(FLEET_NOTE)}</p>' + _table(FLEET_HEAD, rows)


def _runs(c: Comparison) -> str:
    rows = [
        ("", [("name", r.name), ("", str(r.seed)), ("", r.clock), ("", f"{r.elapsed:.1f}"),
              ("", f"{r.wall_seconds:.1f}"), ("name", run_status(r))])
        for r in c.runs
    ]  # fmt: skip
    return "<h2>Runs</h2>" + _table(["run", "seed", "clock", "elapsed s", "wall s", "status"], rows)
