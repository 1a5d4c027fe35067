"""A region's service capacity: at most `concurrency` requests in service, at most `queue` waiting.

This is the server half of a metastable failure (Bronson et al., HotOS 2021): work whose client
has already given up still waits its turn and then consumes service time, unless the region is set
to drop abandoned work (checked when it reaches the head of the queue, as a deadline-aware server
would). The queue is FIFO by default; LIFO serves the newest request first, whose client is the
most likely to still be waiting. A request that finds both full is refused at once (DynamoDB's
ProvisionedThroughputExceededException).

Throttle faults are *cuts*: a request that a cut applies to sees concurrency and queue scaled by
the cut's fraction (at least 1 in service while the fraction is > 0; fraction 0 refuses all).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import Literal


class Admission(Enum):
    ADMITTED = "admitted"  # the caller holds a slot and must call release()
    THROTTLED = "throttled"  # refused: no slot and no room in the queue
    DROPPED = "dropped"  # queued, but its client had gone when its turn came (drop_abandoned)


class _Waiter:
    __slots__ = ("cuts", "future", "gone")

    def __init__(
        self, future: asyncio.Future[Admission], gone: Callable[[], bool], cuts: tuple[int, ...]
    ) -> None:
        self.future = future
        self.gone = gone
        self.cuts = cuts


class Capacity:
    def __init__(
        self,
        concurrency: int,
        queue: int,
        *,
        discipline: Literal["fifo", "lifo"] = "fifo",
        drop_abandoned: bool = False,
    ) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self._lifo = discipline == "lifo"
        self._drop_abandoned = drop_abandoned
        self._waiters: deque[_Waiter] = deque()  # may hold cancelled waiters, skipped lazily
        self._cuts: dict[int, float] = {}
        self.in_service = 0
        self.queued = 0  # live waiters
        self.throttled_total = 0
        self.dropped_total = 0

    # ---- limits --------------------------------------------------------------------------------

    def add_cut(self, handle: int, fraction: float) -> None:
        self._cuts[handle] = fraction

    def remove_cut(self, handle: int) -> None:
        if self._cuts.pop(handle, None) is not None:
            self._pump()

    def limits(self, cuts: tuple[int, ...] | None = None) -> tuple[int, int]:
        """(concurrency, queue) for a request subject to `cuts` (None: every active cut)."""
        fraction = self._fraction(tuple(self._cuts) if cuts is None else cuts)
        if fraction >= 1.0:
            return self.concurrency, self.queue
        if fraction <= 0.0:
            return 0, 0
        return max(1, int(self.concurrency * fraction)), int(self.queue * fraction)

    def _fraction(self, cuts: tuple[int, ...]) -> float:
        fraction = 1.0
        for handle in cuts:
            fraction = min(fraction, self._cuts.get(handle, 1.0))
        return fraction

    # ---- admission -----------------------------------------------------------------------------

    async def acquire(self, gone: Callable[[], bool], cuts: tuple[int, ...] = ()) -> Admission:
        """Wait for a slot. `gone()` tells whether the request's client has gone away."""
        concurrency, queue = self.limits(cuts) if cuts else (self.concurrency, self.queue)
        if self.queued == 0 and self.in_service < concurrency:
            self.in_service += 1
            return Admission.ADMITTED
        if self.queued >= queue:
            self.throttled_total += 1
            return Admission.THROTTLED
        future: asyncio.Future[Admission] = asyncio.get_running_loop().create_future()
        self._waiters.append(_Waiter(future, gone, cuts))
        self.queued += 1
        if self._lifo:
            self._pump()  # the newcomer is now first in line
        try:
            return await future
        except asyncio.CancelledError:
            if future.cancelled() or not future.done():  # still queued: leave the queue
                future.cancel()
                self.queued -= 1
            elif future.result() is Admission.ADMITTED:
                self.release()  # granted just before the cancellation landed
            raise

    def release(self) -> None:
        self.in_service -= 1
        self._pump()

    def _pump(self) -> None:
        """Hand free slots to waiters in queue order; a head that does not fit blocks the rest."""
        waiters = self._waiters
        while waiters:
            head = waiters[-1] if self._lifo else waiters[0]
            if head.future.done():  # cancelled while waiting
                self._pop()
                continue
            if self._drop_abandoned and head.gone():
                self._pop()
                self.queued -= 1
                self.dropped_total += 1
                head.future.set_result(Admission.DROPPED)
                continue
            concurrency = self.limits(head.cuts)[0] if head.cuts else self.concurrency
            if self.in_service >= concurrency:
                return
            self._pop()
            self.queued -= 1
            self.in_service += 1
            head.future.set_result(Admission.ADMITTED)

    def _pop(self) -> None:
        if self._lifo:
            self._waiters.pop()
        else:
            self._waiters.popleft()
