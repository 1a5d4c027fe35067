"""One small clock interface for real and virtual time (DESIGN.md, "One stack, two clocks").

Behaviour (timers, sleeps, deadlines) always runs on the event loop's clock. Latency *measurement*
needs more resolution than uvloop's 1 ms `loop.time()`, so in real time `measure()` uses
`perf_counter` anchored to the loop clock; under a virtual clock it is the loop clock itself.
"""

from __future__ import annotations

import asyncio
import time


class Clock:
    """Reads time from the running loop; `measure()` is a high-resolution view of the same clock."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, virtual: bool) -> None:
        self._loop = loop
        self.virtual = virtual
        self._anchor_loop = loop.time()
        self._anchor_perf = time.perf_counter()

    @classmethod
    def for_running_loop(cls) -> Clock:
        loop = asyncio.get_running_loop()
        return cls(loop, virtual=is_virtual(loop))

    def now(self) -> float:
        """Loop time in seconds: use for every behavioural decision."""
        return self._loop.time()

    def measure(self) -> float:
        """High-resolution time on the loop's time axis: use to measure latency."""
        if self.virtual:
            return self._loop.time()
        return self._anchor_loop + (time.perf_counter() - self._anchor_perf)


def is_virtual(loop: asyncio.AbstractEventLoop) -> bool:
    """True when the loop is a looptime loop with time compaction switched on."""
    return bool(getattr(loop, "looptime_on", False))
