"""Latency, capacity, queue discipline and abandoned work, on the virtual clock."""

from __future__ import annotations

import asyncio

import pytest
from world_endpoint_support import RawConnection, Reply, get, put, region_spec, running_region

from harness.world.capacity import Admission, Capacity
from harness.world.region import Region

pytestmark = pytest.mark.looptime


def never_gone() -> bool:
    return False


async def hold(capacity: Capacity, seconds: float, order: list[str], name: str) -> Admission:
    admission = await capacity.acquire(never_gone)
    if admission is Admission.ADMITTED:
        order.append(name)
        await asyncio.sleep(seconds)
        capacity.release()
    return admission


@pytest.mark.parametrize(("discipline", "expected"), [("fifo", "abcd"), ("lifo", "adcb")])
async def test_queue_discipline_orders_waiting_work(discipline: str, expected: str) -> None:
    capacity = Capacity(1, 10, discipline=discipline)  # type: ignore[arg-type]
    order: list[str] = []
    async with asyncio.TaskGroup() as group:
        for name in "abcd":
            group.create_task(hold(capacity, 1.0, order, name))
            await asyncio.sleep(0.01)
        assert (capacity.in_service, capacity.queued) == (1, 3)
    assert "".join(order) == expected


async def test_beyond_concurrency_and_queue_is_throttled() -> None:
    capacity = Capacity(2, 1)
    order: list[str] = []
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(hold(capacity, 1.0, order, str(i))) for i in range(5)]
    results = [task.result() for task in tasks]
    assert results.count(Admission.ADMITTED) == 3
    assert results.count(Admission.THROTTLED) == 2
    assert capacity.throttled_total == 2
    assert (capacity.in_service, capacity.queued) == (0, 0)


async def test_cuts_scale_capacity_and_zero_refuses_everything() -> None:
    capacity = Capacity(10, 100)
    capacity.add_cut(1, 0.25)
    assert capacity.limits() == (2, 25)
    assert capacity.limits(()) == (10, 100)
    capacity.add_cut(2, 0.01)
    assert capacity.limits((2,)) == (1, 1)  # at least one in service while the fraction is > 0
    capacity.add_cut(3, 0.0)
    assert capacity.limits((1, 3)) == (0, 0)
    assert await capacity.acquire(never_gone, (3,)) is Admission.THROTTLED
    assert await capacity.acquire(never_gone, (1,)) is Admission.ADMITTED
    assert await capacity.acquire(never_gone, (1,)) is Admission.ADMITTED
    waiter = asyncio.ensure_future(capacity.acquire(never_gone, (1,)))
    await asyncio.sleep(0)
    assert capacity.queued == 1  # the cut allows 2 in service
    capacity.remove_cut(1)  # lifting the cut lets it in at once
    assert await waiter is Admission.ADMITTED
    assert capacity.in_service == 3


async def test_cancelled_waiter_leaves_the_queue() -> None:
    capacity = Capacity(1, 1)
    assert await capacity.acquire(never_gone) is Admission.ADMITTED
    waiter = asyncio.ensure_future(capacity.acquire(never_gone))
    await asyncio.sleep(0)
    assert await capacity.acquire(never_gone) is Admission.THROTTLED  # queue full
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert capacity.queued == 0
    late = asyncio.ensure_future(capacity.acquire(never_gone))
    await asyncio.sleep(0)
    capacity.release()
    assert await late is Admission.ADMITTED


async def test_drop_abandoned_skips_gone_waiters_at_the_head() -> None:
    capacity = Capacity(1, 5, drop_abandoned=True)
    assert await capacity.acquire(never_gone) is Admission.ADMITTED
    gone = asyncio.ensure_future(capacity.acquire(lambda: True))
    alive = asyncio.ensure_future(capacity.acquire(never_gone))
    await asyncio.sleep(0)
    capacity.release()
    assert await gone is Admission.DROPPED
    assert await alive is Admission.ADMITTED
    assert capacity.dropped_total == 1


# ---- through the region's endpoints ---------------------------------------------------------


async def timed_call(region: Region, op: str, payload: dict[str, object]) -> tuple[Reply, float]:
    loop = asyncio.get_running_loop()
    conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
    start = loop.time()
    reply = await conn.call(op, payload)
    elapsed = loop.time() - start
    await conn.close()
    return reply, elapsed


async def test_latency_is_rtt_plus_service_time() -> None:
    spec = region_spec(rtt=0.1, service_time={"median": 0.05, "p99": 0.05})
    async with running_region(spec) as region:
        reply, elapsed = await timed_call(region, "GetItem", get("k"))
    assert reply.status == 200
    assert elapsed == pytest.approx(0.15, abs=0.005)


async def test_service_time_is_drawn_from_the_seeded_distribution() -> None:
    spec = region_spec(service_time={"median": 0.01, "p99": 0.5})
    latencies: list[list[float]] = []
    for _ in range(2):
        async with running_region(spec, seed=7) as region:
            latencies.append(
                [(await timed_call(region, "GetItem", get("k")))[1] for _ in range(20)]
            )
    assert latencies[0] == pytest.approx(latencies[1], abs=1e-6)  # same seed, same draws
    assert min(latencies[0]) < 0.01 < max(latencies[0])
    assert max(latencies[0]) < 1.0


async def test_burst_fills_capacity_then_queue_then_throttles() -> None:
    spec = region_spec(rtt=0.0, service_time=1.0, capacity={"concurrency": 2, "queue": 3})
    async with running_region(spec) as region:
        results = await asyncio.gather(
            *(timed_call(region, "PutItem", put(f"k{i}")) for i in range(8))
        )
        stats = region.stats()
    ok = sorted(round(elapsed, 3) for reply, elapsed in results if reply.status == 200)
    refused = [reply for reply, _ in results if reply.status != 200]
    assert ok == [1.0, 1.0, 2.0, 2.0, 3.0]
    assert [(r.status, r.error_code) for r in refused] == [
        (400, "ProvisionedThroughputExceededException")
    ] * 3
    assert stats.throttled_total == 3
    assert stats.served_total == 5
    assert (stats.concurrency, stats.queue_limit) == (2, 3)


@pytest.mark.parametrize("discipline", ["fifo", "lifo"])
async def test_region_queue_discipline(discipline: str) -> None:
    spec = region_spec(
        service_time=1.0, capacity={"concurrency": 1, "queue": 10}, queue_discipline=discipline
    )
    finished: list[str] = []

    async def call(name: str, start: float) -> None:
        await asyncio.sleep(start)
        reply, _ = await timed_call(region, "PutItem", put(name))
        assert reply.status == 200
        finished.append(name)

    async with running_region(spec) as region, asyncio.TaskGroup() as group:
        for i, name in enumerate("abcd"):
            group.create_task(call(name, i * 0.1))
    assert "".join(finished) == ("abcd" if discipline == "fifo" else "adcb")


@pytest.mark.parametrize("drop", [False, True])
async def test_abandoned_work_keeps_consuming_service_unless_dropped(drop: bool) -> None:
    spec = region_spec(
        service_time=1.0, capacity={"concurrency": 1, "queue": 10}, drop_abandoned=drop
    )
    async with running_region(spec) as region:
        address, port = region.endpoint_addresses()[0], region.port
        loop = asyncio.get_running_loop()
        first = await RawConnection.open(address, port)
        await first.send("PutItem", put("first"))
        quitters = [await RawConnection.open(address, port) for _ in range(2)]
        for i, conn in enumerate(quitters):
            await conn.send("PutItem", put(f"quitter{i}"))
        await asyncio.sleep(0.1)
        for conn in quitters:  # their clients give up while queued
            await conn.close()
        await asyncio.sleep(0.1)
        last_start = loop.time()
        last = await RawConnection.open(address, port)
        assert (await last.call("PutItem", put("last"))).status == 200
        waited = loop.time() - last_start
        assert (await first.receive()).status == 200
        await asyncio.sleep(2.5)
        stats = region.stats()
        quitter_items = region.store.items("items") - 2
        await first.close()
        await last.close()
    if drop:
        assert waited == pytest.approx(1.8, abs=0.01)  # only "first" was ahead of it
        assert stats.dropped_abandoned_total == 2
        assert quitter_items == 0
    else:
        assert waited == pytest.approx(3.8, abs=0.01)  # served both quitters' work first
        assert stats.dropped_abandoned_total == 0
        assert quitter_items == 2  # their writes happened although nobody was waiting
    assert stats.abandoned_total == 2
    assert (stats.in_flight, stats.queued) == (0, 0)


async def test_stop_abandons_work_in_service_and_queued() -> None:
    spec = region_spec(service_time=100.0, capacity={"concurrency": 1, "queue": 5})
    async with running_region(spec) as region:
        conns = [
            await RawConnection.open(region.endpoint_addresses()[0], region.port) for _ in range(3)
        ]
        for conn in conns:
            await conn.send("PutItem", put("k"))
        await asyncio.sleep(1)
        assert (region.stats().in_flight, region.stats().queued) == (1, 2)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await region.stop()
        stopped_after = loop.time() - start
        stats = region.stats()
    assert stopped_after < 0.01
    assert (stats.in_flight, stats.queued, stats.connections_open) == (0, 0, 0)
    assert [await conn.wait_closed_by_server() for conn in conns] == [True] * 3
    for conn in conns:
        await conn.close()


async def test_rtt_jitter_varies_each_trip_around_the_round_trip() -> None:
    """Brooker's simulator draws every network trip from a normal: so does a jittered region."""
    spec = region_spec(rtt=0.02, rtt_jitter=0.002)
    async with running_region(spec, seed=3) as region:
        elapsed = [(await timed_call(region, "GetItem", get("k")))[1] for _ in range(200)]
    mean = sum(elapsed) / len(elapsed)
    sd = (sum((e - mean) ** 2 for e in elapsed) / (len(elapsed) - 1)) ** 0.5
    assert mean == pytest.approx(0.02, abs=0.001)
    # two independent trips of sd 2 ms each: the round trip's sd is 2·√2 ≈ 2.83 ms
    assert sd == pytest.approx(0.002 * 2**0.5, rel=0.25)
    assert len({round(e, 6) for e in elapsed}) > 150


async def test_without_rtt_jitter_every_trip_takes_the_same_time() -> None:
    spec = region_spec(rtt=0.02)
    async with running_region(spec) as region:
        elapsed = [(await timed_call(region, "GetItem", get("k")))[1] for _ in range(20)]
    assert max(elapsed) - min(elapsed) < 1e-6
