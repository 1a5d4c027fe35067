"""End to end, in one loop under the virtual clock: a live world, real DNS and HTTP, two strategies.
us-east-1's record is emptied through the world's control API mid-run (no fault injector)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

import pytest

from harness.client import catalog
from harness.clock import Clock
from harness.events import EventBus, RequestFinished
from harness.runner.clients import StrategyClient
from harness.scenario import parse_scenario
from harness.world.world import World

SCENARIO = """
name: e2e
seed: 3
duration: 24s
dns: {ttl: 1s, negative_ttl: 1s}
regions:
  - {name: us-east-1, endpoints: 2, rtt: 1ms, connections: {max_age: 2s}}
  - {name: us-west-2, endpoints: 2, rtt: 30ms, connections: {max_age: 2s}}
clients: {rate: 40/s, deadline: 2s, arrival: constant}
strategies: [naive, breaker-failover]
run: {isolation: shared}
"""

EMPTY_AT, RESTORE_AT = 8.0, 16.0


def between(
    records: list[RequestFinished], strategy: str, start: float, end: float
) -> list[RequestFinished]:
    """Requests of `strategy` whose intended start (relative to the run) is in [start, end)."""
    return [r for r in records if r.strategy == strategy and start <= r.intended_start < end]


def window(records: list[RequestFinished], strategy: str, start: float, end: float) -> Counter[str]:
    return Counter(r.outcome.value for r in between(records, strategy, start, end))


@pytest.mark.looptime
async def test_emptied_record_fails_naive_and_breaker_failover_serves_elsewhere() -> None:
    scenario = parse_scenario(SCENARIO)
    loop = asyncio.get_running_loop()
    clock = Clock.for_running_loop()
    bus = EventBus()
    records: list[RequestFinished] = []
    bus.subscribe(RequestFinished, records.append)
    async with World(scenario, bus=bus, owner="shared") as world:
        clients = [
            StrategyClient(
                name,
                catalog.get(name),
                world=world,
                scenario=scenario,
                clock=clock,
                bus=bus,
                seed=scenario.seed,
            )
            for name in ("naive", "breaker-failover")
        ]
        for client in clients:
            await client.start()
        name = world.dns_name("us-east-1")
        addresses = world.zone.addresses(name)
        assert addresses
        origin = clock.now()
        loop.call_at(origin + EMPTY_AT, world.zone.empty, name)
        loop.call_at(origin + RESTORE_AT, world.zone.set_addresses, name, addresses)
        try:
            await asyncio.gather(*(c.generator.run(origin) for c in clients))
        finally:
            for client in clients:
                await client.close()

    records = [replace(r, intended_start=r.intended_start - origin) for r in records]
    before = window(records, "naive", 0, EMPTY_AT)
    assert before["ok"] == sum(before.values()) > 0, before

    # Right after the record is emptied, kept-alive connections still carry requests...
    carried = [r for r in between(records, "naive", EMPTY_AT, EMPTY_AT + 0.5) if r.outcome == "ok"]
    assert carried and all(r.region_served == "us-east-1" for r in carried)
    # ...until the servers recycle them (max_age 2 s) and new connections need DNS.
    during = window(records, "naive", EMPTY_AT + 3.5, RESTORE_AT)
    assert during["dns_nodata"] >= 0.9 * sum(during.values()), during

    failover = between(records, "breaker-failover", EMPTY_AT + 3.5, RESTORE_AT)
    ok = [r for r in failover if r.outcome == "ok"]
    assert len(ok) >= 0.9 * len(failover), Counter(r.outcome.value for r in failover)
    assert {r.region_served for r in ok} == {"us-west-2"}

    after = window(records, "naive", RESTORE_AT + 3.0, 24.0)
    assert after["ok"] == sum(after.values()) > 0, after
