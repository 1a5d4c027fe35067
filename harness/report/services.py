"""The service tier in the reports: a small table per service and a dependency graph whose nodes
carry a strip of their availability over time (green ok, red failing, grey idle), so the spread
from one DNS record to every tier that depends on it is visible at a glance.

Read from the `services` section of a run's summary.json (harness.services.report): the report
directory itself (`harness run`), or its runs' directories (`harness compare`; the first seed's
run with services is drawn, and named).
"""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path
from typing import Any

from harness.compare.rundir import run_summaries

GRAPH_TITLE = "Dependency graph: availability over time per node"


def load_services(directory: Path) -> tuple[str, dict[str, Any]] | None:
    """(run label, services section) of the first run that has one, or None."""
    for summary in run_summaries(directory):
        section = summary.get("services")
        if isinstance(section, dict) and section.get("tiers"):
            return f"seed {summary.get('seed')}", section
    return None


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f} %"


def table_rows(section: dict[str, Any]) -> list[list[str]]:
    """service, kind, where, requests, availability, failed calls, leases (min held, recovery)."""
    rows = []
    for name, tier in section["tiers"].items():
        where = ", ".join(tier["regions"]) + (f" (global: {tier['home']})" if tier["home"] else "")
        failed = sum(
            count
            for outcomes in tier["calls"].values()
            for outcome, count in outcomes.items()
            if outcome != "ok"
        )
        calls = sum(count for outcomes in tier["calls"].values() for count in outcomes.values())
        leases = tier.get("leases")
        lease_text = "–"
        if leases:
            recovered = leases["recovery_after_fault_s"]
            back = "not recovered" if recovered is None else f"back {recovered:g} s after the fault"
            lease_text = f"min {_pct(leases['held_min'])} held; {back}"
        rows.append(
            [
                name,
                tier["kind"],
                where,
                str(tier["requests"]),
                _pct(tier["availability"]),
                f"{failed}/{calls}",
                lease_text,
            ]
        )
    return rows


HEAD = ["service", "kind", "regions", "requests", "availability", "failed calls", "leases"]


def services_markdown(label: str, section: dict[str, Any]) -> str:
    lines = ["", "## Services", "", f"The service tier of the run ({label}).", ""]
    lines.append("| " + " | ".join(HEAD) + " |")
    lines.append("|" + "|".join("---" for _ in HEAD) + "|")
    for row in table_rows(section):
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def services_html(label: str, section: dict[str, Any], graph: bytes) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in HEAD)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
        for row in table_rows(section)
    )
    data = base64.b64encode(graph).decode("ascii")
    return (
        f'<h2>Services</h2><p class="note">The service tier of the run ({escape(label)}).</p>'
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
        f"</table></div><h2>{escape(GRAPH_TITLE)}</h2>"
        f'<img alt="{escape(GRAPH_TITLE)}" src="data:image/png;base64,{data}">'
    )


def _levels(nodes: list[str], edges: list[list[str]]) -> dict[str, int]:
    """0 for nodes that call nothing (DynamoDB), else one more than the deepest callee."""
    callees: dict[str, list[str]] = {n: [] for n in nodes}
    for caller, callee in edges:
        callees.setdefault(caller, []).append(callee)
    level: dict[str, int] = {}

    def depth(node: str, seen: frozenset[str]) -> int:
        if node in level:
            return level[node]
        below = [depth(c, seen | {node}) for c in callees.get(node, []) if c not in seen]
        level[node] = 1 + max(below) if below else 0
        return level[node]

    for node in nodes:
        depth(node, frozenset())
    return level


def graph_png(section: dict[str, Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib import pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    graph = section["graph"]
    nodes = sorted(graph["nodes"])
    levels = _levels(nodes, graph["edges"])
    top = max(levels.values(), default=0)
    columns: dict[int, list[str]] = {}
    for node in nodes:
        columns.setdefault(top - levels[node], []).append(node)
    rows = max(len(c) for c in columns.values())
    fig = plt.figure(figsize=(3.4 * (top + 1) + 1, 1.1 * rows + 1.2), dpi=100)
    width, height = 0.7 / (top + 1), 0.45 / rows
    boxes: dict[str, tuple[float, float, float, float]] = {}
    cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#dddddd")
    fault_end = section.get("fault_end")
    for column, members in sorted(columns.items()):
        x = 0.05 + column * (0.9 / (top + 1))
        for i, node in enumerate(members):
            y = 0.85 - (i + 1) * (0.8 / rows) + 0.1 / rows
            ax = fig.add_axes((x, y, width, height))
            values = [np.nan if v is None else v for v in graph["nodes"][node]["timeline"]]
            ax.imshow([values], aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            if fault_end is not None:
                ax.axvline(fault_end, color="black", linewidth=0.8, linestyle=":")
            ax.set_yticks([])
            ax.tick_params(axis="x", labelsize=7)
            ax.set_title(f"{node} ({graph['nodes'][node]['kind']})", fontsize=8, loc="left")
            boxes[node] = (x, y, width, height)
    for caller, callee in graph["edges"]:
        if caller not in boxes or callee not in boxes:
            continue
        cx, cy, cw, ch = boxes[caller]
        tx, ty, _, th = boxes[callee]
        arrow = FancyArrowPatch(
            (cx + cw, cy + ch / 2),
            (tx, ty + th / 2),
            transform=fig.transFigure,
            arrowstyle="-|>",
            mutation_scale=10,
            color="#555555",
            connectionstyle="arc3,rad=0.05",
        )
        fig.patches.append(arrow)
    fig.suptitle(
        "Each strip: availability per second (green 100 %, red 0 %, grey idle); "
        "dotted line: end of the last fault. Arrows: calls.",
        fontsize=8,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
