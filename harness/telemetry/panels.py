"""Grafana dashboard building blocks as plain dicts (Grafana 10/11, schemaVersion 39), plus PromQL
helpers that take metric names from the catalog, so a renamed metric cannot leave a stale query.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from harness.telemetry.catalog import FAULT_ACTIVE, PHASE, REQUESTS, MetricDef, MetricType

Json = dict[str, Any]

DATASOURCE_UID = "harness-prom"  # fixed in grafana/provisioning/datasources/prometheus.yaml
DATASOURCE: Json = {"type": "prometheus", "uid": DATASOURCE_UID}
SCHEMA_VERSION = 39
GRID_WIDTH = 24
STRATEGY_VARIABLE = "strategy"
STRATEGY_QUERY = f"label_values({REQUESTS.name}, strategy)"

# ---- PromQL -------------------------------------------------------------------------------------


def sel(d: MetricDef, suffix: str = "", **matchers: str) -> str:
    """`name{strategy=~"$strategy", ...}`; a value "!x" means label != "x", "~x" means =~ "x"."""
    parts = [f'strategy=~"${STRATEGY_VARIABLE}"'] if "strategy" in d.labels else []
    for label, value in matchers.items():
        extra = ("quantile",) if d.type is MetricType.SUMMARY else ()
        if label not in d.labels + extra:
            raise ValueError(f"{d.name} has no label {label!r}")
        op, text = {"!": ("!=", value[1:]), "~": ("=~", value[1:])}.get(value[:1], ("=", value))
        parts.append(f'{label}{op}"{text}"')
    name = d.name + suffix
    return f"{name}{{{','.join(parts)}}}" if parts else name


def rate(d: MetricDef, suffix: str = "", **matchers: str) -> str:
    return f"rate({sel(d, suffix, **matchers)}[$__rate_interval])"


def sum_rate(d: MetricDef, by: str, **matchers: str) -> str:
    return f"sum by ({by}) ({rate(d, **matchers)})"


def quantile(q: float, d: MetricDef, by: str = "strategy", **matchers: str) -> str:
    return f"histogram_quantile({q:g}, sum by ({by}, le) ({rate(d, '_bucket', **matchers)}))"


def ratio_or_zero(part: str, whole: str) -> str:
    """part / whole, with 0 instead of no data where `part` has no series yet."""
    return f"({part} or {whole} * 0) / {whole}"


# ---- panels -------------------------------------------------------------------------------------


def target(expr: str, legend: str, ref: str = "A") -> Json:
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend,
        "range": True,
        "refId": ref,
    }


def _targets(queries: Iterable[tuple[str, str]]) -> list[Json]:
    return [target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(queries)]


def timeseries(
    title: str,
    description: str,
    queries: Iterable[tuple[str, str]],
    *,
    unit: str = "short",
    log: bool = False,
    minimum: float | None = 0,
    maximum: float | None = None,
    w: int = 12,
    h: int = 8,
) -> Json:
    defaults: Json = {
        "unit": unit,
        "custom": {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
            "scaleDistribution": {"type": "log", "log": 10} if log else {"type": "linear"},
        },
    }
    if minimum is not None and not log:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": _targets(queries),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "gridPos": {"h": h, "w": w},
    }


def state_timeline(
    title: str,
    description: str,
    queries: Iterable[tuple[str, str]],
    states: dict[int, tuple[str, str]],
    *,
    w: int = 24,
    h: int = 6,
) -> Json:
    """Discrete states over time; `states` maps value -> (text, colour)."""
    mapping = {
        str(v): {"text": t, "color": c, "index": i} for i, (v, (t, c)) in enumerate(states.items())
    }
    steps = [
        {"color": c, "value": None if i == 0 else v} for i, (v, (_, c)) in enumerate(states.items())
    ]
    return {
        "type": "state-timeline",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": _targets(queries),
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "thresholds"},
                "mappings": [{"type": "value", "options": mapping}],
                "thresholds": {"mode": "absolute", "steps": steps},
                "custom": {"fillOpacity": 80, "lineWidth": 0},
            },
            "overrides": [],
        },
        "options": {
            "mergeValues": True,
            "showValue": "never",
            "alignValue": "left",
            "rowHeight": 0.9,
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False},
            "tooltip": {"mode": "single", "sort": "none"},
        },
        "gridPos": {"h": h, "w": w},
    }


def stat(title: str, description: str, expr: str, *, unit: str = "short", w: int = 6) -> Json:
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": _targets([(expr, "")]),
        "fieldConfig": {"defaults": {"unit": unit, "color": {"mode": "fixed"}}, "overrides": []},
        "options": {"colorMode": "value", "graphMode": "none", "reduceOptions": {
            "calcs": ["lastNotNull"], "fields": "", "values": False}},
        "gridPos": {"h": 5, "w": w},
    }  # fmt: skip


def row(title: str) -> Json:
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"h": 1}}


def fault_timeline(w: int = 24) -> Json:
    return state_timeline(
        "Faults",
        "harness_fault_active: red while a fault is applied.",
        [(f"max by (fault, target) ({FAULT_ACTIVE.name})", "{{fault}} {{target}}")],
        {0: ("off", "transparent"), 1: ("active", "red")},
        w=w,
        h=5,
    )


def layout(panels: list[Json]) -> list[Json]:
    """Assign ids and grid positions left to right, top to bottom; rows span the full width."""
    x = y = line_height = 0
    placed: list[Json] = []
    for panel_id, panel in enumerate(panels, start=1):
        if panel["type"] == "row":
            panel["gridPos"]["w"] = GRID_WIDTH
        w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if x + w > GRID_WIDTH or panel["type"] == "row":
            x, y, line_height = 0, y + line_height, 0
        placed.append(panel | {"id": panel_id, "gridPos": {"h": h, "w": w, "x": x, "y": y}})
        x, line_height = x + w, max(line_height, h)
        if panel["type"] == "row":
            x, y, line_height = 0, y + h, 0
    return placed


def strategy_variable() -> Json:
    return {
        "name": STRATEGY_VARIABLE,
        "label": "Strategy",
        "type": "query",
        "datasource": DATASOURCE,
        "definition": STRATEGY_QUERY,
        "query": {"qryType": 1, "query": STRATEGY_QUERY, "refId": "StrategyVariable"},
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "sort": 1,
        "hide": 0,
        "regex": "",
        "skipUrlSync": False,
    }


def annotation_list() -> list[Json]:
    """Fault windows (red) and scenario phases (blue) drawn as regions on every time panel."""
    builtin: Json = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    faults = _annotation(
        "Faults", f"max by (fault, target) ({FAULT_ACTIVE.name}) > 0", "{{fault}} on {{target}}",
        "fault,target", "rgba(245, 54, 54, 0.5)",
    )  # fmt: skip
    phases = _annotation(
        "Phases", f"max by (phase) ({PHASE.name}) > 0", "phase {{phase}}", "phase",
        "rgba(50, 116, 217, 0.3)",
    )  # fmt: skip
    return [builtin, faults, phases]


def _annotation(name: str, expr: str, title: str, tags: str, colour: str) -> Json:
    return {
        "name": name,
        "enable": True,
        "hide": False,
        "iconColor": colour,
        "datasource": DATASOURCE,
        "expr": expr,
        "step": "1s",
        "titleFormat": title,
        "tagKeys": tags,
        "textFormat": "",
        "useValueForTime": False,
        "target": {"expr": expr, "refId": "Anno", "interval": "1s"},
    }


def dashboard(
    uid: str, title: str, description: str, panels: list[Json], links: list[Json]
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["harness"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "5s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-15m", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "templating": {"list": [strategy_variable()]},
        "annotations": {"list": annotation_list()},
        "links": links,
        "panels": layout(panels),
    }


def queries(dash: Json) -> Iterator[tuple[str, str]]:
    """(where, expr) for every PromQL expression of a dashboard: panels, annotations, variables."""
    for panel in dash["panels"]:
        for t in panel.get("targets", []):
            yield f"{dash['title']} / {panel['title']} / {t['refId']}", t["expr"]
    for a in dash["annotations"]["list"]:
        if "expr" in a:
            yield f"{dash['title']} / annotation {a['name']}", a["expr"]
    for v in dash["templating"]["list"]:
        if v.get("type") == "query":
            yield f"{dash['title']} / variable {v['name']}", v["definition"]
