"""The domino effect emerges from real DNS and HTTP under the virtual clock: a dependency's failure
propagates through a chain of services to clients (a cached token stops it), and a lease service
collapses under its own backlog after DNS returns unless the throttle lever is pulled."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from scenario_runs import run_text, world_with_services

from harness.client.api import Request
from harness.outcomes import Outcome
from harness.report.writers import render_report
from harness.telemetry.service_metrics import ServiceCollector
from harness.world.control import DnsOverride

CHAIN = """
name: chain
seed: 5
duration: 30s
dns: {ttl: 1s, negative_ttl: 1s}
regions:
  - {name: us-west-2, endpoints: 2, rtt: 1ms, connections: {max_age: 2s}}
  - {name: us-east-1, endpoints: 2, rtt: 20ms, connections: {max_age: 2s}}
services:
  - name: auth
    kind: token
    regions: [us-east-1, us-west-2]
    home: us-east-1
    calls: [{to: dynamodb, every: request}]
    token: {ttl: 10m}
  - name: front
    regions: [us-west-2]
    calls: [{to: auth, endpoint: global, every: request}]
clients: {home_region: us-west-2, rate: 20/s, deadline: 2s, arrival: constant}
strategies:
  - {name: fresh-token, tokens: {service: auth, cache: false}}
  - {name: cached-token, tokens: {service: auth, cache: true}}
  - {name: regional-token, tokens: {service: auth, cache: false, endpoint: regional}}
run: {isolation: shared}
timeline:
  - {fault: dns.nodata, target: us-east-1, at: 10s, duration: 10s}
"""


def _availability(out: Path, strategy: str, start: float, end: float) -> float:
    series = json.loads((out / "timeseries.json").read_text())
    bucket = series["bucket"]
    row = series["strategies"][strategy]
    first, last = int(start / bucket), int(end / bucket)
    requests = sum(row["requests"][first:last])
    return float(sum(row["ok"][first:last]) / requests)


@pytest.mark.looptime
async def test_failure_propagates_through_the_chain_and_a_cached_token_stops_it(
    tmp_path: Path,
) -> None:
    summary = await run_text(CHAIN, tmp_path)
    # Clients in us-west-2 whose DynamoDB is healthy fail with the us-east-1 auth (allow the
    # negative-cache tail after the revert)...
    assert _availability(tmp_path, "fresh-token", 12, 20) < 0.05
    assert _availability(tmp_path, "fresh-token", 23, 30) > 0.99
    # ... unless the token is cached, or comes from their own region's auth endpoint.
    assert _availability(tmp_path, "cached-token", 0, 30) > 0.99
    assert _availability(tmp_path, "regional-token", 0, 30) > 0.99
    services = summary["services"]
    auth = services["tiers"]["auth"]
    assert auth["instances"]["us-east-1"]["outcomes"]["DependencyFailed"] > 0
    assert "DependencyFailed" not in auth["instances"]["us-west-2"]["outcomes"]
    assert auth["calls"]["dynamodb"]["dns_nodata"] > 0
    nodes = services["graph"]["nodes"]
    assert min(v for v in nodes["auth@us-east-1"]["timeline"][12:20] if v is not None) < 0.1
    assert ["auth@us-east-1", "dynamodb@us-east-1"] in services["graph"]["edges"]
    # The reports show the tier: a table per service and the graph with its availability strips.
    render_report(tmp_path)
    markdown = (tmp_path / "comparison.md").read_text()
    assert "| auth | token | us-east-1, us-west-2 (global: us-east-1) |" in markdown
    html = (tmp_path / "report.html").read_text()
    assert "Dependency graph" in html and html.count("data:image/png;base64,") >= 2
    assert (tmp_path / "chart-services-graph.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.looptime
async def test_a_service_calling_a_service_answers_503_naming_the_failed_dependency() -> None:
    async with world_with_services(CHAIN) as running:
        world, tier, clock = running.world, running.tier, running.clock
        transport = await running.transport("front", "us-west-2")

        async def ask() -> tuple[Outcome, str]:
            now = clock.now()
            result = await transport.send(
                Request(1, "call", "k", now, now + 10), "us-west-2", timeout=10.0
            )
            return result.outcome, result.detail

        assert await ask() == (Outcome.OK, "")
        name = world.dns_name("us-east-1")
        override = world.zone.add_override(name, DnsOverride("nodata"))
        await world.region("us-east-1").drain()  # auth must resolve again...
        await asyncio.sleep(1.5)  # ... once its cached answer (ttl 1 s) has expired
        outcome, detail = await ask()
        # front names auth; auth is still retrying its own DynamoDB call when front's 1 s
        # attempt timeout (the catalog's aws-standard) fires: nested timeouts, as in life.
        assert outcome is Outcome.SERVER_ERROR
        assert detail in ("auth: server_error", "auth: timeout")
        # ... and the scrape says so, per service and per callee.
        registry = CollectorRegistry()
        collector = ServiceCollector()
        collector.add("t", tier)
        registry.register(collector)
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for metric in text_string_to_metric_families(generate_latest(registry).decode())
            for sample in metric.samples
        }

        def value(name: str, **labels: str) -> float:
            return samples.get((name, tuple(sorted({"strategy": "t", **labels}.items()))), 0)

        front = {"service": "front", "region": "us-west-2"}
        auth = {"service": "auth", "region": "us-east-1", "target": "dynamodb"}
        assert value("harness_service_requests_total", **front, outcome="DependencyFailed") == 1
        assert value("harness_service_calls_total", **front, target="auth", outcome="ok") == 1
        assert value("harness_service_calls_total", **auth, outcome="dns_nodata") >= 1
        world.zone.remove_override(override)


LEASES = """
name: leases
seed: 7
duration: {duration}
dns: {{ttl: 1s, negative_ttl: 1s}}
regions:
  - {{name: us-east-1, endpoints: 2, rtt: 1ms, capacity: {{concurrency: 32, queue: 128}},
     connections: {{max_age: 2s}}}}
services:
  - name: lease
    kind: lease
    regions: [us-east-1]
    lease: {{count: 60, ttl: 6s, renew_every: 2s, workers: 2, timeout: 1s,
            renew: 5ms, establish: 150ms, retry_after: 500ms}}
clients: {{rate: 1/s}}
strategies: [naive]
timeline:
  - {{fault: dns.nodata, target: us-east-1, at: 5s, duration: 10s}}
{lever}
"""
LEVER = (
    "  - {fault: service.throttle, target: {region: us-east-1, service: lease}, "
    "at: 25s, max_queue: 4}"
)


@pytest.mark.looptime
async def test_lease_backlog_collapses_without_the_throttle(tmp_path: Path) -> None:
    summary = await run_text(LEASES.format(duration="50s", lever=""), tmp_path)
    leases = summary["services"]["tiers"]["lease"]["leases"]
    assert leases["lost_at"] is not None and leases["lost_at"] < 15
    # DNS came back at 15 s; 35 s later almost nothing is held: every job times out, re-queued.
    assert leases["held_at_end"] < 0.2
    assert leases["recovered_at"] is None
    assert leases["timed_out_total"] > 10 * leases["established_total"]


@pytest.mark.looptime
async def test_lease_backlog_recovers_once_admission_is_throttled(tmp_path: Path) -> None:
    summary = await run_text(LEASES.format(duration="50s", lever=LEVER), tmp_path)
    leases = summary["services"]["tiers"]["lease"]["leases"]
    held = leases["held"]
    assert max(held[18:25]) < 0.3  # collapsed before the lever at 25 s
    assert leases["held_at_end"] == 1.0
    assert leases["recovered_at"] is not None and 25 < leases["recovered_at"] < 40
    assert leases["recovery_after_fault_s"] == leases["recovered_at"] - 15


def test_the_default_service_strategy_is_in_the_catalog() -> None:
    from harness.client import catalog
    from harness.scenario.service_spec import ServiceSpec

    assert ServiceSpec(name="s", regions=("r",)).strategy in catalog.names()
