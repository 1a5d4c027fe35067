"""Faults applied to a running world on request (the control API), not from a run's timeline.

Each request becomes one `LiveFault` with its own id: the same fault unit the timeline uses
(harness.faults.registry), applied `at` seconds from the request (default: at once) and reverted
after `duration` (default: when asked, or when the world stops). Running the scenario's timeline
"from now" makes one live fault per entry, each reverted at its scheduled end (an entry without a
duration lasts the scenario's duration, as in a run).

Journal times are seconds since the world started (loop clock); every apply and revert is in the
journal, including the reverts made because the world stopped (reason `interrupted` for
SIGINT/SIGTERM, `shutdown` for a control-API shutdown, `end_of_run` when a test's world closes).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.clock import Clock
from harness.events import EventBus, FaultApplied, FaultReverted
from harness.faults.base import FaultContext, FaultError, FaultUnit, sleep_until, target_label
from harness.faults.journal import Journal, JournalEntry, iso_utc
from harness.faults.registry import FAULTS
from harness.faults.world_api import FaultWorld
from harness.scenario.fault_spec import FaultSpec
from harness.scenario.model import Scenario

log = logging.getLogger(__name__)

_SETTLE_ITERATIONS = 2

State = Literal["scheduled", "applying", "applied", "reverted", "failed"]
Source = Literal["api", "timeline"]


class ControlClosed(FaultError):
    """The world is stopping: no new fault is accepted."""


class UnknownFault(FaultError):
    """No live fault has this id."""


@dataclass(slots=True)
class LiveFault:
    id: int
    spec: FaultSpec
    target: str
    source: Source
    unit: FaultUnit[Any]
    due: float  # loop time the fault is (was) to be applied
    ends: float | None  # loop time of its scheduled revert; None: when asked
    state: State = "scheduled"
    applied_at: float | None = None  # seconds since the world started
    applied_wall: str | None = None
    reverted_at: float | None = None
    reverted_wall: str | None = None
    revert_reason: str | None = None
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ("scheduled", "applying", "applied")


EntryListener = Callable[[JournalEntry], None]


class LiveFaults:
    """apply / revert / revert_all / run_timeline on one world; `close(reason)` reverts everything
    and refuses new faults. Every method runs in the world's event loop."""

    def __init__(
        self,
        world: FaultWorld,
        scenario: Scenario,
        *,
        clock: Clock,
        bus: EventBus,
        wall: Callable[[], float] = time.time,
        on_entry: EntryListener | None = None,
    ) -> None:
        self._world = world
        self._scenario = scenario
        self._clock = clock
        self._bus = bus
        self._wall = wall
        self._on_entry = on_entry
        self._origin = clock.now()
        self._faults: dict[int, LiveFault] = {}
        self._next_id = 1
        self._closed = False
        self.journal = Journal()

    @property
    def closed(self) -> bool:
        return self._closed

    def elapsed(self) -> float:
        """Seconds since the world started, at high resolution."""
        return self._clock.measure() - self._origin

    def faults(self, *, include_reverted: bool = False) -> list[LiveFault]:
        return [f for f in self._faults.values() if include_reverted or f.active]

    def get(self, fault_id: int) -> LiveFault:
        try:
            return self._faults[fault_id]
        except KeyError:
            raise UnknownFault(f"no fault with id {fault_id}") from None

    async def apply(self, spec: FaultSpec, *, source: Source = "api") -> LiveFault:
        """Apply `spec` `spec.at` seconds from now. An immediate fault is in place when this
        returns (or has failed: state "failed", with the error); a later one is scheduled."""
        if self._closed:
            raise ControlClosed("the world is stopping: no new fault accepted")
        now = self._clock.now()
        window = spec.duration if spec.duration is not None else self._scenario.duration
        fault_id = self._next_id
        self._next_id += 1
        rng = random.Random(f"{self._scenario.seed}:control:{fault_id}:{spec.fault}")
        unit = FAULTS[spec.fault](spec, FaultContext(now, now + spec.at + window, rng))
        ends = None if spec.duration is None else now + spec.at + spec.duration
        fault = LiveFault(fault_id, spec, target_label(spec), source, unit, now + spec.at, ends)
        self._faults[fault_id] = fault
        self.journal.plan(
            fault_id, spec.fault, fault.target, self._rel(fault.due), self._rel_or_none(ends)
        )
        if spec.at <= 0:
            await self._apply(fault)
        if fault.active and (spec.at > 0 or ends is not None or unit.one_shot):
            fault.task = asyncio.get_running_loop().create_task(
                self._schedule(fault), name=f"control:fault:{fault_id}"
            )
        return fault

    async def run_timeline(self) -> list[LiveFault]:
        """The scenario's timeline from now: one live fault per entry, on its schedule."""
        horizon = self._scenario.duration
        started = []
        for spec in self._scenario.timeline:
            if spec.duration is None:  # "until the end of the run"
                spec = spec.model_copy(update={"duration": max(0.0, horizon - spec.at)})
            started.append(await self.apply(spec, source="timeline"))
        return started

    async def revert(self, fault_id: int, reason: str = "control") -> LiveFault:
        fault = self.get(fault_id)
        await self._cancel(fault)
        await self._revert(fault, reason)
        return fault

    async def revert_all(self, reason: str = "control") -> list[LiveFault]:
        """Revert every fault still active or scheduled, newest first."""
        done = []
        for fault in sorted(self.faults(), key=lambda f: f.id, reverse=True):
            await self._cancel(fault)
            await self._revert(fault, reason)
            done.append(fault)
        return done

    def refuse(self) -> None:
        """Accept no new fault from now on (the world is about to stop)."""
        self._closed = True

    async def close(self, reason: str) -> list[LiveFault]:
        """Refuse new faults and revert every one (safe to call twice)."""
        self._closed = True
        return await self.revert_all(reason)

    # ---- internals ---------------------------------------------------------------------------

    async def _schedule(self, fault: LiveFault) -> None:
        if fault.state == "scheduled":
            await sleep_until(fault.due)
            await self._apply(fault)
        if fault.unit.one_shot:  # nothing stays in place: over as soon as it happened
            await self._revert(fault, "scheduled")
            return
        if fault.ends is not None and fault.active:
            await sleep_until(fault.ends)
            await self._revert(fault, "scheduled")

    async def _cancel(self, fault: LiveFault) -> None:
        task, fault.task = fault.task, None
        if task is None or task is asyncio.current_task():
            return
        task.cancel()
        await asyncio.wait({task})  # our own cancellation still propagates from here

    async def _apply(self, fault: LiveFault) -> None:
        fault.state = "applying"
        try:
            await fault.unit.apply(self._world)
        except asyncio.CancelledError:
            self._journal(fault, "apply", error="cancelled while applying")
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, FaultError) else str(exc)
            log.info("fault %s on %s failed to apply: %s", fault.spec.fault, fault.target, exc)
            self._journal(fault, "apply", error=error)
            fault.error = error
            await self._revert(fault, "error")
            fault.state = "failed"
            return
        # asyncio closes a transport's socket on the next loop iteration: let closes done by the
        # fault (endpoint.drain) reach the wire before the caller hears "applied" and sends.
        for _ in range(_SETTLE_ITERATIONS):
            await asyncio.sleep(0)
        fault.state = "applied"
        entry = self._journal(fault, "apply", details=fault.unit.details())
        fault.applied_at, fault.applied_wall = entry.actual, entry.wall
        self._bus.emit(
            FaultApplied(
                fault.spec.fault,
                fault.target,
                fault.due,
                self._origin + entry.actual,
                self._wall(),
            )
        )

    async def _revert(self, fault: LiveFault, reason: str) -> None:
        was = fault.state
        if was == "scheduled":  # never applied: nothing to undo, but say it will not happen
            fault.state = "reverted"
            fault.revert_reason = reason
            return
        if was not in ("applying", "applied"):
            return
        error = None
        try:
            await fault.unit.revert(self._world)
        except Exception as exc:
            log.error("fault %s on %s failed to revert: %s", fault.spec.fault, fault.target, exc)
            error = f"{type(exc).__name__}: {exc}"
        fault.state = "reverted"
        entry = self._journal(
            fault, "revert", reason=reason, error=error, details=fault.unit.details()
        )
        fault.reverted_at, fault.reverted_wall = entry.actual, entry.wall
        fault.revert_reason = reason
        if was == "applied":
            scheduled = fault.ends if reason == "scheduled" and fault.ends else None
            self._bus.emit(
                FaultReverted(
                    fault.spec.fault,
                    fault.target,
                    scheduled if scheduled is not None else self._origin + entry.actual,
                    self._origin + entry.actual,
                    self._wall(),
                    reason,
                )
            )

    def _journal(
        self,
        fault: LiveFault,
        action: Literal["apply", "revert"],
        *,
        reason: str | None = None,
        error: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> JournalEntry:
        actual = self.elapsed()
        if action == "apply":
            scheduled = self._rel(fault.due)
        elif reason == "scheduled" and fault.ends is not None:
            scheduled = self._rel(fault.ends)
        else:  # asked for now
            scheduled = actual
        entry = JournalEntry(
            index=fault.id,
            fault=fault.spec.fault,
            target=fault.target,
            action=action,
            scheduled=scheduled,
            actual=actual,
            lag_ms=max(0.0, actual - scheduled) * 1000.0,
            wall=iso_utc(self._wall()),
            reason=reason,
            error=error,
            details=details or {},
        )
        self.journal.record(entry)
        if self._on_entry is not None:
            self._on_entry(entry)
        return entry

    def describe(self, fault: LiveFault) -> dict[str, Any]:
        """A live fault as the control API shows it (times: seconds since the world started)."""
        return {
            "id": fault.id,
            "fault": fault.spec.fault,
            "target": fault.target,
            "source": fault.source,
            "state": fault.state,
            "spec": fault.spec.model_dump(mode="json", exclude_none=True),
            "due_at": self._rel(fault.due),
            "applied_at": fault.applied_at,
            "applied_wall": fault.applied_wall,
            "reverts_at": self._rel_or_none(fault.ends),
            "reverted_at": fault.reverted_at,
            "reverted_wall": fault.reverted_wall,
            "revert_reason": fault.revert_reason,
            "error": fault.error,
        }

    def _rel(self, loop_time: float) -> float:
        return loop_time - self._origin

    def _rel_or_none(self, loop_time: float | None) -> float | None:
        return None if loop_time is None else self._rel(loop_time)
