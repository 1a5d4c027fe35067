"""Emits PhaseChanged at each scenario phase's start, on the loop clock."""

from __future__ import annotations

import asyncio

from harness.clock import Clock
from harness.events import EventBus, PhaseChanged
from harness.scenario.model import PhaseSpec


class PhaseTimer:
    def __init__(self, phases: tuple[PhaseSpec, ...], *, clock: Clock, bus: EventBus) -> None:
        self._phases = phases
        self._clock = clock
        self._bus = bus
        self.current: str | None = None

    async def run(self, origin: float) -> None:
        for phase in self._phases:
            delay = origin + phase.at - self._clock.now()
            if delay > 0:
                await asyncio.sleep(delay)
            self.current = phase.name
            self._bus.emit(PhaseChanged(phase.name, self._clock.now() - origin))
