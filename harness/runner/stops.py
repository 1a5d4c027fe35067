"""Stop conditions (AWS FIS stop conditions, Gremlin's halt on health checks): abort a run early."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from harness.clock import Clock
from harness.events import RequestFinished
from harness.scenario.model import SaturatedStop, StopCondition, SuccessRatioStop

CHECK_EVERY = 0.25  # seconds of loop time


class StopRequested(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Window:
    """Success ratio of one strategy's requests that *ended* in the last `window` seconds."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._events: deque[tuple[float, bool]] = deque()
        self.ok = 0

    def add(self, at: float, ok: bool) -> None:
        self._events.append((at, ok))
        self.ok += ok

    def ratio(self, now: float) -> tuple[float | None, int]:
        while self._events and self._events[0][0] < now - self.window:
            _, ok = self._events.popleft()
            self.ok -= ok
        total = len(self._events)
        return (self.ok / total if total else None), total


class StopMonitor:
    """Subscribe `observe` to RequestFinished; `run()` raises StopRequested on a condition."""

    def __init__(
        self,
        conditions: tuple[StopCondition, ...],
        *,
        clock: Clock,
        saturated: Callable[[], list[str]],
    ) -> None:
        self._conditions = conditions
        self._clock = clock
        self._saturated = saturated  # callable returning a list of reasons
        self._windows: dict[str, _Window] = {
            c.strategy: _Window(c.window) for c in conditions if isinstance(c, SuccessRatioStop)
        }

    def observe(self, event: RequestFinished) -> None:
        window = self._windows.get(event.strategy)
        if window is not None:
            window.add(event.end, event.outcome.is_success)

    async def run(self, origin: float) -> None:
        if not self._conditions:
            return
        while True:
            await asyncio.sleep(CHECK_EVERY)
            reason = self.check(origin)
            if reason:
                raise StopRequested(reason)

    def check(self, origin: float) -> str | None:
        now = self._clock.now()
        for condition in self._conditions:
            if isinstance(condition, SaturatedStop):
                reasons = self._saturated()
                if reasons:
                    return f"stop_when saturated: {reasons[0]}"
            elif isinstance(condition, SuccessRatioStop):
                if now - origin < condition.after + condition.window:
                    continue
                ratio, total = self._windows[condition.strategy].ratio(now)
                if ratio is not None and total >= 10 and ratio < condition.threshold:
                    return (
                        f"stop_when {condition.strategy} success ratio {ratio:.3f} < "
                        f"{condition.threshold} over the last {condition.window:g}s"
                    )
        return None
