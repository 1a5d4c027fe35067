"""The fault injector: applies and reverts the scenario's timeline on the loop clock.

Every action is due at an absolute loop time (run start + `at`, + `duration`), reached with one
`call_at` each, so lag does not accumulate. Whatever happens to the run — normal end, an error,
an abort, SIGINT/SIGTERM turning into cancellation — the runner's `finally` calls `revert_all`,
which reverts everything still applied (also a fault whose apply was cancelled half-way) and may be
called twice. A fault that fails to apply is journaled, reverted, and the run goes on.

Journal times are seconds from the run's start; FaultApplied/FaultReverted carry absolute loop
times (the axis of every other event). In real time the wait ends on the high-resolution clock.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.clock import Clock
from harness.events import EventBus, FaultApplied, FaultReverted
from harness.faults.base import (
    FaultContext,
    FaultError,
    FaultUnit,
    precise_sleep_until,
    target_label,
)
from harness.faults.journal import Action, Journal, JournalEntry, RevertReason, iso_utc
from harness.faults.registry import FAULTS
from harness.faults.world_api import FaultWorld
from harness.scenario.fault_spec import FaultSpec

log = logging.getLogger(__name__)


class _State(enum.Enum):
    PENDING = "pending"
    APPLYING = "applying"  # apply started; it may have done part of its work
    APPLIED = "applied"
    REVERTED = "reverted"


@dataclass(frozen=True, slots=True)
class _Action:
    at: float  # seconds from run start
    order: int  # reverts before applies at the same instant
    index: int
    apply: bool


class FaultInjector:
    def __init__(
        self,
        world: FaultWorld,
        timeline: Sequence[FaultSpec],
        *,
        clock: Clock,
        bus: EventBus,
        duration: float,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        unknown = sorted({spec.fault for spec in timeline} - FAULTS.keys())
        if unknown:
            raise FaultError(f"no fault unit for {', '.join(unknown)}")
        self._world = world
        self._timeline = tuple(timeline)
        self._clock = clock
        self._bus = bus
        self._duration = duration
        self._wall = wall
        seed = (rng or random.Random(0)).getrandbits(64)
        self._seeds = [f"{seed}:{i}:{spec.fault}" for i, spec in enumerate(self._timeline)]
        self._labels = [target_label(spec) for spec in self._timeline]
        self._units: list[FaultUnit[Any]] = []
        self._states = [_State.PENDING] * len(self._timeline)
        self._applied_order: list[int] = []
        self._start: float | None = None
        self._closed = False
        self.journal = Journal()
        for index, spec in enumerate(self._timeline):
            end = None if spec.duration is None else spec.at + spec.duration
            self.journal.plan(index, spec.fault, self._labels[index], spec.at, end)

    def active(self) -> list[tuple[str, str]]:
        """(fault, target) of every fault in place now (the same pair twice if applied twice)."""
        return [
            (self._timeline[i].fault, self._labels[i])
            for i in self._applied_order
            if self._states[i] in (_State.APPLYING, _State.APPLIED)
        ]

    async def run(self, origin: float | None = None) -> None:
        """Apply and revert on schedule from loop time `origin` (default: now, the run's start);
        at the end of the run revert what is left."""
        start = self._start = self._clock.now() if origin is None else origin
        self._units = [
            FAULTS[spec.fault](
                spec, FaultContext(start, start + self._duration, random.Random(self._seeds[i]))
            )
            for i, spec in enumerate(self._timeline)
        ]
        for action in self._schedule():
            await precise_sleep_until(start + action.at, self._clock)
            if self._closed:
                return
            if action.apply:
                await self._apply(action.index, action.at)
            else:
                await self._revert(action.index, "scheduled", action.at)
        await precise_sleep_until(start + self._duration, self._clock)
        await self._revert_all("end_of_run", self._duration)

    async def revert_all(self, reason: RevertReason | str) -> None:
        """Revert everything still applied, newest first; stop applying. Safe to call twice.
        reason: "end_of_run" | "aborted" | "error" | "interrupted" (journal and FaultReverted)."""
        now = self._clock.now() - self._start if self._start is not None else 0.0
        await self._revert_all(reason, now)

    async def _revert_all(self, reason: RevertReason | str, scheduled: float) -> None:
        self._closed = True
        for index in reversed(self._applied_order):
            await self._revert(index, reason, scheduled)

    def _schedule(self) -> list[_Action]:
        actions: list[_Action] = []
        for index, spec in enumerate(self._timeline):
            if spec.at >= self._duration:
                log.warning("%s at %gs starts after the run ends: skipped", spec.fault, spec.at)
                continue
            actions.append(_Action(spec.at, 1, index, apply=True))
            if spec.duration is not None and spec.at + spec.duration < self._duration:
                actions.append(_Action(spec.at + spec.duration, 0, index, apply=False))
        return sorted(actions, key=lambda a: (a.at, a.order, a.index))

    async def _apply(self, index: int, scheduled: float) -> None:
        spec, unit = self._timeline[index], self._units[index]
        self._states[index] = _State.APPLYING
        self._applied_order.append(index)
        try:
            await unit.apply(self._world)
        except asyncio.CancelledError:
            self._journal(index, "apply", scheduled, error="cancelled while applying")
            raise
        except Exception as exc:
            log.warning("fault %s on %s failed to apply: %s", spec.fault, self._labels[index], exc)
            self._journal(index, "apply", scheduled, error=_describe(exc))
            await self._revert(index, "error", self._elapsed())
            return
        self._states[index] = _State.APPLIED
        entry = self._journal(index, "apply", scheduled, details=unit.details())
        self._bus.emit(
            FaultApplied(
                spec.fault, entry.target, self._at(scheduled), self._at(entry.actual), self._wall()
            )
        )
        if unit.one_shot:  # nothing stays in place: it is over as soon as it happened
            await self._revert(index, "scheduled", scheduled)

    async def _revert(self, index: int, reason: RevertReason | str, scheduled: float) -> None:
        state = self._states[index]
        if state not in (_State.APPLYING, _State.APPLIED):
            return
        spec, unit = self._timeline[index], self._units[index]
        error = None
        try:
            await unit.revert(self._world)  # a CancelledError leaves it to the next revert_all
        except Exception as exc:
            log.error("fault %s on %s failed to revert: %s", spec.fault, self._labels[index], exc)
            error = _describe(exc)
        self._states[index] = _State.REVERTED
        entry = self._journal(
            index, "revert", scheduled, reason=reason, error=error, details=unit.details()
        )
        if state is _State.APPLIED:
            self._bus.emit(
                FaultReverted(
                    spec.fault,
                    entry.target,
                    self._at(scheduled),
                    self._at(entry.actual),
                    self._wall(),
                    reason,
                )
            )

    def _journal(
        self,
        index: int,
        action: Action,
        scheduled: float,
        *,
        reason: str | None = None,
        error: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> JournalEntry:
        actual = self._elapsed()
        entry = JournalEntry(
            index=index,
            fault=self._timeline[index].fault,
            target=self._labels[index],
            action=action,
            scheduled=scheduled,
            actual=actual,
            lag_ms=(actual - scheduled) * 1000.0,
            wall=iso_utc(self._wall()),
            reason=reason,
            error=error,
            details=details or {},
        )
        self.journal.record(entry)
        return entry

    def _elapsed(self) -> float:
        """Seconds since the run started, at high resolution (clock.measure)."""
        assert self._start is not None
        return self._clock.measure() - self._start

    def _at(self, relative: float) -> float:
        assert self._start is not None
        return self._start + relative


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
