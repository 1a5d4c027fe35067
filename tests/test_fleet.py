"""Fleets: a strategy runs as N client hosts, each its own SDK client, started at staggered
moments. Real DNS and HTTP on loopback under the virtual clock."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import pytest

from harness.client.api import Request
from harness.clock import Clock
from harness.events import EventBus, RequestFinished
from harness.outcomes import Outcome
from harness.runner.clients import HostAssigner, StrategyClient, host_offsets, stagger_period
from harness.runner.options import RunOptions
from harness.runner.run import run_scenario
from harness.scenario import parse_scenario
from harness.scenario.strategy_spec import BreakerBlock, StrategySpec
from harness.telemetry.fleet import FleetStats, Window
from harness.world.world import World

WORLD = """
name: fleet
seed: 5
duration: 20s
dns: {ttl: 1s, negative_ttl: 5s}
regions:
  - {name: us-east-1, endpoints: 2, rtt: 1ms, connections: {max_age: 4s}}
clients: {rate: 20/s, deadline: 2s, hosts: 2}
strategies: [naive]
"""


def request(clock: Clock, n: int) -> Request:
    now = clock.now()
    return Request(id=n, op="get", key="k1", intended_start=now, deadline=now + 2.0)


async def started_fleet(
    scenario_text: str, strategy: object, bus: EventBus
) -> tuple[World, StrategyClient, Clock]:
    scenario = parse_scenario(scenario_text)
    clock = Clock.for_running_loop()
    world = World(scenario, bus=bus, owner="shared")
    await world.start()
    client = StrategyClient(
        "s", strategy, world=world, scenario=scenario, clock=clock, bus=bus, seed=scenario.seed
    )
    await client.start()
    return world, client, clock


# ---- per-host state does not leak ---------------------------------------------------------------


@pytest.mark.looptime
async def test_one_hosts_negative_cache_entry_does_not_affect_another() -> None:
    from harness.client import catalog

    world, client, clock = await started_fleet(WORLD, catalog.get("naive"), EventBus())
    try:
        name = world.dns_name("us-east-1")
        addresses = world.zone.addresses(name)
        host0, host1 = client.hosts
        world.zone.empty(name)  # NODATA: host 0 asks and caches the negative answer for 5 s
        first = await host0.pipeline.execute(request(clock, 1))
        assert first.result.outcome is Outcome.DNS_NODATA
        world.zone.set_addresses(name, addresses)
        await asyncio.sleep(0.5)
        # host 1 never asked: it resolves on the wire and is served
        assert (await host1.pipeline.execute(request(clock, 2))).result.outcome is Outcome.OK
        # host 0 still answers from its own negative cache until the 5 s are over
        assert (await host0.pipeline.execute(request(clock, 3))).result.outcome is (
            Outcome.DNS_NODATA
        )
        await asyncio.sleep(5.0)
        assert (await host0.pipeline.execute(request(clock, 4))).result.outcome is Outcome.OK
    finally:
        await client.close()
        await world.stop()


@pytest.mark.looptime
async def test_one_hosts_open_breaker_does_not_affect_another() -> None:
    strategy = StrategySpec(
        name="s",
        blocks=(
            BreakerBlock(
                window="count", window_size=4, min_throughput=4, failure_ratio=0.5,
                break_duration=30.0,
            ),
        ),
    )  # fmt: skip
    world, client, clock = await started_fleet(WORLD, strategy, EventBus())
    try:
        name = world.dns_name("us-east-1")
        addresses = world.zone.addresses(name)
        host0, host1 = client.hosts
        world.zone.empty(name)
        await asyncio.sleep(6.0)  # past every cached answer
        for n in range(6):  # enough failures to open host 0's breaker
            await host0.pipeline.execute(request(clock, n))
            await asyncio.sleep(0.01)
        world.zone.set_addresses(name, addresses)
        await asyncio.sleep(6.0)  # host 0's negative cache has expired: only its breaker is left
        assert (await host0.pipeline.execute(request(clock, 10))).result.outcome is (
            Outcome.CIRCUIT_OPEN
        )
        assert (await host1.pipeline.execute(request(clock, 11))).result.outcome is Outcome.OK
    finally:
        await client.close()
        await world.stop()


# ---- staggered starts and shared arrivals -------------------------------------------------------


def test_hosts_start_spread_over_one_connection_lifetime() -> None:
    offsets = host_offsets(8, 15.0, seed=3)
    assert offsets[0] == 0.0
    assert list(offsets) == sorted(offsets)
    for i, offset in enumerate(offsets[1:], start=1):
        assert i * 15.0 / 8 <= offset < (i + 1) * 15.0 / 8  # one start per slice of the period
    assert host_offsets(8, 15.0, seed=3) == offsets  # seeded
    assert host_offsets(1, 15.0, seed=3) == (0.0,)


def test_stagger_period_is_the_longer_of_connection_lifetime_and_ttl_cut_at_the_first_fault() -> (
    None
):
    scenario = parse_scenario(WORLD)
    assert stagger_period(scenario) == 4.0  # max_age 4 s > ttl 1 s
    faulted = parse_scenario(
        WORLD + "timeline: [{fault: dns.nodata, target: us-east-1, at: 3s, duration: 2s}]\n"
    )
    assert stagger_period(faulted) == 3.0


def test_arrivals_go_only_to_started_hosts_and_spread_evenly() -> None:
    assigner = HostAssigner((0.0, 1.0, 2.0, 3.0), seed=1)
    assert {assigner.host_for(0.5) for _ in range(50)} == {0}
    assert {assigner.host_for(1.5) for _ in range(50)} == {0, 1}
    counts = [0] * 4
    for _ in range(4000):
        counts[assigner.host_for(10.0)] += 1
    assert min(counts) > 850 and max(counts) < 1150
    again = HostAssigner((0.0, 1.0, 2.0, 3.0), seed=1)
    first = HostAssigner((0.0, 1.0, 2.0, 3.0), seed=1)
    assert [again.host_for(5.0) for _ in range(20)] == [first.host_for(5.0) for _ in range(20)]


# ---- fleet figures from known inputs ------------------------------------------------------------


def finished(host: int, at: float, ok: bool) -> RequestFinished:
    outcome = Outcome.OK if ok else Outcome.DNS_NODATA
    return RequestFinished("s", "get", 0, outcome, 1, (), None, None, at, at, at + 0.01, host)


def test_fleet_figures_from_known_inputs() -> None:
    fleet = FleetStats(3, origin=0.0, duration=30.0)
    # host 0 fails from 10.0 to 12.0, host 1 from 13.0 to 20.5 (a tail after the fault), host 2
    # fails once before the fault only.
    for t in range(30):
        for host in range(3):
            at = t + 0.05 * host
            fails = (host == 0 and 10 <= t <= 12) or (host == 1 and 13 <= t <= 20)
            fails = fails or (host == 2 and t == 2)
            fleet.add(finished(host, at, not fails))
    fleet.add(finished(1, 20.5, False))
    assert fleet.failing_now == 1  # host 1's last request failed
    summary = fleet.to_json([Window("dns.nodata", "us-east-1", 10.0, 20.0)])
    assert summary["hosts"] == 3
    assert summary["hosts_with_any_failure"] == 3
    assert summary["hosts_failing_in_fault"] == 2
    assert summary["first_failure_s"] == 10.0
    assert summary["onset_spread_s"] == pytest.approx(3.0)  # 10.0 (host 0) to 13.0 (host 1)
    assert summary["recovery_spread_s"] == pytest.approx(8.5)  # 12.0 (host 0) to 20.5 (host 1)
    during = summary["availability_during_fault"]
    assert during["min"] == pytest.approx(3 / 10)  # host 1: ok at 10, 11, 12 of 10..19
    assert during["median"] == pytest.approx(7 / 10)  # host 0
    assert during["max"] == 1.0  # host 2
    assert summary["availability"]["min"] == pytest.approx(22 / 31)


# ---- a whole run: staggered onset across hosts vs one cliff -------------------------------------

OUTAGE = """
name: fleet-onset
seed: 11
duration: 11s
dns: {ttl: 1s, negative_ttl: 1s}
regions:
  - {name: us-east-1, endpoints: 2, rtt: 1ms, connections: {max_age: 4s}}
clients: {rate: 40/s, deadline: 1s, arrival: constant, hosts: HOSTS}
strategies: [naive]
timeline:
  - {fault: dns.nodata, target: us-east-1, at: 5s, duration: 5s}
"""


def _failure_ramp(path: Path) -> tuple[float, dict[int, float]]:
    """Seconds from the first failure to the first 0.5 s bucket in which ≥ 90 % of requests
    fail; and each host's first failure."""
    buckets: dict[int, list[int]] = {}
    first: dict[int, float] = {}
    with gzip.open(path / "requests.jsonl.gz", "rt") as lines:
        for line in lines:
            r = json.loads(line)
            if r["intended"] < 5.0 or r["intended"] >= 10.0:
                continue
            bucket = buckets.setdefault(int(r["intended"] / 0.5), [0, 0])
            bucket[0] += 1
            if r["outcome"] != "ok":
                bucket[1] += 1
                first.setdefault(r["host"], r["intended"])
    onset = min(first.values())
    cliff = min(b * 0.5 for b, (n, bad) in buckets.items() if bad >= 0.9 * n)
    return cliff - onset, first


@pytest.mark.looptime(noop_cycles=0)  # as `harness run` does (harness.loops)
async def test_fleet_onset_is_staggered_across_hosts_and_one_host_is_one_cliff(
    tmp_path: Path,
) -> None:
    results = {}
    for hosts in (1, 8):
        scenario = parse_scenario(OUTAGE.replace("HOSTS", str(hosts)))
        out = tmp_path / f"hosts{hosts}"
        result = await run_scenario(
            scenario, [("naive", _naive())], RunOptions(out_dir=out, progress=False)
        )
        results[hosts] = (result.summary["strategies"]["naive"]["fleet"], *_failure_ramp(out))
    fleet1, ramp1, _ = results[1]
    fleet8, ramp8, first8 = results[8]
    # one host: its connections are recycled together, the fleet falls off one cliff
    assert fleet1["hosts"] == 1 and fleet1["onset_spread_s"] == 0.0
    assert ramp1 < 0.5, ramp1  # measured 0.125 s
    # eight hosts: each fails when its own connections are recycled, over most of max_age (4 s)
    assert fleet8["hosts"] == 8 and fleet8["hosts_failing_in_fault"] == 8
    assert len(first8) == 8
    assert max(first8.values()) - min(first8.values()) > 2.5, first8  # measured 3.75 s
    assert fleet8["onset_spread_s"] > 2.5
    assert ramp8 > 2.5, ramp8  # measured 3.6 s
    assert fleet8["availability_during_fault"]["min"] < fleet8["availability_during_fault"]["max"]


def _naive() -> object:
    from harness.client import catalog

    return catalog.get("naive")


# ---- metrics, command line ----------------------------------------------------------------------


def test_prometheus_shows_hosts_and_hosts_failing_without_a_host_label() -> None:
    from prometheus_client import CollectorRegistry

    from harness.events import ConnectionsChanged
    from harness.telemetry.metrics import Telemetry

    registry, bus = CollectorRegistry(), EventBus()
    telemetry = Telemetry(registry, bus)
    fleet = FleetStats(4, origin=0.0, duration=10.0)
    telemetry.add_fleet_source("s", fleet)
    bus.subscribe(RequestFinished, fleet.add)
    for host, ok in ((0, False), (1, False), (2, True), (1, True), (3, False)):
        bus.emit(finished(host, 1.0, ok))
    assert registry.get_sample_value("harness_fleet_hosts", {"strategy": "s"}) == 4
    assert registry.get_sample_value("harness_fleet_hosts_failing", {"strategy": "s"}) == 2
    labels = {
        tuple(sorted(s.labels))
        for family in registry.collect()
        if family.name.startswith("harness_fleet")
        for s in family.samples
    }
    assert labels == {("strategy",)}
    # each host reports its own pool; the connections gauge is the fleet's sum
    for host, open_count in ((0, 2), (1, 3), (0, 1)):
        bus.emit(ConnectionsChanged("s", "us-east-1", open_count, host))
    assert (
        registry.get_sample_value(
            "harness_client_connections_open", {"strategy": "s", "region": "us-east-1"}
        )
        == 4
    )


def test_per_client_gauges_combine_the_fleets_hosts() -> None:
    from prometheus_client import CollectorRegistry

    from harness.events import BreakerStateChanged, HostBus, RateLimiterChanged, TokensChanged
    from harness.telemetry.metrics import Telemetry

    registry, bus = CollectorRegistry(), EventBus()
    Telemetry(registry, bus)
    host0, host1 = HostBus(bus, 0), HostBus(bus, 1)
    host0.emit(TokensChanged("s", "quota", 495.0))
    host1.emit(TokensChanged("s", "quota", 480.0))
    host0.emit(TokensChanged("s", "quota", 500.0))
    host1.emit(BreakerStateChanged("s", "us-east-1", "open"))
    host0.emit(BreakerStateChanged("s", "us-east-1", "closed"))
    host0.emit(RateLimiterChanged("s", 12.0))
    host1.emit(RateLimiterChanged("s", 30.0))

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"strategy": "s", **labels})

    assert value("harness_retry_tokens", gate="quota") == 480.0  # the most depleted host
    assert value("harness_breaker_state", region="us-east-1") == 2.0  # open on one host
    assert value("harness_breaker_transitions_total", region="us-east-1", state="open") == 1
    assert value("harness_rate_limiter_requests_per_second") == 12.0


def test_hosts_flag_overrides_the_scenario_and_bad_values_are_one_line(tmp_path: Path) -> None:
    from clitools import harness, small_scenario

    scenario = small_scenario(tmp_path)
    out = tmp_path / "out"
    result = harness(
        "run", scenario, "-s", "naive", "--hosts", "3", "--out", out, "--metrics-addr", "off",
        "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategies"]["naive"]["fleet"]["hosts"] == 3
    with gzip.open(out / "requests.jsonl.gz", "rt") as lines:
        hosts = {json.loads(line)["host"] for line in lines}
    assert hosts == {0, 1, 2}
    for value in ("0", "1000"):
        bad = harness("run", scenario, "--hosts", value, "--metrics-addr", "off")
        assert bad.returncode == 2, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert f"--hosts {value}" in bad.stderr and "clients.hosts" in bad.stderr, bad.stderr
