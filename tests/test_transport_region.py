"""The transport against the real world: a Region behind the real DnsServer and DnsResolver."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from transport_fakes import NAME, real_dns, settle, transport_to

from harness.client.api import AttemptResult, Request
from harness.client.transport import HttpTransport
from harness.events import EventBus
from harness.outcomes import Outcome
from harness.scenario.model import CapacitySpec, RegionSpec
from harness.scenario.strategy_spec import PoolSettings
from harness.scenario.types import LatencySpec
from harness.world.control import EndpointOverride
from harness.world.dns import Zone
from harness.world.region import Region

ADDRESSES = ("127.0.30.1", "127.0.30.2")


@dataclass
class World:
    transport: HttpTransport
    zone: Zone
    region: Region

    async def send(self, op: str = "get", key: str = "k", timeout: float = 5.0) -> AttemptResult:
        request = Request(id=1, op=op, key=key, intended_start=0.0, deadline=1e9, value="v")
        return await self.transport.send(request, "r1", timeout=timeout)


@asynccontextmanager
async def world(
    pool: PoolSettings | None = None, spec: RegionSpec | None = None
) -> AsyncIterator[World]:
    bus = EventBus()
    zone = Zone("aws.test", ttl=5, negative_ttl=5, bus=bus)
    zone.set_addresses(NAME, ADDRESSES)
    spec = spec or RegionSpec(
        name="r1", endpoints=2, rtt=0.0, service_time=LatencySpec(median=0.0, p99=0.0)
    )
    region = Region(spec, ADDRESSES, rng=random.Random(7), bus=bus)
    async with (
        real_dns(zone, bus) as resolver,
        region,
        transport_to(region.port, resolver, pool, bus) as transport,
    ):
        yield World(transport, zone, region)


@pytest.mark.looptime
async def test_write_then_read_reports_region_and_version() -> None:
    async with world() as w:
        await asyncio.sleep(5.0)
        written_at = asyncio.get_running_loop().time()
        assert (await w.send("put")).outcome is Outcome.OK
        for op in ("update", "get"):
            result = await w.send(op)
            assert (result.outcome, result.status, result.region) == (Outcome.OK, 200, "r1")
        assert result.version is not None
        assert result.version >= written_at
        missing = await w.send("get", key="never-written")
        assert (missing.outcome, missing.version) == (Outcome.OK, None)
        assert (await w.send("delete")).outcome is Outcome.OK


@pytest.mark.looptime
@pytest.mark.parametrize(
    ("override", "outcome", "status"),
    [
        (EndpointOverride(mode="errors", status=500), Outcome.SERVER_ERROR, 500),
        (EndpointOverride(mode="errors", status=503), Outcome.SERVER_ERROR, 503),
        (EndpointOverride(mode="errors", status="throttling"), Outcome.THROTTLED, 400),
        (EndpointOverride(mode="reset"), Outcome.CONNECT_ERROR, None),
        (EndpointOverride(mode="blackhole"), Outcome.TIMEOUT, None),
        (EndpointOverride(mode="down"), Outcome.CONNECT_ERROR, None),
    ],
)
async def test_endpoint_faults(
    override: EndpointOverride, outcome: Outcome, status: int | None
) -> None:
    async with world() as w:
        w.region.add_override(override)
        result = await w.send(timeout=2.0)
        assert (result.outcome, result.status) == (outcome, status), result.detail


@pytest.mark.looptime
async def test_capacity_throttling_is_throttled() -> None:
    spec = RegionSpec(
        name="r1",
        endpoints=2,
        rtt=0.0,
        service_time=LatencySpec(median=1.0, p99=1.0),
        capacity=CapacitySpec(concurrency=1, queue=0),
    )
    async with world(spec=spec) as w:
        results = await asyncio.gather(w.send(), w.send())
        assert sorted(r.outcome for r in results) == [Outcome.OK, Outcome.THROTTLED]
        throttled = next(r for r in results if r.outcome is Outcome.THROTTLED)
        assert throttled.detail == "ProvisionedThroughputExceededException"


@pytest.mark.looptime
async def test_emptied_record_spares_pooled_connections_but_fails_new_ones() -> None:
    async with world(PoolSettings(max_idle=60.0, max_age=10.0)) as w:
        assert (await w.send("put")).outcome is Outcome.OK
        w.zone.empty(NAME)
        for _ in range(3):
            assert (await w.send()).outcome is Outcome.OK  # on the kept-alive connection
        slow = EndpointOverride(mode="latency", delay=0.5)
        handle = w.region.add_override(slow)
        both = await asyncio.gather(w.send(), w.send())  # the second needs a new connection
        assert sorted(r.outcome for r in both) == [Outcome.DNS_NODATA, Outcome.OK]
        await w.region.remove_override(handle)
        await asyncio.sleep(10.0)  # max_age retires the pooled connection
        assert (await w.send()).outcome is Outcome.DNS_NODATA
        w.zone.set_addresses(NAME, ADDRESSES)
        assert (await w.send()).outcome is Outcome.OK


@pytest.mark.looptime
async def test_pooling_seen_from_the_server_and_close_leaves_nothing_open() -> None:
    async with world() as w:
        for _ in range(5):
            assert (await w.send()).outcome is Outcome.OK
        assert w.region.stats().connections_open == 1
        await asyncio.gather(*(w.send() for _ in range(4)))
        assert w.region.stats().connections_open == w.transport.open_connections()["r1"] == 4
        await w.transport.close()
        await settle()
        assert w.region.stats().connections_open == 0
