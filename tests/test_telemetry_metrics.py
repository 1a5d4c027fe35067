"""Telemetry: events and pulled sources become the catalog's metrics on the run's own registry."""

from __future__ import annotations

from collections import defaultdict

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from service_fakes import FakeServices
from telemetry_stream import HOME, NAME, OTHER, FakeWorld, generator_stats, one_of_each, request

from harness.events import (
    BreakerStateChanged,
    EventBus,
    FailoverHappened,
    FaultApplied,
    FaultReverted,
    PhaseChanged,
    TokensChanged,
)
from harness.outcomes import Outcome
from harness.telemetry.catalog import CATALOG, MetricType
from harness.telemetry.fleet import FleetStats
from harness.telemetry.latency import LatencyHistogram
from harness.telemetry.metrics import Telemetry
from harness.telemetry.service_metrics import ServiceCollector

Labels = frozenset[tuple[str, str]]


def scrape(registry: CollectorRegistry) -> dict[str, dict[Labels, float]]:
    """Series name -> {labels: value}, parsed from the text exposition Prometheus would read."""
    text = generate_latest(registry).decode()
    series: dict[str, dict[Labels, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            series[s.name][frozenset(s.labels.items())] = s.value
    return series


def value(series: dict[str, dict[Labels, float]], series_name: str, **labels: str) -> float:
    return series[series_name][frozenset(labels.items())]


@pytest.fixture
def wired() -> tuple[CollectorRegistry, EventBus, Telemetry]:
    registry, bus = CollectorRegistry(), EventBus()
    return registry, bus, Telemetry(registry, bus)


def test_every_catalog_metric_is_exported_with_its_labels(wired: tuple) -> None:
    registry, bus, telemetry = wired
    one_of_each(bus)
    telemetry.add_world_source("alpha", FakeWorld(ticks=3))
    telemetry.add_generator_source("alpha", generator_stats)
    telemetry.add_fleet_source("alpha", FleetStats(2, origin=0.0, duration=10.0))
    services = ServiceCollector()
    services.add("alpha", FakeServices())
    registry.register(services)
    telemetry.start_run(lambda: 42.0)
    series = scrape(registry)
    for d in CATALOG:
        name = d.name + "_count" if d.type in (MetricType.HISTOGRAM, MetricType.SUMMARY) else d.name
        assert series.get(name), f"{d.name} has no samples"
        for labels in series[name]:
            assert {k for k, _ in labels} == set(d.labels), f"{d.name}: {labels}"


def test_request_and_attempt_values(wired: tuple) -> None:
    registry, bus, _ = wired
    one_of_each(bus)
    bus.emit(request("alpha", Outcome.OK, HOME, 0.02))
    s = scrape(registry)
    assert value(s, "harness_requests_total", strategy="alpha", outcome="ok", region=HOME) == 2
    nx = {"strategy": "alpha", "outcome": "dns_nxdomain", "region": "none"}
    assert value(s, "harness_requests_total", **nx) == 1
    ok = {"strategy": "alpha", "result": "ok"}
    failed = {"strategy": "alpha", "result": "failed"}
    duration = "harness_request_duration_seconds"
    assert value(s, f"{duration}_count", **ok) == 2
    assert value(s, f"{duration}_count", **failed) == 1
    total = value(s, f"{duration}_sum", **ok) + value(s, f"{duration}_sum", **failed)
    assert total == pytest.approx(0.34)
    # 0.3 s lands in the 0.5 s bucket, not the 0.25 s one.
    bucket = f"{duration}_bucket"
    both = [value(s, bucket, **labels, le="0.25") for labels in (ok, failed)]
    assert sum(both) == 2
    assert sum(value(s, bucket, **labels, le="0.5") for labels in (ok, failed)) == 3
    attempt = {"strategy": "alpha", "region": OTHER, "outcome": "ok"}
    assert value(s, "harness_attempts_total", **attempt, kind="retry") == 1
    assert value(s, "harness_attempts_total", **attempt, kind="hedge") == 1
    assert value(s, "harness_failovers_total", strategy="alpha", source=HOME, region=OTHER) == 1
    assert value(s, "harness_retry_tokens", strategy="alpha", gate="quota") == 495
    assert value(s, "harness_client_dns_lookups_total", strategy="alpha", result="ok",
                 source="cache") == 1  # fmt: skip
    assert value(s, "harness_fault_apply_delay_seconds", fault="dns_empty",
                 target=NAME) == pytest.approx(0.002)  # fmt: skip


def test_faults_phases_and_breakers(wired: tuple) -> None:
    registry, bus, telemetry = wired
    one_of_each(bus)
    s = scrape(registry)
    assert value(s, "harness_fault_active", fault="dns_empty", target=NAME) == 1
    assert value(s, "harness_fault_active", fault="latency", target=OTHER) == 0
    assert value(s, "harness_phase", phase="baseline") == 0
    assert value(s, "harness_phase", phase="outage") == 1
    assert value(s, "harness_breaker_state", strategy="alpha", region=HOME) == 2

    bus.emit(FaultApplied("dns_empty", NAME, 7.0, 7.0, 0.0))  # overlapping, same kind and target
    bus.emit(FaultReverted("dns_empty", NAME, 8.0, 8.0, 0.0, "scheduled"))
    s = scrape(registry)
    assert value(s, "harness_fault_active", fault="dns_empty", target=NAME) == 1
    bus.emit(FaultReverted("dns_empty", NAME, 9.0, 9.0, 0.0, "end_of_run"))
    bus.emit(BreakerStateChanged("alpha", HOME, "half-open"))
    bus.emit(PhaseChanged("recovery", 9.0))
    telemetry.declare_phases(("baseline", "outage", "recovery", "after"))
    s = scrape(registry)
    assert value(s, "harness_fault_active", fault="dns_empty", target=NAME) == 0
    assert value(s, "harness_breaker_state", strategy="alpha", region=HOME) == 1
    phases = [value(s, "harness_phase", phase=p) for p in ("outage", "recovery", "after")]
    assert phases == [0, 1, 0]
    transitions = "harness_breaker_transitions_total"
    assert value(s, transitions, strategy="alpha", region=HOME, state="half_open") == 1


def test_unknown_breaker_state_is_ignored(wired: tuple) -> None:
    registry, bus, _ = wired
    bus.emit(BreakerStateChanged("alpha", HOME, "melted"))
    assert not scrape(registry).get("harness_breaker_state")


def test_labelled_children_are_cached(wired: tuple) -> None:
    registry, bus, telemetry = wired
    for _ in range(3):
        bus.emit(FailoverHappened("alpha", HOME, OTHER))
        bus.emit(TokensChanged("alpha", "quota", 490.0))
    assert len(telemetry.failovers) == 1 and len(telemetry.tokens) == 1
    child = telemetry.failovers("alpha", HOME, OTHER)
    assert child is telemetry.failovers("alpha", HOME, OTHER)
    assert len(telemetry.failovers) == 1
    assert telemetry.failovers.items()[0][0] == ("alpha", HOME, OTHER)
    s = scrape(registry)
    assert value(s, "harness_failovers_total", strategy="alpha", source=HOME, region=OTHER) == 3


def test_hot_path_rows_are_keyed_by_label_tuple(wired: tuple) -> None:
    _, bus, telemetry = wired
    for _ in range(3):
        bus.emit(request("alpha", Outcome.OK, HOME, 0.01))
        bus.emit(request("beta", Outcome.OK, None, 0.01))
    assert telemetry.requests.counts == {("alpha", "ok", HOME): 3, ("beta", "ok", "none"): 3}
    assert {row[0] for row in telemetry.request_duration.rows} == {"alpha", "beta"}


def test_world_collector_reads_sources_at_scrape_time(wired: tuple) -> None:
    registry, _, telemetry = wired
    world = FakeWorld(ticks=2)
    telemetry.add_world_source("alpha", world)
    telemetry.add_world_source("beta", FakeWorld(ticks=5))
    s = scrape(registry)
    assert value(s, "harness_dns_queries_total", strategy="alpha", name=NAME, qtype="A",
                 rcode="NXDOMAIN") == 2  # fmt: skip
    assert value(s, "harness_endpoint_served_total", strategy="beta", region=OTHER) == 50
    assert value(s, "harness_endpoint_capacity", strategy="alpha", region=HOME) == 64
    world.ticks = 7
    s = scrape(registry)
    assert value(s, "harness_endpoint_served_total", strategy="alpha", region=HOME) == 70
    assert value(s, "harness_replication_lag_seconds", strategy="alpha", source=HOME,
                 region=OTHER) == pytest.approx(0.07)  # fmt: skip
    assert value(s, "harness_stale_reads_total", strategy="alpha", region=OTHER) == 7
    with pytest.raises(ValueError, match="already registered"):
        telemetry.add_world_source("alpha", world)
    telemetry.remove_world_source("alpha")
    s = scrape(registry)
    assert {dict(k)["strategy"] for k in s["harness_endpoint_served_total"]} == {"beta"}


class BrokenWorld(FakeWorld):
    def region_stats(self) -> list:
        raise RuntimeError("boom")


def test_a_broken_source_does_not_break_the_scrape(wired: tuple) -> None:
    registry, bus, telemetry = wired
    telemetry.add_world_source("alpha", BrokenWorld(ticks=1))
    telemetry.add_generator_source("alpha", lambda: 1 / 0)  # type: ignore[arg-type,return-value]
    bus.emit(request("alpha", Outcome.OK, HOME, 0.01))
    s = scrape(registry)
    assert value(s, "harness_requests_total", strategy="alpha", outcome="ok", region=HOME) == 1


def test_generator_source_and_run_clock(wired: tuple) -> None:
    registry, _, telemetry = wired
    now = [100.0]
    telemetry.add_generator_source("beta", lambda: generator_stats(200))
    assert value(scrape(registry), "harness_run_elapsed_seconds") == 0
    telemetry.start_run(lambda: now[0])
    now[0] = 112.5
    s = scrape(registry)
    assert value(s, "harness_run_elapsed_seconds") == 12.5
    assert value(s, "harness_generator_send_lag_seconds_count", strategy="beta") == 200
    lag = {"strategy": "beta", "quantile": "0.99"}
    assert value(s, "harness_generator_send_lag_seconds", **lag) == pytest.approx(0.0009)
    assert value(s, "harness_generator_saturated", strategy="beta") == 0
    telemetry.finish_run()
    now[0] = 500.0
    assert value(scrape(registry), "harness_run_elapsed_seconds") == 12.5


class FakeGenerator:
    """The shape of harness.client.workload.OpenLoopGenerator that telemetry reads."""

    def __init__(self) -> None:
        self.send_lag = LatencyHistogram()
        self.in_flight = 4
        self.reasons: list[str] = []

    def saturation_reasons(self) -> list[str]:
        return self.reasons


def test_a_generator_object_is_a_source(wired: tuple) -> None:
    registry, _, telemetry = wired
    generator = FakeGenerator()
    for lag in (0.0002,) * 98 + (0.003, 0.008):
        generator.send_lag.record(lag)
    telemetry.add_generator_source("alpha", generator)
    s = scrape(registry)
    assert value(s, "harness_generator_send_lag_seconds_count", strategy="alpha") == 100
    assert "harness_generator_send_lag_seconds_sum" not in s  # not kept by this generator
    p99 = value(s, "harness_generator_send_lag_seconds", strategy="alpha", quantile="0.99")
    assert p99 == pytest.approx(0.003, rel=0.01)
    assert value(s, "harness_generator_send_lag_max_seconds", strategy="alpha") == pytest.approx(
        0.008, rel=0.01
    )
    assert value(s, "harness_generator_in_flight", strategy="alpha") == 4
    assert value(s, "harness_generator_saturated", strategy="alpha") == 0
    generator.reasons = ["send lag p99 9 ms > 5 ms"]
    assert value(scrape(registry), "harness_generator_saturated", strategy="alpha") == 1
    with pytest.raises(TypeError, match="not a generator source"):
        telemetry.add_generator_source("beta", object())  # type: ignore[arg-type]


def test_two_runs_have_separate_registries() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    bus_a, bus_b = EventBus(), EventBus()
    Telemetry(first, bus_a)
    Telemetry(second, bus_b)  # same metric names, no "Duplicated timeseries" error
    bus_a.emit(request("alpha", Outcome.OK, HOME, 0.01))
    assert "harness_requests_total" in scrape(first)
    assert "harness_requests_total" not in scrape(second)


def test_every_declared_fault_is_0_from_the_start(wired: tuple) -> None:
    from harness.scenario import parse_scenario

    registry, bus, telemetry = wired
    scenario = parse_scenario(
        """
name: f
duration: 60s
regions: [{name: us-east-1}, {name: us-west-2}]
timeline:
  - {fault: dns.nodata, target: us-east-1, at: 10s, duration: 5s}
  - {fault: endpoint.errors, target: {region: us-west-2, az: us-west-2-az1}, at: 20s}
  - {fault: replication.pause, at: 30s, duration: 5s}
"""
    )
    telemetry.declare_faults(scenario.timeline)
    s = scrape(registry)
    assert s["harness_fault_active"] == {
        frozenset({("fault", "dns.nodata"), ("target", "us-east-1")}): 0,
        frozenset({("fault", "endpoint.errors"), ("target", "us-west-2/us-west-2-az1")}): 0,
        frozenset({("fault", "replication.pause"), ("target", "all->all")}): 0,
    }
    bus.emit(FaultApplied("dns.nodata", "us-east-1", 10.0, 10.0, 0.0))
    assert (
        value(scrape(registry), "harness_fault_active", fault="dns.nodata", target="us-east-1") == 1
    )
