"""The inline executor: units one after another in this process (tests, debugging)."""

from __future__ import annotations

import threading
from collections import deque

from harness.executors.base import Done, Finished
from harness.executors.units import Reporter, Unit, run_unit


class InlineExecutor:
    kind = "inline"
    workers = 1

    def __init__(self, report: Reporter, stop: threading.Event) -> None:
        # `stop` is the coordinator's own flag, set by its signal handler: a unit running in
        # this very thread can only hear a signal through it.
        self._report = report
        self._stop = stop
        self._queue: deque[tuple[Unit, int]] = deque()

    def submit(self, unit: Unit, attempt: int) -> None:
        self._queue.append((unit, attempt))

    def poll(self, timeout: float) -> list[Done]:
        if not self._queue:
            return []
        unit, attempt = self._queue.popleft()
        return [Finished(unit.id, attempt, run_unit(unit, attempt, self._stop, self._report))]

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._queue.clear()
