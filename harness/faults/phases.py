"""Phases of a scenario (`phases:`) on the loop clock: which phase a moment falls in, and a task
that announces each one with PhaseChanged when it begins. The runner owns when to run it."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from harness.clock import Clock
from harness.events import EventBus, PhaseChanged
from harness.faults.base import sleep_until
from harness.scenario.model import PhaseSpec


class PhaseClock:
    def __init__(self, phases: Sequence[PhaseSpec], *, start: float) -> None:
        self._phases = sorted(phases, key=lambda p: p.at)
        self._starts = [p.at for p in self._phases]
        self.start = start

    def phase_at(self, loop_time: float) -> str | None:
        """Name of the phase at `loop_time`; None before the first one."""
        index = bisect.bisect_right(self._starts, loop_time - self.start) - 1
        return self._phases[index].name if index >= 0 else None

    async def announce(self, bus: EventBus, clock: Clock) -> None:
        """Emit PhaseChanged as each phase begins (at its loop time); returns after the last."""
        for phase in self._phases:
            await sleep_until(self.start + phase.at)
            bus.emit(PhaseChanged(phase.name, clock.now()))
