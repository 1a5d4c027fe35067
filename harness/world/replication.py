"""Replication between regions, modelled on DynamoDB global tables.

Every write (put, update, delete) made in one region is applied to every other region's store
after a lag drawn from ReplicationSpec.lag. Each (source, destination) link delivers in write
order, like a stream shard: a write is due at max(its time + its lag, the previous write's due
time). Delivery runs on `loop.call_at` (one timer per link, armed for its head), so thousands of
writes per second cost no tasks. Conflicts resolve by last writer wins (see harness.world.store).

Counters:
- lost writes: a write that lost a conflict to a write that never saw it (the winner's region
  made it before this write had arrived there). Found where a delivery meets the conflict, counted
  once per lost write, on that delivery's link. A write overwritten by a later write that had seen
  it is not lost, even if it reaches some region late and is discarded there.
- stale reads: a read in a region returns an older version (or nothing) while a newer write of the
  key exists in any region (a small global map keeps the newest version per key).
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from dataclasses import dataclass

from harness.events import EventBus
from harness.scenario.model import ReplicationSpec, Scenario
from harness.world.stats import ConsistencyStats, ReplicationStats
from harness.world.store import Key, Record, Store, Version, next_stamp


@dataclass(frozen=True, slots=True)
class ReplicationChanged:
    """Replication was paused or resumed (source/destination None: all) at loop time `at`."""

    change: str  # "paused" | "resumed"
    source: str | None
    destination: str | None
    at: float


class _Link:
    __slots__ = ("applied", "destination", "last_due", "lost", "queue", "source", "timer")

    def __init__(self, source: str, destination: str) -> None:
        self.source = source
        self.destination = destination
        self.queue: deque[tuple[float, str, Key, Record]] = deque()  # (due, table, key, record)
        self.last_due = float("-inf")
        self.timer: asyncio.TimerHandle | None = None
        self.applied = 0
        self.lost = 0


class Replicator:
    """Implements harness.world.control.ReplicationControl."""

    def __init__(
        self,
        spec: ReplicationSpec | Scenario,
        *,
        rng: random.Random,
        bus: EventBus | None = None,
    ) -> None:
        self.spec = spec.replication if isinstance(spec, Scenario) else spec
        self._rng = rng
        self._bus = bus
        self._stores: dict[str, Store] = {}
        self._links: dict[tuple[str, str], _Link] = {}
        self._newest: dict[tuple[str, Key], Version] = {}
        self._stale: dict[str, int] = {}
        self._pauses: dict[int, tuple[str | None, str | None]] = {}
        self._next_handle = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False

    def attach(self, region: str, store: Store) -> None:
        """Add a region; links to and from every region already attached are created."""
        for other in self._stores:
            self._links[(other, region)] = _Link(other, region)
            self._links[(region, other)] = _Link(region, other)
        self._stores[region] = store
        self._stale.setdefault(region, 0)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for link in self._links.values():
            self._arm(link)

    async def stop(self) -> None:
        """Cancel every pending delivery. Idempotent."""
        self._loop = None
        self._stopped = True
        for link in self._links.values():
            if link.timer is not None:
                link.timer.cancel()
                link.timer = None
            link.queue.clear()

    # ---- the data path (called by regions) -----------------------------------------------------

    def on_write(self, region: str, table: str, key: Key, record: Record) -> None:
        """A write was made in `region`: remember it as the newest, and send it everywhere."""
        newest = self._newest.get((table, key))
        if newest is None or record.version > newest:
            self._newest[(table, key)] = record.version
        if not self.spec.enabled or self._stopped:
            return
        for destination in self._stores:
            if destination == region:
                continue
            link = self._links[(region, destination)]
            due = max(record.timestamp + self.spec.lag.sample(self._rng), link.last_due)
            link.last_due = due
            link.queue.append((due, table, key, record))
            if link.timer is None:
                self._arm(link)

    def on_read(self, region: str, table: str, key: Key, record: Record | None) -> None:
        newest = self._newest.get((table, key))
        if newest is not None and (record is None or record.version < newest):
            self._stale[region] = self._stale.get(region, 0) + 1

    # ---- ReplicationControl --------------------------------------------------------------------

    def pause(self, source: str | None, destination: str | None) -> int:
        self._next_handle += 1
        self._pauses[self._next_handle] = (source, destination)
        for link in self._links.values():
            if self._paused(link) and link.timer is not None:
                link.timer.cancel()
                link.timer = None
        self._emit("paused", source, destination)
        return self._next_handle

    def resume(self, handle: int) -> None:
        pause = self._pauses.pop(handle, None)
        if pause is None:
            return
        if self._loop is not None:
            for link in self._links.values():
                if link.timer is None and link.queue and not self._paused(link):
                    self._deliver(link)  # the backlog that fell due while paused, right now
        self._emit("resumed", *pause)

    def stats(self) -> list[ReplicationStats]:
        now = self._loop.time() if self._loop is not None else 0.0
        return [
            ReplicationStats(
                source=link.source,
                destination=link.destination,
                lag_seconds=max(0.0, now - link.queue[0][3].timestamp) if link.queue else 0.0,
                pending=len(link.queue),
                applied_total=link.applied,
                lost_writes_total=link.lost,
            )
            for link in self._links.values()
        ]

    def consistency_stats(self) -> list[ConsistencyStats]:
        return [ConsistencyStats(region, count) for region, count in self._stale.items()]

    # ---- delivery ------------------------------------------------------------------------------

    def _paused(self, link: _Link) -> bool:
        return any(
            (source is None or source == link.source)
            and (destination is None or destination == link.destination)
            for source, destination in self._pauses.values()
        )

    def _arm(self, link: _Link) -> None:
        if self._loop is None or not link.queue or self._paused(link):
            return
        link.timer = self._loop.call_at(link.queue[0][0], self._deliver, link)

    def _deliver(self, link: _Link) -> None:
        link.timer = None
        assert self._loop is not None
        now = self._loop.time()
        store = self._stores[link.destination]
        queue = link.queue
        while queue and queue[0][0] <= now:
            _, table, key, record = queue.popleft()
            record.seen_at.setdefault(link.destination, next_stamp())
            applied, other = store.apply(table, key, record)
            if applied:
                link.applied += 1
            if other is not None:
                winner, loser = (record, other) if applied else (other, record)
                if not loser.lost and not _saw(winner, loser):
                    loser.lost = True
                    link.lost += 1
        self._arm(link)

    def _emit(self, change: str, source: str | None, destination: str | None) -> None:
        if self._bus is not None and self._loop is not None and self._bus.wants(ReplicationChanged):
            self._bus.emit(ReplicationChanged(change, source, destination, self._loop.time()))


def _saw(winner: Record, loser: Record) -> bool:
    """Had `loser` reached the winner's region before the winner was written there?"""
    if winner.origin == loser.origin:
        return True  # one region's writes are ordered: the later one saw the earlier
    arrived = loser.seen_at.get(winner.origin)
    return arrived is not None and arrived < winner.stamp
