"""Replication between regions like DynamoDB global tables: lag, last writer wins, stale reads,
lost writes, pause/resume; driven through the regions' real endpoints on the virtual clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from world_endpoint_support import RawConnection, Reply, get, put, region_spec, running_region

from harness.scenario.model import ReplicationSpec, Scenario
from harness.scenario.types import LatencySpec
from harness.world.region import Region
from harness.world.replication import Replicator
from harness.world.stats import ReplicationStats
from harness.world.store import Record, Store

pytestmark = pytest.mark.looptime

NAMES = ("us-east-1", "us-west-2", "eu-west-1")


class World:
    def __init__(self, replicator: Replicator, regions: dict[str, Region]) -> None:
        self.replicator = replicator
        self.regions = regions
        self.conns: dict[str, RawConnection] = {}

    async def call(self, region: str, op: str, payload: dict[str, object]) -> Reply:
        conn = self.conns.get(region)
        if conn is None:
            target = self.regions[region]
            conn = self.conns[region] = await RawConnection.open(
                target.endpoint_addresses()[0], target.port
            )
        return await conn.call(op, payload)

    async def value(self, region: str, key: str = "k") -> str | None:
        item = (await self.call(region, "GetItem", get(key))).json().get("Item")
        return None if item is None else str(item["val"]["S"])

    def link(self, source: str, destination: str) -> ReplicationStats:
        (stats,) = [
            s for s in self.replicator.stats() if (s.source, s.destination) == (source, destination)
        ]
        return stats

    def lost(self) -> int:
        return sum(s.lost_writes_total for s in self.replicator.stats())

    def stale(self) -> dict[str, int]:
        return {s.region: s.stale_reads_total for s in self.replicator.consistency_stats()}


@asynccontextmanager
async def world(regions: int = 2, lag: float = 1.0, enabled: bool = True) -> AsyncIterator[World]:
    spec = ReplicationSpec(enabled=enabled, lag=LatencySpec(median=lag, p99=lag))
    replicator = Replicator(spec, rng=random.Random(1))
    async with AsyncExitStack() as stack:
        running = {
            name: await stack.enter_async_context(
                running_region(region_spec(name, endpoints=1), octet=80 + i, replicator=replicator)
            )
            for i, name in enumerate(NAMES[:regions])
        }
        await replicator.start()
        stack.push_async_callback(replicator.stop)
        w = World(replicator, running)
        yield w
        for conn in w.conns.values():
            await conn.close()


async def test_writes_reach_other_regions_after_the_lag() -> None:
    east, west = NAMES[:2]
    async with world(lag=1.0) as w:
        loop = asyncio.get_running_loop()
        await w.call(east, "PutItem", put("k", "a"))
        written = loop.time()
        await asyncio.sleep(0.5)
        before = await w.value(west)
        in_flight = w.link(east, west)
        await asyncio.sleep(0.6)
        reply = await w.call(west, "GetItem", get("k"))
        after = w.link(east, west)
        stale = w.stale()
    assert before is None
    assert in_flight.pending == 1
    assert in_flight.lag_seconds == pytest.approx(0.5, abs=0.01)
    assert reply.json()["Item"]["val"] == {"S": "a"}
    assert float(reply.headers["x-harness-version"]) == pytest.approx(written, abs=0.01)
    assert (after.pending, after.lag_seconds, after.applied_total) == (0, 0.0, 1)
    assert stale == {east: 0, west: 1}  # the read at 0.5 s missed a write made elsewhere


async def test_deletes_replicate_as_tombstones() -> None:
    east, west = NAMES[:2]
    async with world(lag=1.0) as w:
        await w.call(east, "PutItem", put("k", "a"))
        await asyncio.sleep(2)
        await w.call(east, "DeleteItem", get("k"))
        assert await w.value(west) == "a"
        await asyncio.sleep(2)
        assert await w.value(west) is None
        assert w.lost() == 0


async def test_concurrent_writes_converge_on_the_last_writer_and_count_one_lost_write() -> None:
    east, west = NAMES[:2]
    async with world(lag=1.0) as w:
        await w.call(east, "PutItem", put("k", "first"))
        await asyncio.sleep(0.2)
        await w.call(west, "PutItem", put("k", "second"))  # never saw "first"
        stale_read = await w.value(east)
        await asyncio.sleep(2)
        values = [await w.value(east), await w.value(west)]
        stats = {(s.source, s.destination): s for s in w.replicator.stats()}
        stale = w.stale()
    assert values == ["second", "second"]
    assert stats[(east, west)].lost_writes_total == 1  # "first" arrived and lost to "second"
    assert stats[(west, east)].lost_writes_total == 0  # the same loss is not counted twice
    assert stats[(east, west)].applied_total == 0
    assert stats[(west, east)].applied_total == 1
    assert stale_read == "first"
    assert stale[east] == 1


async def test_a_write_overwritten_by_one_that_saw_it_is_not_lost() -> None:
    east, west = NAMES[:2]
    async with world(lag=1.0) as w:
        await w.call(east, "PutItem", put("k", "first"))
        await asyncio.sleep(1.5)
        await w.call(west, "PutItem", put("k", "second"))
        await asyncio.sleep(2)
        assert [await w.value(east), await w.value(west)] == ["second", "second"]
        assert w.lost() == 0
        assert sum(w.stale().values()) == 0


async def test_pause_holds_a_backlog_and_resume_delivers_it() -> None:
    east, west, eu = NAMES
    async with world(regions=3, lag=1.0) as w:
        handle = w.replicator.pause(east, eu)
        await w.call(east, "PutItem", put("k", "first"))
        await asyncio.sleep(1.5)  # west has it, eu does not
        await w.call(west, "PutItem", put("k", "second"))  # made after seeing "first"
        await asyncio.sleep(1.5)  # "second" reached eu
        backlog = w.link(east, eu)
        w.replicator.resume(handle)
        w.replicator.resume(handle)  # idempotent
        await asyncio.sleep(0)
        delivered = w.link(east, eu)
        values = [await w.value(name) for name in NAMES]
    assert backlog.pending == 1
    assert backlog.lag_seconds == pytest.approx(3.0, abs=0.01)
    assert delivered.pending == 0
    assert delivered.applied_total == 0  # late and older: discarded by last writer wins ...
    assert w.lost() == 0  # ... but not lost, "second" was written after seeing it
    assert values == ["second"] * 3


async def test_pause_by_destination_only() -> None:
    east, west, eu = NAMES
    async with world(regions=3, lag=0.5) as w:
        handle = w.replicator.pause(None, west)
        await w.call(east, "PutItem", put("a", "x"))
        await w.call(eu, "PutItem", put("b", "y"))
        await asyncio.sleep(1)
        paused = [await w.value(west, "a"), await w.value(west, "b"), await w.value(eu, "a")]
        w.replicator.resume(handle)
        await asyncio.sleep(0)
        resumed = [await w.value(west, "a"), await w.value(west, "b")]
    assert paused == [None, None, "x"]
    assert resumed == ["x", "y"]


async def test_stop_cancels_pending_deliveries() -> None:
    east, west = NAMES[:2]
    async with world(lag=1.0) as w:
        await w.call(east, "PutItem", put("k", "a"))
        await w.replicator.stop()
        await w.replicator.stop()  # idempotent
        await asyncio.sleep(2)
        assert await w.value(west) is None
        assert w.link(east, west).pending == 0
        await w.call(east, "PutItem", put("k2", "b"))  # after stop: not queued at all
        assert w.link(east, west).pending == 0


async def test_disabled_replication_keeps_regions_apart_but_counts_stale_reads() -> None:
    east, west = NAMES[:2]
    async with world(enabled=False) as w:
        await w.call(east, "PutItem", put("k", "a"))
        await asyncio.sleep(5)
        assert await w.value(west) is None
        assert w.stale()[west] == 1


def test_replicator_accepts_a_whole_scenario() -> None:
    scenario = Scenario.model_validate(
        {
            "name": "s",
            "duration": 10,
            "regions": [{"name": "a"}, {"name": "b"}],
            "replication": {"lag": "250ms"},
        }
    )
    replicator = Replicator(scenario, rng=random.Random(1))
    assert replicator.spec.lag.median == 0.25


def test_last_writer_wins_orders_by_time_then_region_then_sequence() -> None:
    store = Store("r")
    key = (("pk", "S", "k"),)
    first = Record({"v": {"S": "1"}}, (5.0, "a-region", 1))
    assert store.apply("items", key, first) == (True, None)
    tie_lower = Record({"v": {"S": "2"}}, (5.0, "0-region", 9))
    assert store.apply("items", key, tie_lower) == (False, first)
    tie_higher = Record({"v": {"S": "3"}}, (5.0, "b-region", 1))
    assert store.apply("items", key, tie_higher) == (True, first)
    same_region_later = Record(None, (5.0, "b-region", 2))  # a delete in the same clock tick
    assert store.apply("items", key, same_region_later) == (True, tie_higher)
    assert store.items("items") == 0
    assert store.get("items", key) is same_region_later


async def test_conflicts_at_one_instant_are_ordered_by_what_happened_first() -> None:
    """Virtual time puts many events at one loop time: who saw whom follows the order of events."""
    replicator = Replicator(
        ReplicationSpec(lag=LatencySpec(median=1.0, p99=1.0)), rng=random.Random(1)
    )
    stores = {name: Store(name) for name in ("east", "west")}
    for name, store in stores.items():
        replicator.attach(name, store)
    await replicator.start()
    key = (("pk", "S", "k"),)
    loop = asyncio.get_running_loop()

    def write(region: str, value: str) -> Record:
        record = Record({"v": {"S": value}}, (loop.time(), region, 1))
        record.seen_at[region] = record.stamp
        stores[region].apply("items", key, record)
        replicator.on_write(region, "items", key, record)
        return record

    handle = replicator.pause("east", "west")
    first = write("east", "first")
    await asyncio.sleep(1.0)
    second = write("west", "second")  # at the very loop time "first" is due in west, but before
    replicator.resume(handle)  # "first" arrives now: after "second" was written
    await asyncio.sleep(2.0)
    await replicator.stop()
    assert first.lost and not second.lost
    assert [s.lost_writes_total for s in replicator.stats()] == [1, 0]  # east->west, west->east
    assert all(store.get("items", key) is second for store in stores.values())
