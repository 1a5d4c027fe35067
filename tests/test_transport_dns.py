"""The transport against the real DNS: DnsServer + DnsResolver, and a stand-in endpoint.

The key behaviour of the outage: emptying the record does not touch kept-alive connections; only a
request that needs a new connection sees the DNS failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from transport_fakes import NAME, StandIn, real_dns, settle, stand_in, transport_to

from harness.client.api import AttemptResult, Request
from harness.client.transport import HttpTransport
from harness.events import EventBus
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import DnsSettings, PoolSettings
from harness.world.control import DnsOverride
from harness.world.dns import Zone

ENDPOINT = "127.0.10.1"


@dataclass
class Rig:
    transport: HttpTransport
    zone: Zone
    server: StandIn

    async def send(self, timeout: float = 5.0) -> AttemptResult:
        request = Request(id=1, op="get", key="k", intended_start=0.0, deadline=1e9)
        return await self.transport.send(request, "r1", timeout=timeout)


@asynccontextmanager
async def rig(pool: PoolSettings, dns: DnsSettings | None = None) -> AsyncIterator[Rig]:
    bus = EventBus()
    zone = Zone("aws.test", ttl=5, negative_ttl=5, bus=bus)
    zone.set_addresses(NAME, (ENDPOINT,))
    async with (
        real_dns(zone, bus, dns) as resolver,
        stand_in("r1", host=ENDPOINT) as server,
        transport_to(server.port, resolver, pool, bus) as transport,
    ):
        yield Rig(transport, zone, server)


@pytest.mark.looptime
async def test_emptied_record_spares_pooled_connections_but_fails_new_ones() -> None:
    async with rig(PoolSettings(max_idle=60.0, max_age=10.0)) as world:
        assert (await world.send()).outcome is Outcome.OK
        assert world.transport.open_connections() == {"r1": 1}

        world.zone.empty(NAME)  # the 2025-10-20 failure: the name stays, its addresses go

        # The kept-alive connection needs no DNS: sequential requests keep succeeding.
        for _ in range(3):
            assert (await world.send()).outcome is Outcome.OK
        # Two at once: one rides the pooled connection, the other needs a new one -> NODATA.
        world.server.delay = 0.5
        both = await asyncio.gather(world.send(), world.send())
        assert sorted(r.outcome for r in both) == [Outcome.DNS_NODATA, Outcome.OK]
        world.server.delay = 0.0

        # Once max_age retires the pooled connection, every request needs DNS and fails.
        await asyncio.sleep(10.0)
        await settle()
        assert world.transport.open_connections() == {"r1": 0}
        assert (await world.send()).outcome is Outcome.DNS_NODATA

        world.zone.set_addresses(NAME, (ENDPOINT,))  # recovery
        assert (await world.send()).outcome is Outcome.OK
    assert len(world.server.peers) == 2
    assert world.server.requests == 6  # 1 + 3 sequential + 1 of the pair + recovery


@pytest.mark.looptime
@pytest.mark.parametrize(
    ("override", "outcome"),
    [
        (DnsOverride(mode="nxdomain"), Outcome.DNS_NXDOMAIN),
        (DnsOverride(mode="nodata"), Outcome.DNS_NODATA),
        (DnsOverride(mode="servfail"), Outcome.DNS_SERVFAIL),
        (DnsOverride(mode="drop"), Outcome.DNS_TIMEOUT),
    ],
)
async def test_each_dns_failure_kind(override: DnsOverride, outcome: Outcome) -> None:
    dns = DnsSettings(cache="none", query_timeout=1.0, query_attempts=2)
    async with rig(PoolSettings(), dns) as world:
        world.zone.add_override(NAME, override)
        result = await world.send(timeout=5.0)
        assert result.outcome is outcome, result.detail
        assert result.region == "r1"
        assert world.server.requests == 0


@pytest.mark.looptime
async def test_deleted_name_is_nxdomain() -> None:
    async with rig(PoolSettings(keep_alive=False)) as world:
        assert (await world.send()).outcome is Outcome.OK
        world.zone.delete(NAME)
        assert (await world.send()).outcome is Outcome.DNS_NXDOMAIN


@pytest.mark.looptime
async def test_attempt_timeout_covers_dns() -> None:
    dns = DnsSettings(cache="none", query_timeout=1.0, query_attempts=3)
    async with rig(PoolSettings(), dns) as world:
        world.zone.add_override(NAME, DnsOverride(mode="drop"))
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await world.send(timeout=0.5)
        assert result.outcome is Outcome.TIMEOUT
        assert loop.time() - start == pytest.approx(0.5, abs=0.01)
