"""Every endpoint override, its rate (0 = no effect at all), its endpoint subset, reverting."""

from __future__ import annotations

import asyncio
import random

import pytest
from world_endpoint_support import RawConnection, Reply, get, put, region_spec, running_region

from harness.events import EventBus
from harness.world.control import EndpointOverride
from harness.world.region import EndpointChanged, Region

pytestmark = pytest.mark.looptime


async def call(region: Region, endpoint: int = 0, op: str = "GetItem") -> tuple[Reply, float]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    conn = await RawConnection.open(region.endpoint_addresses()[endpoint], region.port)
    try:
        reply = await conn.call(op, get("k") if op == "GetItem" else put("k"))
    finally:
        await conn.close()
    return reply, loop.time() - start


async def test_latency_adds_delay_plus_jitter() -> None:
    async with running_region(region_spec(rtt=0.01)) as region:
        handle = region.add_override(EndpointOverride("latency", delay=0.5, jitter=0.2))
        delayed = [(await call(region))[1] for _ in range(20)]
        await region.remove_override(handle)
        _, normal = await call(region)
    assert all(0.51 <= d <= 0.71 + 1e-9 for d in delayed)
    assert max(delayed) - min(delayed) > 0.05  # the jitter is drawn per request
    assert normal == pytest.approx(0.01, abs=1e-6)


@pytest.mark.parametrize(
    ("status", "http", "code"),
    [
        (500, 500, "InternalServerError"),
        (503, 503, "ServiceUnavailable"),
        ("throttling", 400, "ThrottlingException"),
    ],
)
async def test_injected_errors(status: int | str, http: int, code: str) -> None:
    async with running_region(region_spec()) as region:
        region.add_override(EndpointOverride("errors", status=status))
        reply, _ = await call(region, op="PutItem")
        stats = region.stats()
        items = region.store.items("items")
    assert (reply.status, reply.error_code) == (http, code)
    assert items == 0  # the request never reached the store
    assert stats.errors_total == (1 if http >= 500 else 0)
    assert stats.throttled_total == (1 if http == 400 else 0)
    assert stats.served_total == 0


async def test_rate_zero_has_no_effect_at_all() -> None:
    spec = region_spec(service_time={"median": 0.01, "p99": 0.2})
    runs: list[list[float]] = []
    for mode in ("errors", "latency", "reset", "blackhole", "throttle", "down", None):
        async with running_region(spec, seed=3) as region:
            if mode is not None:
                region.add_override(EndpointOverride(mode, rate=0.0, delay=1.0, fraction=0.0))
            results = [await call(region) for _ in range(10)]
        assert all(reply.status == 200 for reply, _ in results)
        runs.append([elapsed for _, elapsed in results])
    # No draws from the region's rng either: service times are exactly those of a clean run.
    assert all(run == pytest.approx(runs[-1], abs=1e-9) for run in runs)


async def test_partial_rate_hits_a_seeded_share_of_requests() -> None:
    async with running_region(region_spec()) as region:
        region.add_override(EndpointOverride("errors", rate=0.3, status=503))
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        statuses = [(await conn.call("GetItem", get("k"))).status for _ in range(200)]
        await conn.close()
    failed = statuses.count(503)
    assert 35 <= failed <= 85
    assert statuses.count(200) == 200 - failed


async def test_overrides_target_endpoint_subsets() -> None:
    async with running_region(region_spec()) as region:
        region.add_override(EndpointOverride("errors", endpoints=(1,), status=500))
        region.add_override(EndpointOverride("latency", endpoints=(0, 2), delay=1.0))
        results = [await call(region, endpoint) for endpoint in range(3)]
    assert [reply.status for reply, _ in results] == [200, 500, 200]
    assert [round(elapsed, 3) for _, elapsed in results] == [1.0, 0.0, 1.0]


async def test_throttle_cuts_capacity_until_removed() -> None:
    spec = region_spec(service_time=1.0, capacity={"concurrency": 4, "queue": 0})

    async def burst(region: Region) -> list[int]:
        results = await asyncio.gather(*(call(region) for _ in range(4)))
        return [reply.status for reply, _ in results]

    async with running_region(spec) as region:
        half = region.add_override(EndpointOverride("throttle", fraction=0.5))
        during = await burst(region)
        assert (region.stats().concurrency, region.stats().queue_limit) == (2, 0)
        await region.remove_override(half)
        after = await burst(region)
        zero = region.add_override(EndpointOverride("throttle", fraction=0.0, endpoints=(0,)))
        refused = await burst(region)
        elsewhere, _ = await call(region, 1)
        await region.remove_override(zero)
        stats = region.stats()
    assert sorted(during) == [200, 200, 400, 400]
    assert after == [200] * 4
    assert refused == [400] * 4
    assert elsewhere.status == 200
    assert stats.throttled_total == 6
    assert (stats.concurrency, stats.queue_limit) == (4, 0)


async def test_blackhole_holds_requests_until_the_client_gives_up() -> None:
    async with running_region(region_spec()) as region:
        handle = region.add_override(EndpointOverride("blackhole", endpoints=(0,)))
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        await conn.send("PutItem", put("k"))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(30):
                await conn.receive()
        assert region.stats().connections_open == 1
        await conn.close()
        await asyncio.sleep(0.01)
        stats = region.stats()
        other, _ = await call(region, 1)
        held = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        await held.send("GetItem", get("k"))  # still held when the region stops
        await asyncio.sleep(1)
        await region.remove_override(handle)
        after, _ = await call(region, 0)
    assert await held.wait_closed_by_server()
    await held.close()
    assert stats.abandoned_total == 1
    assert region.store.items("items") == 0
    assert other.status == 200
    assert after.status == 200


async def test_reset_closes_the_connection_without_a_response() -> None:
    async with running_region(region_spec()) as region:
        handle = region.add_override(EndpointOverride("reset"))
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        await conn.send("PutItem", put("k"))
        with pytest.raises(ConnectionError):
            await conn.receive()
        await conn.close()
        await region.remove_override(handle)
        after, _ = await call(region)
    assert after.status == 200
    assert region.store.items("items") == 0


async def test_down_refuses_connections_and_revert_accepts_them_again() -> None:
    async with running_region(region_spec()) as region:
        port = region.port
        addresses = region.endpoint_addresses()
        kept = await RawConnection.open(addresses[2], port)
        await kept.call("GetItem", get("k"))
        first = region.add_override(EndpointOverride("down", endpoints=(1, 2)))
        second = region.add_override(EndpointOverride("down", endpoints=(2,)))
        assert await kept.wait_closed_by_server()  # existing connections are closed too
        for endpoint in (1, 2):
            with pytest.raises(ConnectionRefusedError):
                await RawConnection.open(addresses[endpoint], port)
        up, _ = await call(region, 0)
        await region.remove_override(first)
        back, _ = await call(region, 1)
        with pytest.raises(ConnectionRefusedError):  # still down under the second override
            await RawConnection.open(addresses[2], port)
        await region.remove_override(second)
        await region.remove_override(second)  # idempotent
        again, _ = await call(region, 2)
        assert region.port == port
        await kept.close()
    assert (up.status, back.status, again.status) == (200, 200, 200)


async def test_partial_down_drops_a_share_of_new_connections() -> None:
    async with running_region(region_spec()) as region:
        region.add_override(EndpointOverride("down", rate=0.5, endpoints=(0,)))
        outcomes = []
        for _ in range(40):
            try:
                reply, _ = await call(region, 0)
                outcomes.append(reply.status)
            except ConnectionError:
                outcomes.append(0)
    assert 8 <= outcomes.count(0) <= 32
    assert outcomes.count(200) == 40 - outcomes.count(0)


async def test_changes_are_events_with_loop_time() -> None:
    bus = EventBus()
    seen: list[EndpointChanged] = []
    bus.subscribe(EndpointChanged, seen.append)
    spec = region_spec()
    region = Region(spec, ("127.0.77.1", "127.0.77.2", "127.0.77.3"), rng=random.Random(1), bus=bus)
    async with region:
        await asyncio.sleep(5)
        handle = region.add_override(EndpointOverride("errors"))
        await region.remove_override(handle)
        await region.drain()
    assert [e.change for e in seen] == ["override_added", "override_removed", "drained"]
    assert all(e.region == "us-east-1" and e.at == pytest.approx(seen[0].at) for e in seen)
