"""Checks for the dashboards: offline (structure, metric names, PromQL as recording rules for
`promtool check rules`) and against a live Prometheus (every expression must return data).

No Grafana server runs here, so the queries are what we can verify: Grafana variables are replaced
by values that select everything (`$strategy` -> `.*`) before the expressions go to Prometheus.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Protocol

import yaml

from harness.telemetry.catalog import lookup_series
from harness.telemetry.panels import DATASOURCE_UID, GRID_WIDTH, Json, queries
from harness.telemetry.prometheus_api import PrometheusError, Series

# What Grafana would substitute, chosen so every expression selects all the data there is.
DEFAULT_VARIABLES: dict[str, str] = {
    "strategy": ".*",
    "__rate_interval": "1m",
    "__interval": "1s",
    "__range": "5m",
}
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*([^,]+?)\s*,\s*(\w+)\s*\)\s*$")
_SERIES = re.compile(r"\bharness_[a-z0-9_]+")


class RangeQueries(Protocol):
    async def query_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[Series]: ...


def to_promql(expr: str, variables: Mapping[str, str] = DEFAULT_VARIABLES) -> str:
    """A dashboard expression as plain PromQL: variables replaced, `label_values(m, l)` turned into
    `count by (l) (m)`. Unknown variables are left in place (Prometheus will reject them)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return variables.get(name, match.group(0))

    expr = _VARIABLE.sub(value, expr)
    if match := _LABEL_VALUES.match(expr):
        return f"count by ({match.group(2)}) ({match.group(1)})"
    return expr


def series_in(expr: str) -> set[str]:
    """The harness series names an expression mentions."""
    return set(_SERIES.findall(expr))


def dashboard_problems(dash: Json) -> list[str]:
    """Offline checks: ids, grid, datasource, metric names and the strategy variable."""
    problems: list[str] = []
    title = dash.get("title", "?")
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        problems.append(f"{title}: panel ids are not unique")
    for i, panel in enumerate(dash["panels"]):
        g = panel["gridPos"]
        if g["x"] < 0 or g["w"] <= 0 or g["x"] + g["w"] > GRID_WIDTH:
            problems.append(f"{title} / {panel['title']}: gridPos outside {GRID_WIDTH} columns")
        for other in dash["panels"][:i]:
            if _overlap(g, other["gridPos"]):
                problems.append(f"{title} / {panel['title']}: overlaps {other['title']}")
        sources = [panel.get("datasource")] + [
            t.get("datasource") for t in panel.get("targets", [])
        ]
        for ds in sources:
            if ds is not None and ds.get("uid") != DATASOURCE_UID:
                problems.append(f"{title} / {panel['title']}: datasource uid {ds.get('uid')!r}")
    for where, expr in queries(dash):
        for name in sorted(series_in(expr)):
            if lookup_series(name) is None:
                problems.append(f"{where}: {name} is not in the catalog")
    variables = {v["name"] for v in dash["templating"]["list"]}
    if "strategy" not in variables:
        problems.append(f"{title}: no strategy variable")
    return problems


def _overlap(a: Json, b: Json) -> bool:
    return bool(
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def recording_rules(dashboards: Iterable[Json]) -> str:
    """Every expression as a recording rule, for `promtool check rules` (PromQL syntax check)."""
    rules = [
        {"record": f"harness_dashboard:expr_{i}", "expr": to_promql(expr)}
        for i, (_, expr) in enumerate(q for d in dashboards for q in queries(d))
    ]
    return yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, sort_keys=False)


async def check_dashboards_against(
    prometheus: RangeQueries,
    dashboards: Iterable[Json],
    *,
    lookback: float = 300.0,
    step: float = 1.0,
    variables: Mapping[str, str] = DEFAULT_VARIABLES,
    allow_empty: Iterable[str] = (),
) -> list[str]:
    """Problems with the dashboards' queries against a live Prometheus: an expression that fails,
    returns no series over the last `lookback` seconds, or only NaN. Empty means every panel,
    annotation and variable would show data. `allow_empty`: substrings of locations ("Client
    rate limiter") whose lack of data a run may legitimately produce (nothing of that happened)."""
    tolerated = tuple(allow_empty)
    # Prometheus stamps samples with wall-clock time, so the query window is on that axis too.
    end = time.time()
    problems: list[str] = []
    for dash in dashboards:
        for where, expr in queries(dash):
            promql = to_promql(expr, variables)
            try:
                result = await prometheus.query_range(promql, end - lookback, end, step)
            except PrometheusError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if any(t in where for t in tolerated) and not any(s.has_number() for s in result):
                continue
            if not result:
                problems.append(f"{where}: no data for {promql}")
            elif not any(s.has_number() for s in result):
                problems.append(f"{where}: only NaN for {promql}")
    return problems
