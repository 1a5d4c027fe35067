"""Connection pooling on the loop clock: reuse, keep-alive off, max idle, max age, events, close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from transport_fakes import NAME, StandIn, StaticResolver, settle, stand_in, transport_to

from harness.client.api import Request
from harness.client.pool import LoopClockConnector
from harness.client.transport import HttpTransport
from harness.events import ConnectionsChanged, EventBus
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import PoolSettings


def request(key: str = "k") -> Request:
    return Request(id=1, op="get", key=key, intended_start=0.0, deadline=60.0)


class Recorder:
    def __init__(self, bus: EventBus) -> None:
        self.opens: list[int] = []
        bus.subscribe(ConnectionsChanged, self._on)

    def _on(self, event: ConnectionsChanged) -> None:
        assert (event.strategy, event.region) == ("s", "r1")
        self.opens.append(event.open)


@asynccontextmanager
async def world(
    pool: PoolSettings,
) -> AsyncIterator[tuple[HttpTransport, StandIn, StaticResolver, Recorder]]:
    bus = EventBus()
    recorder = Recorder(bus)
    resolver = StaticResolver({NAME: ("127.0.0.1",)})
    async with (
        stand_in("r1") as server,
        transport_to(server.port, resolver, pool, bus) as transport,
    ):
        yield transport, server, resolver, recorder


async def ok(transport: HttpTransport) -> None:
    result = await transport.send(request(), "r1", timeout=5)
    assert result.outcome is Outcome.OK, result


def connector_of(transport: HttpTransport) -> LoopClockConnector:
    return transport._routes["r1"].connector


@pytest.mark.looptime
async def test_keep_alive_reuses_one_connection() -> None:
    async with world(PoolSettings()) as (transport, server, resolver, recorder):
        for _ in range(5):
            await ok(transport)
        assert transport.open_connections() == {"r1": 1}
    assert len(server.peers) == 1
    assert resolver.lookups == 1  # a pooled connection needs no DNS
    assert recorder.opens == [1, 0]  # opened once, closed by close(): only changes are emitted


@pytest.mark.looptime
async def test_keep_alive_off_opens_a_connection_per_request() -> None:
    async with world(PoolSettings(keep_alive=False)) as (transport, server, resolver, recorder):
        for _ in range(3):
            await ok(transport)
            await settle()
            assert transport.open_connections() == {"r1": 0}
    assert len(server.peers) == 3
    assert resolver.lookups == 3
    assert recorder.opens == [1, 0, 1, 0, 1, 0]


@pytest.mark.looptime
async def test_concurrent_requests_open_more_connections_up_to_the_limit() -> None:
    async with world(PoolSettings(limit=2)) as (transport, server, _, _recorder):
        await asyncio.gather(*(ok(transport) for _ in range(6)))
        assert transport.open_connections() == {"r1": 2}
    assert len(server.peers) == 2


@pytest.mark.looptime
async def test_max_idle_closes_on_the_loop_clock() -> None:
    async with world(PoolSettings(max_idle=2.0)) as (transport, server, resolver, recorder):
        await ok(transport)
        await asyncio.sleep(1.5)
        assert transport.open_connections() == {"r1": 1}
        await ok(transport)  # reused: idleness restarts now
        await asyncio.sleep(1.5)
        assert transport.open_connections() == {"r1": 1}
        await asyncio.sleep(0.8)  # idle 2.3 s > max_idle: the sweeper has closed it
        await settle()
        assert transport.open_connections() == {"r1": 0}
        assert recorder.opens == [1, 0]
        await ok(transport)
    assert len(server.peers) == 2
    assert resolver.lookups == 2


@pytest.mark.looptime
async def test_max_age_retires_a_busy_connection_on_release() -> None:
    pool = PoolSettings(max_idle=100.0, max_age=3.0)
    async with world(pool) as (transport, server, _, recorder):
        server.delay = 2.0
        await ok(transport)  # t=0..2: pooled, 2 s old
        await ok(transport)  # t=2..4: reused, 4 s old when released: not cut, but retired
        await settle()
        assert transport.open_connections() == {"r1": 0}
        await ok(transport)
        assert recorder.opens == [1, 0, 1]
    assert len(server.peers) == 2


@pytest.mark.looptime
async def test_max_age_counts_from_connection_birth() -> None:
    pool = PoolSettings(max_idle=100.0, max_age=3.0)
    async with world(pool) as (transport, server, _, _recorder):
        for _ in range(7):  # one request per second, each instantaneous
            await ok(transport)
            await asyncio.sleep(1.0)
    # Each connection serves t, t+1, t+2 and is 3 s old at t+3: 0-2, 3-5, 6.
    assert len(server.peers) == 3


@pytest.mark.looptime
async def test_max_age_closes_an_idle_connection() -> None:
    pool = PoolSettings(max_idle=100.0, max_age=3.0)
    async with world(pool) as (transport, _, _, recorder):
        await ok(transport)
        await asyncio.sleep(2.5)
        assert transport.open_connections() == {"r1": 1}
        await asyncio.sleep(0.8)
        await settle()
        assert transport.open_connections() == {"r1": 0}
        assert recorder.opens == [1, 0]


@pytest.mark.looptime
async def test_an_expired_connection_is_never_reused_even_between_sweeps() -> None:
    async with world(PoolSettings(max_idle=1.0)) as (transport, server, _, _recorder):
        connector = connector_of(transport)
        await ok(transport)
        await transport._sweeper.stop()  # type: ignore[union-attr]  # only _get may prune now
        await asyncio.sleep(1.01)
        assert connector.idle_count == 1
        await ok(transport)
    assert len(server.peers) == 2


@pytest.mark.looptime
async def test_server_closing_an_idle_connection_is_counted() -> None:
    async with world(PoolSettings()) as (transport, server, _, recorder):
        await ok(transport)
        connector = connector_of(transport)
        for conns in connector._conns.values():  # the server side goes away
            for proto, _ in conns:
                assert proto.transport is not None
                proto.transport.abort()
        await settle()
        assert transport.open_connections() == {"r1": 0}
        await ok(transport)
        assert recorder.opens == [1, 0, 1]
    assert len(server.peers) == 2


@pytest.mark.looptime
async def test_close_leaves_no_open_connection() -> None:
    async with world(PoolSettings()) as (transport, server, _, recorder):
        await asyncio.gather(*(ok(transport) for _ in range(3)))
        connector = connector_of(transport)
        protos = [proto for conns in connector._conns.values() for proto, _ in conns]
        assert len(protos) == 3
        assert transport.open_connections() == {"r1": 3}
        await transport.close()
        assert connector.closed
        assert connector.open_count == 0
        assert not connector._conns and not connector._acquired
        assert all(not proto.is_connected() for proto in protos)
        assert transport.open_connections() == {}
        assert recorder.opens[-1] == 0
        await transport.close()  # idempotent
    assert len(server.peers) == 3


@pytest.mark.looptime
async def test_the_sweeper_closes_at_the_first_grid_point_after_expiry() -> None:
    # Sweeps fall on a 0.25 s grid from the transport's start: idle since ~0, max_idle 0.6 ->
    # closed at the 0.75 s point, not at 0.6 s and not later.
    async with world(PoolSettings(max_idle=0.6)) as (transport, _, _, recorder):
        loop = asyncio.get_running_loop()
        start = loop.time()
        await ok(transport)
        await asyncio.sleep(start + 0.74 - loop.time())
        await settle()
        assert transport.open_connections() == {"r1": 1}
        await asyncio.sleep(start + 0.76 - loop.time())
        await settle()
        assert transport.open_connections() == {"r1": 0}
        assert recorder.opens == [1, 0]


@pytest.mark.looptime
async def test_the_sweeper_sleeps_while_nothing_can_expire() -> None:
    async with world(PoolSettings(max_idle=5.0)) as (transport, _, _, _recorder):
        connector = connector_of(transport)
        sweeps = 0
        sweep = connector.sweep

        def counted() -> int:
            nonlocal sweeps
            sweeps += 1
            return sweep()

        connector.sweep = counted  # type: ignore[method-assign]
        await asyncio.sleep(20.0)  # no connection at all: no wake-up
        assert sweeps == 0
        await ok(transport)
        await asyncio.sleep(20.0)  # one idle connection: woken around its expiry only
        assert transport.open_connections() == {"r1": 0}
        assert 1 <= sweeps <= 2  # a sweep every 0.25 s would have been 80


@pytest.mark.looptime
async def test_a_release_with_an_earlier_deadline_wakes_the_sweeper_earlier() -> None:
    # B (opened at 0, busy until 2, max_age 5) expires at 5, before A (opened and released at 1,
    # expiring at 6): the sweeper, set for 6 when A was released, must close B at 5.
    pool = PoolSettings(max_idle=10.0, max_age=5.0)
    async with world(pool) as (transport, server, _, recorder):
        loop = asyncio.get_running_loop()
        start = loop.time()
        server.delay = 2.0
        slow = asyncio.create_task(ok(transport))
        await asyncio.sleep(0.5)  # B's request is in the server's 2 s delay by now
        server.delay = 0.0
        await asyncio.sleep(start + 1.0 - loop.time())
        await ok(transport)  # B is busy: A is opened, and idle from 1 s
        await slow
        assert transport.open_connections() == {"r1": 2}
        await asyncio.sleep(start + 5.3 - loop.time())
        await settle()
        assert transport.open_connections() == {"r1": 1}
        await asyncio.sleep(1.0)
        await settle()
        assert transport.open_connections() == {"r1": 0}
        assert recorder.opens == [1, 2, 1, 0]
