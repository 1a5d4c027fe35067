"""Clients in several home regions, and round trips between the caller's region and the callee's:
real DNS and HTTP on loopback under the virtual clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_runs import run_text, service_transport, uncached_resolver, world_with_services

from harness.client.api import Request
from harness.clock import Clock
from harness.outcomes import Outcome
from harness.report.writers import render_report
from harness.runner.clients import PopulationAssigner, regions_by_distance
from harness.scenario import parse_scenario

# Clients in us-west-2 and eu-west-1 need a token from `auth`, homed in us-east-1; their own
# DynamoDB stays healthy. The auth outage is us-east-1's DynamoDB record emptied for 10 s.
TWO_HOMES = """
name: two-homes
seed: 11
duration: 25s
dns: {ttl: 1s, negative_ttl: 1s}
regions:
  - {name: us-west-2, endpoints: 2, rtt: 1ms, service_time: 0s, connections: {max_age: 2s}}
  - {name: us-east-1, endpoints: 2, rtt: 20ms, rtt_from: {eu-west-1: 30ms}, service_time: 0s,
     connections: {max_age: 2s}}
  - {name: eu-west-1, endpoints: 2, rtt: 40ms, rtt_from: {eu-west-1: 3ms}, service_time: 0s,
     connections: {max_age: 2s}}
services:
  - name: auth
    kind: token
    regions: [us-east-1]
    home: us-east-1
    service_time: 0s
    calls: [{to: dynamodb, every: request}]
    token: {ttl: 10m}
clients:
  populations: [{home: us-west-2, share: 1}, {home: eu-west-1, share: 1}]
  hosts: 2
  rate: 16/s
  deadline: 2s
  arrival: constant
  ops: {get: 1, put: 0, update: 0}
strategies:
  - {name: fresh-token, tokens: {service: auth, cache: false}}
  - {name: cached-token, tokens: {service: auth, cache: true}}
run: {isolation: shared}
timeline:
  - {fault: dns.nodata, target: us-east-1, at: 8s, duration: 10s}
"""


@pytest.mark.looptime
async def test_each_population_uses_its_home_and_only_cached_tokens_survive_the_auth_outage(
    tmp_path: Path,
) -> None:
    summary = await run_text(TWO_HOMES, tmp_path)
    assert summary["populations"] == [
        {"home": "us-west-2", "share": 0.5},
        {"home": "eu-west-1", "share": 0.5},
    ]
    for name in ("fresh-token", "cached-token"):
        populations = summary["strategies"][name]["populations"]
        assert set(populations) == {"us-west-2", "eu-west-1"}
        for home, figures in populations.items():
            # each population resolved and was served by its own home region's DynamoDB only
            assert set(figures["regions_served"]) == {home}
            assert figures["requests"] > 100
        assert summary["strategies"][name]["cross_region_share"] == 0.0
    fresh = summary["strategies"]["fresh-token"]["populations"]
    cached = summary["strategies"]["cached-token"]["populations"]
    # Outside us-east-1, with a healthy data plane: without a cached token, the global auth's
    # outage is theirs (allowing the first seconds, while auth's kept-alive connections live) ...
    for home in ("us-west-2", "eu-west-1"):
        assert fresh[home]["availability_during_fault"] < 0.5
        assert fresh[home]["outcomes"]["server_error"] > 30
        assert fresh[home]["availability_after_fault"] > 0.8  # with the negative-cache tail
        # ... and a token cached before the outage carries them through it.
        assert cached[home]["availability_during_fault"] == 1.0
        assert cached[home]["availability"] == 1.0
    # Each pays the round trips from its own region (no service time here): eu-west-1's DynamoDB
    # is 3 ms from its clients, us-west-2's 1 ms; a fresh token adds the trip to auth in
    # us-east-1 (30 ms from eu-west-1, 20 ms from us-west-2) and auth's own 1 ms lookup there.
    p50 = {h: cached[h]["latency_ok_ms"]["p50"] for h in cached}
    assert p50["us-west-2"] == pytest.approx(1.0, abs=0.3)
    assert p50["eu-west-1"] == pytest.approx(3.0, abs=0.3)
    fresh_p50 = {h: fresh[h]["latency_ok_ms"]["p50"] for h in fresh}
    assert fresh_p50["us-west-2"] == pytest.approx(20 + 1 + 1, abs=0.5)
    assert fresh_p50["eu-west-1"] == pytest.approx(30 + 1 + 3, abs=0.5)
    # The reports give one row per strategy and home region.
    render_report(tmp_path)
    markdown = (tmp_path / "comparison.md").read_text()
    assert "## Per home region" in markdown
    assert "home regions us-west-2, eu-west-1." in markdown
    assert "| cached-token | eu-west-1 | 50 % |" in markdown
    assert "Per home region" in (tmp_path / "report.html").read_text()


RTTS = """
name: rtts
duration: 10s
regions:
  - {name: us-west-2, rtt: 2ms, service_time: 0s}
  - {name: us-east-1, rtt: 60ms, rtt_from: {eu-west-1: 70ms}, service_time: 0s}
  - {name: eu-west-1, rtt: 130ms, service_time: 0s}
services:
  - {name: echo, regions: [us-east-1, eu-west-1], service_time: 0s}
  - {name: front, regions: [eu-west-1], service_time: 0s, calls: [{to: dynamodb, every: request}]}
"""


def test_rtt_between_regions_follows_the_given_pairs_and_defaults() -> None:
    scenario = parse_scenario(RTTS)
    rtt = scenario.rtt
    assert rtt("us-west-2", "us-east-1") == 0.060  # from the home: the region's rtt
    assert rtt("eu-west-1", "us-east-1") == rtt("us-east-1", "eu-west-1") == 0.070  # given
    assert rtt("eu-west-1", "us-west-2") == 0.130  # to the home: symmetric
    assert rtt("us-east-1", "us-east-1") == rtt("eu-west-1", "eu-west-1") == 0.002  # as at home
    assert rtt("nowhere", "us-east-1") == 0.060  # an unknown caller: as from the home
    # The clients' failover order is by round trip from their own home.
    assert regions_by_distance(scenario, "eu-west-1") == ("eu-west-1", "us-east-1", "us-west-2")
    assert regions_by_distance(scenario) == ("us-west-2", "us-east-1", "eu-west-1")


def test_populations_share_the_arrivals_by_weight() -> None:
    one = PopulationAssigner((1.0,), seed=3)
    assert {one.population_for() for _ in range(100)} == {0}
    split = PopulationAssigner((0.25, 0.75), seed=3)
    draws = [split.population_for() for _ in range(4000)]
    assert 0.22 < draws.count(0) / len(draws) < 0.28


@pytest.mark.looptime
async def test_a_service_call_pays_the_rtt_between_the_callers_region_and_the_callees() -> None:
    async with world_with_services(RTTS) as running:
        clock = running.clock

        async def round_trip(service: str, region: str, caller: str | None) -> float:
            transport = await running.transport(service, region, caller=caller)
            started = clock.now()
            result = await transport.send(
                Request(1, "call", "k", started, started + 10), region, timeout=10.0
            )
            assert result.outcome is Outcome.OK, result
            return clock.now() - started

        assert await round_trip("echo", "us-east-1", "eu-west-1") == pytest.approx(0.070, 0.05)
        assert await round_trip("echo", "us-east-1", "us-west-2") == pytest.approx(0.060, 0.05)
        assert await round_trip("echo", "us-east-1", None) == pytest.approx(0.060, 0.05)
        assert await round_trip("echo", "eu-west-1", "us-east-1") == pytest.approx(0.070, 0.05)
        # A server is a client in its own region: front@eu-west-1 reaches eu-west-1's
        # DynamoDB in 2 ms, not in the 130 ms the us-west-2 clients would pay.
        front = await round_trip("front", "eu-west-1", "eu-west-1")
        assert front == pytest.approx(0.002 + 0.002, abs=0.003)


async def test_a_hosted_world_serves_the_scenarios_services_and_lists_them() -> None:
    """`harness world` (and harness.testing) start the services too: the JSON line names them, a
    client can fetch a token from the global name, and the control API's metrics count it."""
    import aiohttp

    from harness.control.host import hosted_world

    scenario = parse_scenario(TWO_HOMES)
    async with hosted_world(scenario, control=("127.0.0.1", 0)) as hosted:
        info = hosted.info()
        auth = info["services"]["auth"]
        assert auth["names"] == {"us-east-1": "auth.us-east-1.aws.test", "global": "auth.aws.test"}
        assert auth["addresses"]["us-east-1"] and auth["port"] > 0
        clock = Clock.for_running_loop()
        resolver = uncached_resolver((info["dns"]["host"], info["dns"]["port"]), clock)
        endpoints = {"global": auth["names"]["global"]}
        transport = service_transport("auth", endpoints, auth["port"], resolver, "eu-west-1")
        await transport.start()
        try:
            now = clock.now()
            result = await transport.send(
                Request(1, "call", "k", now, now + 5), "global", timeout=5.0
            )
        finally:
            await transport.close()
            await resolver.close()
        assert result.outcome is Outcome.OK and result.region == "global"
        async with aiohttp.ClientSession() as http:
            async with http.get(info["metrics"]) as response:
                text = await response.text()
            # a fault on the service through the control API empties its names, global included
            entry = {"fault": "dns.nodata", "target": {"region": "us-east-1", "service": "auth"}}
            async with http.post(f"{info['control']}/faults", json=entry) as response:
                assert response.status in (200, 201), await response.text()
        assert "harness_service_requests_total{" in text
        assert 'service="auth"' in text and 'outcome="ok"' in text
        resolver = uncached_resolver((info["dns"]["host"], info["dns"]["port"]), clock)
        try:
            with pytest.raises(OSError) as failed:
                await resolver.resolve(auth["names"]["global"], auth["port"])
        finally:
            await resolver.close()
        assert getattr(failed.value, "outcome", None) is Outcome.DNS_NODATA
