"""Leases (EC2's DropletWorkflow Manager on 2025-10-20, from AWS's post-event summary).

A control-plane service holds `count` leases. Each is renewed against DynamoDB every
`renew_every`; a lease not renewed for `ttl` expires and the data it guards is unavailable until it
is re-established. Renewing and re-establishing are *jobs* on one FIFO queue served by `workers`:
a job makes its DynamoDB call through the service's own client, then does its work (cheap for a
renewal, expensive for an establishment). A job that finishes more than `timeout` after it was
queued has timed out: its result is thrown away and it is queued again.

Nothing here scripts a collapse. While DynamoDB cannot be reached, renewals fail and leases expire;
when it comes back, every expired lease wants establishing at once. With a backlog longer than
`timeout` × throughput, every job waits past its timeout, finishes for nothing and is re-queued;
renewals of the leases still held wait in the same queue, time out too, and those leases expire:
congestive collapse, self-sustaining. The recovery lever (`set_throttle`) admits a job into the
queue only while fewer than `max_queue` wait (the rest wait outside, their clocks not started),
so admitted jobs finish in time and the backlog drains.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from harness.clock import Clock
from harness.scenario.service_spec import LeaseSpec

TICK = 0.1  # seconds between scheduler passes (renewals due, leases expired)

Renew = Callable[[int], Awaitable[bool]]  # the DynamoDB call for lease i: True on success


@dataclass(slots=True)
class _Job:
    lease: int
    queued_at: float = 0.0


@dataclass(frozen=True, slots=True)
class LeaseStats:
    count: int
    valid: int
    queued: int
    held: int
    renewed_total: int
    established_total: int
    timed_out_total: int
    failed_total: int
    throttle: int | None


class LeaseManager:
    def __init__(self, spec: LeaseSpec, renew: Renew, *, clock: Clock, rng: random.Random) -> None:
        self.spec = spec
        self._renew = renew
        self._clock = clock
        self._rng = rng
        self._expires: list[float] = []
        self._next_renew: list[float] = []
        self._not_before: list[float] = []
        self._pending = [False] * spec.count  # a job for this lease is somewhere in the system
        self._queue: deque[_Job] = deque()
        self._held: deque[_Job] = deque()  # not admitted yet (throttle on)
        self._ready = asyncio.Event()
        self._throttles: dict[int, int] = {}
        self._next_handle = 0
        self.renewed_total = 0
        self.established_total = 0
        self.timed_out_total = 0
        self.failed_total = 0

    # ---- the recovery lever --------------------------------------------------------------------

    def set_throttle(self, max_queue: int) -> int:
        self._next_handle += 1
        self._throttles[self._next_handle] = max_queue
        return self._next_handle

    def clear_throttle(self, handle: int) -> None:
        self._throttles.pop(handle, None)
        self._admit()

    @property
    def max_queue(self) -> int | None:
        return min(self._throttles.values()) if self._throttles else None

    # ---- state ---------------------------------------------------------------------------------

    def valid(self, lease: int) -> bool:
        return bool(self._expires) and self._clock.now() < self._expires[lease % self.spec.count]

    def stats(self) -> LeaseStats:
        now = self._clock.now()
        return LeaseStats(
            count=self.spec.count,
            valid=sum(1 for e in self._expires if now < e) if self._expires else self.spec.count,
            queued=len(self._queue),
            held=len(self._held),
            renewed_total=self.renewed_total,
            established_total=self.established_total,
            timed_out_total=self.timed_out_total,
            failed_total=self.failed_total,
            throttle=self.max_queue,
        )

    # ---- running -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Hold every lease from now on (staggered renewals); runs until cancelled."""
        spec, now = self.spec, self._clock.now()
        self._expires = [now + spec.ttl] * spec.count
        self._next_renew = [
            now + spec.renew_every * (i + 1) / spec.count for i in range(spec.count)
        ]
        self._not_before = [0.0] * spec.count
        async with asyncio.TaskGroup() as tg:
            for _ in range(spec.workers):
                tg.create_task(self._worker())
            tg.create_task(self._scheduler())

    async def _scheduler(self) -> None:
        while True:
            now = self._clock.now()
            for lease in range(self.spec.count):
                if self._pending[lease] or now < self._not_before[lease]:
                    continue
                if now >= self._next_renew[lease] or now >= self._expires[lease]:
                    self._submit(_Job(lease))
            await asyncio.sleep(TICK)

    def _submit(self, job: _Job) -> None:
        self._pending[job.lease] = True
        limit = self.max_queue
        if limit is not None and len(self._queue) >= limit:
            self._held.append(job)
            return
        self._enqueue(job)

    def _enqueue(self, job: _Job) -> None:
        job.queued_at = self._clock.now()
        self._queue.append(job)
        self._ready.set()

    def _admit(self) -> None:
        limit = self.max_queue
        while self._held and (limit is None or len(self._queue) < limit):
            self._enqueue(self._held.popleft())

    async def _worker(self) -> None:
        spec = self.spec
        while True:
            while not self._queue:
                self._ready.clear()
                await self._ready.wait()
            job = self._queue.popleft()
            self._admit()
            lease = job.lease
            expired = self._clock.now() >= self._expires[lease]
            if not await self._renew(lease):
                self.failed_total += 1
                self._pending[lease] = False
                self._next_renew[lease] = self._clock.now()  # try again as soon as allowed
                self._not_before[lease] = self._clock.now() + spec.retry_after
                continue
            work = (spec.establish if expired else spec.renew).sample(self._rng)
            if work > 0:
                await asyncio.sleep(work)
            now = self._clock.now()
            if now - job.queued_at > spec.timeout:
                # Finished for nothing: the requester gave up on it. Queue it again (the work
                # still needs doing), through admission like any new job.
                self.timed_out_total += 1
                self._submit(_Job(lease))
                continue
            if expired:
                self.established_total += 1
            else:
                self.renewed_total += 1
            self._expires[lease] = max(self._expires[lease], now + spec.ttl)
            self._next_renew[lease] = now + spec.renew_every
            self._pending[lease] = False
