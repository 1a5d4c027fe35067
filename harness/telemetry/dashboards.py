"""The Grafana dashboards, as code: `python -m harness.telemetry.dashboards` writes
grafana/dashboards/*.json (`--check` fails if the checked-in files differ from what this builds).

Every query names its metrics through the catalog and filters on the `strategy` variable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.telemetry import catalog as m
from harness.telemetry.panels import (
    Json,
    dashboard,
    fault_timeline,
    quantile,
    ratio_or_zero,
    row,
    sel,
    stat,
    state_timeline,
    sum_rate,
    timeseries,
)

STRATEGIES_UID = "harness-strategies"
REGIONS_UID = "harness-regions"
SERVICES_UID = "harness-services"
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"

_BREAKER_STATES = {0: ("closed", "green"), 1: ("half-open", "yellow"), 2: ("open", "red")}


def _link(title: str, uid: str) -> Json:
    return {"title": title, "type": "link", "url": f"/d/{uid}", "icon": "dashboard"}


def strategy_comparison() -> Json:
    ok = sum_rate(m.REQUESTS, "strategy", outcome="ok")
    every = sum_rate(m.REQUESTS, "strategy")
    attempts = sum_rate(m.ATTEMPTS, "strategy")
    panels = [
        row("Outcome"),
        timeseries("Success ratio", "Share of logical requests that ended ok.",
            [(ratio_or_zero(ok, every), "{{strategy}}")], unit="percentunit", maximum=1),
        timeseries("Latency of successes p50 / p99",
            "Successful requests, from the intended send time (no coordinated omission). A "
            "request that failed fast must not make a strategy look fast: failures are apart.",
            [(quantile(0.5, m.REQUEST_DURATION, result="ok"), "{{strategy}} p50 ok"),
             (quantile(0.99, m.REQUEST_DURATION, result="ok"), "{{strategy}} p99 ok")],
            unit="s", log=True),
        timeseries("Latency p99, all requests vs failures",
            "What callers waited, failures included, and how long failures took.",
            [(quantile(0.99, m.REQUEST_DURATION), "{{strategy}} p99 all"),
             (quantile(0.99, m.REQUEST_DURATION, result="failed"), "{{strategy}} p99 failed")],
            unit="s", log=True),
        timeseries("Failures by outcome class", "Requests per second that did not end ok.",
            [(sum_rate(m.REQUESTS, "strategy, outcome", outcome="!ok"),
              "{{strategy}} {{outcome}}")], unit="reqps"),
        timeseries("Requests by serving region", 'Where requests were served ("none": nowhere).',
            [(sum_rate(m.REQUESTS, "strategy, region"), "{{strategy}} → {{region}}")],
            unit="reqps"),
        timeseries("Fleet: hosts failing", "Client hosts whose last request failed, of all hosts: "
            "an outage reaching a fleet host by host is a ramp, not a cliff.",
            [(sel(m.FLEET_HOSTS_FAILING), "{{strategy}} failing"),
             (sel(m.FLEET_HOSTS), "{{strategy}} hosts")], w=24),
        row("Work and amplification"),
        timeseries("Attempts per request", "Work amplification: attempts on the wire / requests.",
            [(f"{attempts} / {every}", "{{strategy}}")]),
        timeseries("Attempts by kind", "First tries, retries and hedges per second.",
            [(sum_rate(m.ATTEMPTS, "strategy, kind"), "{{strategy}} {{kind}}")], unit="ops"),
        timeseries("Retries", "Retries scheduled by reason, and retries a gate refused.",
            [(sum_rate(m.RETRIES, "strategy, reason"), "{{strategy}} retry on {{reason}}"),
             (sum_rate(m.RETRIES_SUPPRESSED, "strategy, gate"),
              "{{strategy}} refused by {{gate}}")], unit="ops"),
        timeseries("Hedges, failovers, failbacks", "Per second.",
            [(sum_rate(m.HEDGES, "strategy"), "{{strategy}} hedges"),
             (sum_rate(m.FAILOVERS, "strategy, source, region"),
              "{{strategy}} failover {{source}} → {{region}}"),
             (sum_rate(m.FAILBACKS, "strategy, region"), "{{strategy}} failback → {{region}}")],
            unit="ops"),
        row("Resilience machinery"),
        state_timeline("Circuit breakers", "Breaker state per strategy and region.",
            [(f"max by (strategy, region) ({sel(m.BREAKER_STATE)})", "{{strategy}} {{region}}")],
            _BREAKER_STATES, w=12, h=8),
        timeseries("Breaker transitions", "Transitions per second by the state entered.",
            [(sum_rate(m.BREAKER_TRANSITIONS, "strategy, state"), "{{strategy}} → {{state}}")],
            unit="ops"),
        timeseries("Retry tokens", "Retry quota (botocore starts at 500), budget, gRPC tokens.",
            [(f"max by (strategy, gate) ({sel(m.TOKENS)})", "{{strategy}} {{gate}}")]),
        timeseries("Client rate limiter", "Rate the adaptive limiter allows (once enabled).",
            [(f"max by (strategy) ({sel(m.RATE_LIMIT)}) < +Inf", "{{strategy}}")], unit="reqps"),
        row("Load and capacity"),
        timeseries("Load per region vs capacity", "Requests in service and queued vs capacity.",
            [(f"sum by (strategy, region) ({sel(m.ENDPOINT_IN_FLIGHT)})",
              "{{strategy}} {{region}} in service"),
             (f"sum by (strategy, region) ({sel(m.ENDPOINT_QUEUED)})",
              "{{strategy}} {{region}} queued"),
             (f"sum by (strategy, region) ({sel(m.ENDPOINT_CAPACITY)})",
              "{{strategy}} {{region}} capacity")]),
        timeseries("Open client connections", "Kept-alive connections outlive a DNS deletion.",
            [(f"sum by (strategy, region) ({sel(m.CONNECTIONS)})", "{{strategy}} {{region}}")]),
        row("Run and load generator"),
        fault_timeline(w=12),
        state_timeline("Phase", "Scenario phase in progress.",
            [(f"max by (phase) ({m.PHASE.name})", "{{phase}}")],
            {0: ("", "transparent"), 1: ("current", "blue")}, w=12, h=5),
        timeseries("Generator send lag", "Open-loop send lag; above ~1 ms p99 the generator lags.",
            [(sel(m.SEND_LAG, quantile="0.99"), "{{strategy}} p99"),
             (sel(m.SEND_LAG_MAX), "{{strategy}} max")], unit="s"),
        timeseries("Generator in flight and saturation", "Saturated = 1: numbers untrustworthy.",
            [(sel(m.GENERATOR_IN_FLIGHT), "{{strategy}} in flight"),
             (sel(m.SATURATED), "{{strategy}} saturated")]),
        timeseries("Fault apply delay", "How late each fault was applied vs its schedule.",
            [(f"max by (fault, target) ({m.FAULT_APPLY_DELAY.name})", "{{fault}} {{target}}")],
            unit="s"),
        stat("Run time", "Time since the run started, on the run's clock.", m.RUN_ELAPSED.name,
            unit="s", w=12),
    ]  # fmt: skip
    return dashboard(
        STRATEGIES_UID,
        "Harness: strategy comparison",
        "Which client strategy keeps the service up through the outage, and at what cost.",
        panels,
        [_link("Regions & DNS", REGIONS_UID)],
    )


def regions_and_dns() -> Json:
    lookups = sum_rate(m.DNS_LOOKUPS, "strategy")
    from_cache = sum_rate(m.DNS_LOOKUPS, "strategy", source="!wire")
    panels = [
        row("DNS server"),
        timeseries("DNS queries by rcode", "Answers of the harness DNS server (DROPPED: none).",
            [(sum_rate(m.DNS_QUERIES, "strategy, rcode"), "{{strategy}} {{rcode}}")],
            unit="reqps"),
        timeseries("DNS queries by name", "Per name and query type.",
            [(sum_rate(m.DNS_QUERIES, "name, qtype"), "{{name}} {{qtype}}")], unit="reqps"),
        row("Client DNS"),
        timeseries("Client lookups by source", "wire, cache, stale (RFC 8767), pinned, negative.",
            [(sum_rate(m.DNS_LOOKUPS, "strategy, source"), "{{strategy}} {{source}}")],
            unit="ops"),
        timeseries("Client lookups by result", "ok, or the DNS outcome class.",
            [(sum_rate(m.DNS_LOOKUPS, "strategy, result"), "{{strategy}} {{result}}")],
            unit="ops"),
        timeseries("Lookups answered without the wire", "cache + stale + pinned + negative.",
            [(ratio_or_zero(from_cache, lookups), "{{strategy}}")], unit="percentunit",
            maximum=1),
        timeseries("Open connections", "Client pool vs what the endpoints see.",
            [(f"sum by (strategy, region) ({sel(m.CONNECTIONS)})",
              "{{strategy}} {{region}} client"),
             (f"sum by (strategy, region) ({sel(m.ENDPOINT_CONNECTIONS)})",
              "{{strategy}} {{region}} server"),
             (sum_rate(m.ENDPOINT_CONNECTIONS_CLOSED, "strategy, region"),
              "{{strategy}} {{region}} closed by server /s")]),
        row("Endpoints"),
        timeseries("In service and queued", "Per region, against capacity.",
            [(f"sum by (strategy, region) ({sel(m.ENDPOINT_IN_FLIGHT)})",
              "{{strategy}} {{region}} in service"),
             (f"sum by (strategy, region) ({sel(m.ENDPOINT_QUEUED)})",
              "{{strategy}} {{region}} queued"),
             (f"sum by (strategy, region) ({sel(m.ENDPOINT_QUEUE_LIMIT)})",
              "{{strategy}} {{region}} queue limit")]),
        timeseries("Served by region", "Requests answered 200 per second.",
            [(sum_rate(m.ENDPOINT_SERVED, "strategy, region"), "{{strategy}} {{region}}")],
            unit="reqps"),
        timeseries("Throttled and 5xx", "Refused for capacity, and 5xx answers, per second.",
            [(sum_rate(m.ENDPOINT_THROTTLED, "strategy, region"),
              "{{strategy}} {{region}} throttled"),
             (sum_rate(m.ENDPOINT_ERRORS, "strategy, region"), "{{strategy}} {{region}} 5xx")],
            unit="reqps"),
        timeseries("Work for nobody", "Clients gone before the answer; queued work skipped.",
            [(sum_rate(m.ENDPOINT_ABANDONED, "strategy, region"),
              "{{strategy}} {{region}} abandoned"),
             (sum_rate(m.ENDPOINT_DROPPED, "strategy, region"), "{{strategy}} {{region}} dropped")],
            unit="reqps"),
        row("Replication and consistency"),
        timeseries("Replication lag", "Age of the oldest undelivered write.",
            [(f"max by (strategy, source, region) ({sel(m.REPLICATION_LAG)})",
              "{{strategy}} {{source}} → {{region}}")], unit="s"),
        timeseries("Replication backlog", "Writes waiting, and applied per second.",
            [(f"sum by (strategy, source, region) ({sel(m.REPLICATION_PENDING)})",
              "{{strategy}} {{source}} → {{region}} pending"),
             (sum_rate(m.REPLICATION_APPLIED, "strategy, source, region"),
              "{{strategy}} {{source}} → {{region}} applied /s")]),
        timeseries("Stale reads and lost writes", "Per second.",
            [(sum_rate(m.STALE_READS, "strategy, region"), "{{strategy}} {{region}} stale reads"),
             (sum_rate(m.LOST_WRITES, "strategy, source, region"),
              "{{strategy}} {{source}} → {{region}} lost writes")], unit="ops"),
        fault_timeline(w=12),
    ]  # fmt: skip
    return dashboard(
        REGIONS_UID,
        "Harness: regions & DNS",
        "The world during the run: DNS answers, endpoints, connections, replication.",
        panels,
        [_link("Strategy comparison", STRATEGIES_UID)],
    )


def services() -> Json:
    """Dependent services (scenario `services:`): how a failure spreads from tier to tier."""
    ok = sum_rate(m.SERVICE_REQUESTS, "service, region", outcome="ok")
    every = sum_rate(m.SERVICE_REQUESTS, "service, region")
    calls_ok = sum_rate(m.SERVICE_CALLS, "service, region, target", outcome="ok")
    calls = sum_rate(m.SERVICE_CALLS, "service, region, target")
    by_instance = "service, region"
    panels = [
        row("Availability"),
        timeseries("Service success ratio", "Share of a service's answers that were 200.",
            [(ratio_or_zero(ok, every), "{{service}}@{{region}}")], unit="percentunit",
            maximum=1),
        timeseries("Health", "Latest scheduled calls ok (1/0); lease services: share held.",
            [(f"max by ({by_instance}) ({sel(m.SERVICE_HEALTHY)})", "{{service}}@{{region}}")],
            unit="percentunit", maximum=1),
        timeseries("Answers by outcome", "ok, Throttled, DependencyFailed, LeaseExpired.",
            [(sum_rate(m.SERVICE_REQUESTS, "service, region, outcome", outcome="!ok"),
              "{{service}}@{{region}} {{outcome}}")], unit="reqps"),
        row("Dependencies"),
        timeseries("Dependency call success", "What each service met when it called out.",
            [(ratio_or_zero(calls_ok, calls), "{{service}}@{{region}} → {{target}}")],
            unit="percentunit", maximum=1),
        timeseries("Failed dependency calls", "Per second, by the call's outcome class.",
            [(sum_rate(m.SERVICE_CALLS, "service, region, target, outcome", outcome="!ok"),
              "{{service}}@{{region}} → {{target}} {{outcome}}")], unit="ops"),
        timeseries("In service and queued", "Requests holding a slot (waiting on dependencies "
            "too) and waiting for one.",
            [(f"sum by ({by_instance}) ({sel(m.SERVICE_IN_FLIGHT)})",
              "{{service}}@{{region}} in service"),
             (f"sum by ({by_instance}) ({sel(m.SERVICE_QUEUED)})",
              "{{service}}@{{region}} queued")]),
        row("Leases"),
        timeseries("Leases held", "Leases renewed within their ttl.",
            [(f"sum by ({by_instance}) ({sel(m.SERVICE_LEASES_HELD)})",
              "{{service}}@{{region}}")]),
        timeseries("Lease jobs", "Renewed, established, timed out (re-queued), failed.",
            [(sum_rate(m.SERVICE_LEASE_JOBS, "service, region, result"),
              "{{service}}@{{region}} {{result}}")], unit="ops"),
        timeseries("Lease backlog", "Jobs queued, and held outside by the throttle lever.",
            [(f"sum by (service, region, state) ({sel(m.SERVICE_LEASE_BACKLOG)})",
              "{{service}}@{{region}} {{state}}"),
             (f"max by ({by_instance}) ({sel(m.SERVICE_LEASE_THROTTLE)})",
              "{{service}}@{{region}} throttle limit")]),
        fault_timeline(w=12),
    ]  # fmt: skip
    return dashboard(
        SERVICES_UID,
        "Harness: services",
        "Dependent services: a global endpoint homed in one region, leases, congestive collapse.",
        panels,
        [_link("Strategy comparison", STRATEGIES_UID), _link("Regions & DNS", REGIONS_UID)],
    )


def all_dashboards() -> dict[str, Json]:
    """File name -> dashboard."""
    return {
        "strategy-comparison.json": strategy_comparison(),
        "regions-dns.json": regions_and_dns(),
        "services.json": services(),
    }


def render(dash: Json) -> str:
    return json.dumps(dash, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.telemetry.dashboards")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR, help="directory for the JSON")
    parser.add_argument("--check", action="store_true", help="fail if the files are out of date")
    args = parser.parse_args(argv)
    stale: list[str] = []
    for name, dash in all_dashboards().items():
        path = Path(args.out) / name
        text = render(dash)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    for stale_path in stale:
        print(
            f"{stale_path} is out of date: run python -m harness.telemetry.dashboards",
            file=sys.stderr,
        )
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
