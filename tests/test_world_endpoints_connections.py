"""Server-side connection lifetime on the loop clock: idle timeout, max age, max requests, drain."""

from __future__ import annotations

import asyncio

import pytest
from world_endpoint_support import RawConnection, get, region_spec, running_region

pytestmark = pytest.mark.looptime


async def test_max_requests_closes_after_the_nth_response() -> None:
    spec = region_spec(connections={"idle_timeout": 60, "max_age": None, "max_requests": 3})
    async with running_region(spec) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        replies = [await conn.call("GetItem", get("k")) for _ in range(3)]
        closed = await conn.wait_closed_by_server()
        await asyncio.sleep(0)
        stats = region.stats()
        await conn.close()
    assert [r.headers.get("connection", "keep-alive").lower() for r in replies] == [
        "keep-alive",
        "keep-alive",
        "close",
    ]
    assert all(r.status == 200 for r in replies)
    assert closed
    assert stats.connections_closed_by_server_total == 1
    assert stats.connections_open == 0


async def test_max_age_never_closes_an_idle_connection_but_its_next_answer_does() -> None:
    # Closing an idle kept-alive connection races the client reusing it; max age acts at the next
    # response boundary instead, and only the idle timeout closes idle connections.
    spec = region_spec(connections={"idle_timeout": 60, "max_age": 10})
    async with running_region(spec) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        assert (await conn.call("GetItem", get("k"))).headers.get("connection") != "close"
        await asyncio.sleep(30)  # well past max age, still within the idle timeout
        assert region.stats().connections_open == 1
        reply = await conn.call("GetItem", get("k"))
        assert reply.status == 200 and reply.headers.get("connection") == "close"
        assert await conn.wait_closed_by_server()
        await asyncio.sleep(0)
        assert region.stats().connections_closed_by_server_total == 1
        await conn.close()


async def test_max_age_answers_a_busy_connection_then_closes_it() -> None:
    spec = region_spec(service_time=5.0, connections={"idle_timeout": 60, "max_age": 3})
    async with running_region(spec) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        reply = await conn.call("GetItem", get("k"))
        closed = await conn.wait_closed_by_server()
        await conn.close()
    assert reply.status == 200
    assert reply.headers["connection"].lower() == "close"
    assert closed


async def test_idle_timeout_counts_from_the_last_response() -> None:
    spec = region_spec(connections={"idle_timeout": 5, "max_age": None})
    async with running_region(spec) as region:
        loop = asyncio.get_running_loop()
        start = loop.time()
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        await asyncio.sleep(3)
        assert (await conn.call("GetItem", get("k"))).status == 200
        await asyncio.sleep(4)  # 7 s after opening: older than the idle timeout, but active at 3 s
        assert (await conn.call("GetItem", get("k"))).status == 200
        assert await conn.wait_closed_by_server()
        lived = loop.time() - start
        await asyncio.sleep(0)
        stats = region.stats()
        await conn.close()
    assert lived == pytest.approx(12, abs=0.01)
    assert stats.connections_closed_by_server_total == 1


async def test_a_client_closing_is_not_counted_as_closed_by_server() -> None:
    async with running_region(region_spec()) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        await conn.call("GetItem", get("k"))
        assert region.stats().connections_open == 1
        await conn.close()
        await asyncio.sleep(0.01)
        stats = region.stats()
    assert stats.connections_open == 0
    assert stats.connections_closed_by_server_total == 0


async def test_drain_closes_idle_connections_only() -> None:
    spec = region_spec(service_time=2.0)
    async with running_region(spec) as region:
        first, second, _third = region.endpoint_addresses()
        idle = [
            await RawConnection.open(address, region.port) for address in (first, second, first)
        ]
        for conn in idle:
            await conn.call("GetItem", get("k"))
        busy = await RawConnection.open(first, region.port)
        await busy.send("GetItem", get("k"))
        await asyncio.sleep(1)
        assert region.stats().connections_open == 4
        assert await region.drain((1,)) == 1  # only the idle one on endpoint 1
        assert await idle[1].wait_closed_by_server()
        assert await region.drain() == 2  # the other idle ones; the busy one is left alone
        assert (await busy.receive()).status == 200
        await asyncio.sleep(0)
        stats = region.stats()
        for conn in [*idle, busy]:
            await conn.close()
    assert stats.connections_closed_by_server_total == 3
    assert stats.connections_open == 1
