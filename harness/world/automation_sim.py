"""A fast, synchronous discrete-event run of the DNS automation, for property tests.

It drives the very same step generators as the live model (harness.world.automation) over a
virtual time axis, so a schedule found here is a schedule the live model would follow too.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from harness.events import AutomationEvent
from harness.world.automation_state import (
    AutomationState,
    AwaitPlan,
    AwaitRelease,
    Emptying,
    Sleep,
    Steps,
    enactor_steps,
    planner_steps,
)

_ADDRESSES = ("127.0.10.1", "127.0.10.2", "127.0.10.3")


@dataclass(frozen=True, slots=True)
class Stall:
    enactor: int  # index into the Enactors
    at: float
    duration: float


@dataclass(frozen=True, slots=True)
class RaceSchedule:
    """Timings of one run. Delay lists are used in turn and cycled; an empty list means 0."""

    plan_intervals: tuple[float, ...]  # gaps between plans; the first plan is issued at 0
    apply_delays: tuple[tuple[float, ...], ...]  # per Enactor: wait before each apply
    cleanup_delays: tuple[tuple[float, ...], ...] = ()  # per Enactor: wait before each clean-up
    stalls: tuple[Stall, ...] = ()
    cleanup_older_than: int = 10
    retry_after: float = 1.0  # how long a stalled Enactor waits for a transaction to end


@dataclass(frozen=True, slots=True)
class RaceResult:
    emptied: bool
    emptyings: tuple[Emptying, ...]
    record: tuple[str, ...] | None
    record_generation: int
    latest_generation: int
    inconsistent: bool
    notable: tuple[AutomationEvent, ...]
    applied: tuple[tuple[float, str, int], ...]  # (at, enactor, generation) of every apply
    end: float


def simulate(schedule: RaceSchedule, safeguards: bool) -> RaceResult:
    """Run the Planner and Enactors until nothing is left to do; pure and deterministic."""
    clock = _VirtualClock()
    applied: list[tuple[float, str, int]] = []

    def listen(event: AutomationEvent) -> None:
        if event.kind == "plan_applied" and event.enactor and event.generation is not None:
            applied.append((event.at, event.enactor, event.generation))

    names = tuple(f"enactor-{i + 1}" for i in range(len(schedule.apply_delays)))
    state = AutomationState(
        "dynamodb.sim.test",
        names,
        cleanup_older_than=schedule.cleanup_older_than,
        safeguards=safeguards,
        listener=listen,
    )
    for stall in schedule.stalls:
        if 0 <= stall.enactor < len(names):
            state.stall(names[stall.enactor], stall.at, stall.duration)
    actors: list[Steps] = [
        planner_steps(state, schedule.plan_intervals, lambda _g: (_ADDRESSES, (1.0,) * 3), clock)
    ]
    for index, name in enumerate(names):
        cleanups = schedule.cleanup_delays[index] if index < len(schedule.cleanup_delays) else ()
        actors.append(
            enactor_steps(
                state,
                name,
                apply_delay=_cycle(schedule.apply_delays[index]),
                cleanup_delay=_cycle(cleanups),
                retry_after=schedule.retry_after,
                now=clock,
            )
        )
    _run(state, actors, clock)
    return RaceResult(
        emptied=bool(state.emptyings),
        emptyings=tuple(state.emptyings),
        record=state.record,
        record_generation=state.record_generation,
        latest_generation=state.latest_generation,
        inconsistent=state.inconsistent,
        notable=tuple(state.notable),
        applied=tuple(applied),
        end=clock.now,
    )


class _VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cycle(values: tuple[float, ...]) -> Callable[[], float]:
    source: Iterator[float] = itertools.cycle(values) if values else itertools.repeat(0.0)
    return lambda: next(source)


def _run(state: AutomationState, actors: list[Steps], clock: _VirtualClock) -> None:
    """Event loop: (time, sequence) orders wake-ups exactly as asyncio's FIFO ready queue does."""
    heap: list[tuple[float, int, int, int]] = []  # (time, seq, actor, token)
    seq = itertools.count()
    token = [0] * len(actors)  # a wake-up counts only if it carries the actor's current token
    plan_waiters: dict[int, int] = {}  # actor -> newer_than
    release_waiters: dict[int, int] = {}  # actor -> after

    def wake(actor: int) -> None:
        token[actor] += 1
        heapq.heappush(heap, (clock.now, next(seq), actor, token[actor]))

    for actor in range(len(actors)):
        wake(actor)
    while heap:
        at, _, actor, tok = heapq.heappop(heap)
        if tok != token[actor]:
            continue  # a stale wake-up (e.g. a timeout after the release came)
        clock.now = at
        plan_waiters.pop(actor, None)
        release_waiters.pop(actor, None)
        command = next(actors[actor], None)
        # Like the live driver: wake whoever this step released before the actor waits again.
        for waiter, newer_than in list(plan_waiters.items()):
            if state.latest_generation > newer_than:
                del plan_waiters[waiter]
                wake(waiter)
        for waiter, after in list(release_waiters.items()):
            if state.transactions > after:
                del release_waiters[waiter]
                wake(waiter)
        if command is None:
            continue
        if isinstance(command, Sleep):
            token[actor] += 1
            heapq.heappush(heap, (at + command.seconds, next(seq), actor, token[actor]))
        elif isinstance(command, AwaitPlan):
            if state.latest_generation > command.newer_than:
                wake(actor)
            else:
                plan_waiters[actor] = command.newer_than
        elif isinstance(command, AwaitRelease):
            release_waiters[actor] = command.after
            token[actor] += 1
            heapq.heappush(heap, (at + command.timeout, next(seq), actor, token[actor]))
