"""Dashboards as code: checked-in JSON equals the generated; structure and queries hold."""

from __future__ import annotations

import copy
import math
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.telemetry import dashcheck
from harness.telemetry.catalog import FAULT_ACTIVE
from harness.telemetry.dashboards import DEFAULT_DIR, all_dashboards, main, render
from harness.telemetry.panels import DATASOURCE_UID, Json, queries, sel
from harness.telemetry.prometheus_api import PrometheusError, Series

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = all_dashboards()
PROMTOOL = shutil.which("promtool")


def test_checked_in_json_equals_generated() -> None:
    for name, dash in DASHBOARDS.items():
        path = DEFAULT_DIR / name
        assert path.read_text(encoding="utf-8") == render(dash), (
            f"{path} is stale: run python -m harness.telemetry.dashboards"
        )
    assert sorted(p.name for p in DEFAULT_DIR.glob("*.json")) == sorted(DASHBOARDS)


def test_generator_writes_and_checks(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "regions-dns.json").write_text("{}")
    assert main(["--out", str(tmp_path), "--check"]) == 1


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_structure_is_sound(name: str) -> None:
    dash = DASHBOARDS[name]
    assert dashcheck.dashboard_problems(dash) == []
    assert dash["schemaVersion"] >= 36  # Grafana 10/11 read it without migration surprises
    assert dash["uid"] and len(dash["uid"]) <= 40
    variable = dash["templating"]["list"][0]
    assert variable["name"] == "strategy" and "label_values" in variable["definition"]
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    assert all(p.get("targets") for p in panels)
    uses_strategy = [e for _, e in queries(dash) if "strategy" in e]
    assert uses_strategy and all('strategy=~"$strategy"' in e for e in uses_strategy if "{" in e)
    annotation_exprs = [a.get("expr", "") for a in dash["annotations"]["list"]]
    assert any(FAULT_ACTIVE.name in e for e in annotation_exprs)
    assert any(p["type"] == "state-timeline" and "Fault" in p["title"] for p in panels)


def test_datasource_uid_matches_provisioning() -> None:
    provisioning = ROOT / "grafana/provisioning/datasources/prometheus.yaml"
    sources = yaml.safe_load(provisioning.read_text())["datasources"]
    assert [s["uid"] for s in sources] == [DATASOURCE_UID]
    assert sources[0]["type"] == "prometheus" and sources[0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/harness.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_problems_are_found_in_a_broken_dashboard() -> None:
    dash: Json = copy.deepcopy(DASHBOARDS["strategy-comparison.json"])
    panels = dash["panels"]
    panels[2]["id"] = panels[1]["id"]
    panels[3]["gridPos"] = dict(panels[2]["gridPos"], x=20)  # too wide and overlapping
    panels[4]["targets"][0]["expr"] = "rate(harness_nope_total[1m])"
    panels[5]["datasource"] = {"type": "prometheus", "uid": "other"}
    dash["templating"]["list"] = []
    problems = "\n".join(dashcheck.dashboard_problems(dash))
    for expected in ("not unique", "outside 24 columns", "overlaps", "harness_nope_total is not",
                     "datasource uid 'other'", "no strategy variable"):  # fmt: skip
        assert expected in problems


def test_to_promql_substitutes_variables() -> None:
    assert dashcheck.to_promql('x{strategy=~"$strategy"}[$__rate_interval]') == (
        'x{strategy=~".*"}[1m]'
    )
    assert dashcheck.to_promql("rate(x[${__interval}])") == "rate(x[1s])"
    assert dashcheck.to_promql("label_values(harness_requests_total, strategy)") == (
        "count by (strategy) (harness_requests_total)"
    )
    assert dashcheck.to_promql("$unknown") == "$unknown"


def test_sel_refuses_labels_the_metric_does_not_have() -> None:
    with pytest.raises(ValueError, match="no label 'gate'"):
        sel(FAULT_ACTIVE, gate="x")


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not on PATH")
def test_every_expression_passes_promtool_check_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(dashcheck.recording_rules(DASHBOARDS.values()))
    result = _promtool("check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(1 for d in DASHBOARDS.values() for _ in queries(d))
    assert f"SUCCESS: {count} rules found" in result.stdout


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not on PATH")
def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    dash = copy.deepcopy(DASHBOARDS["regions-dns.json"])
    dash["panels"][1]["targets"][0]["expr"] = "sum by (strategy (rate(x[1m]))"
    rules = tmp_path / "rules.yml"
    rules.write_text(dashcheck.recording_rules([dash]))
    assert _promtool("check", "rules", str(rules)).returncode != 0


class FakePrometheus:
    """Answers range queries from a table of expression fragments; raises for 'bad'."""

    def __init__(self, answers: dict[str, list[Series]]) -> None:
        self.answers = answers
        self.seen: list[str] = []

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        assert end - start == pytest.approx(300.0) and step == 1.0
        self.seen.append(expr)
        if "bad" in expr:
            raise PrometheusError("parse error")
        return next((v for k, v in self.answers.items() if k in expr), [])


async def test_check_against_reports_empty_nan_and_errors() -> None:
    dash = copy.deepcopy(DASHBOARDS["regions-dns.json"])
    dash["panels"][1]["targets"][0]["expr"] = "bad("
    data = [Series({"strategy": "alpha"}, ((1.0, 2.0),))]
    nan = [Series({}, ((1.0, math.nan),))]
    fake = FakePrometheus({"harness_dns_queries_total": data, "harness_endpoint_": nan})
    problems = await dashcheck.check_dashboards_against(fake, [dash])
    assert len(fake.seen) == sum(1 for _ in queries(dash))
    assert all("$" not in e for e in fake.seen)
    assert "Harness: regions & DNS / DNS queries by rcode / A: parse error" in problems
    assert any("only NaN" in p and "harness_endpoint_" in p for p in problems)
    assert any("no data" in p and "harness_client_dns_lookups_total" in p for p in problems)
    assert not any("DNS queries by name" in p for p in problems)
    tolerant = await dashcheck.check_dashboards_against(
        fake, [dash], allow_empty=["Client lookups", "Work for nobody"]
    )
    assert not any("Client lookups" in p or "Work for nobody" in p for p in tolerant)
    assert any("DNS queries by rcode" in p for p in tolerant)  # errors are never tolerated
