"""The DNS Planner/Enactor automation of the 2025-10-20 incident as a pure state machine.

AWS's post-event summary (aws.amazon.com/message/101925): the Planner issues successive
*generations* of a plan per endpoint; three Enactors (one per AZ) each check **once, before they
start**, that their plan is newer than the applied one, apply it as one transaction, then run a
*clean-up* that deletes plans much older than the one they just applied. A delayed Enactor applied a
stale plan just as another Enactor's clean-up deleted that very plan: the record lost all its
addresses and the automation was left unable to apply later plans until operators repaired it.

Nothing here reads a clock or sleeps: every method takes `at` (loop seconds). The live model
(harness.world.automation) and the fast simulation (harness.world.automation_sim) drive the same
methods through the same step generators (`planner_steps`, `enactor_steps`), so they cannot drift.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.events import AutomationEvent

# Routine events are kept in a short ring for context; notable ones (the race) are all kept.
RECENT_EVENTS = 256


class RecordWriter(Protocol):
    """The part of harness.world.control.ZoneControl the automation writes through."""

    def set_addresses(self, name: str, addresses: tuple[str, ...]) -> None: ...
    def empty(self, name: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Plan:
    generation: int
    addresses: tuple[str, ...]
    weights: tuple[float, ...]
    issued_at: float


@dataclass(frozen=True, slots=True)
class Emptying:
    """One time a clean-up deleted the active plan and emptied the record."""

    at: float
    generation: int  # the active (stale) plan that was deleted
    applied_by: str | None  # the Enactor that had applied it
    deleted_by: str  # the Enactor whose clean-up deleted it
    cleanup_generation: int  # the generation that clean-up was cleaning up after


@dataclass(slots=True)
class _InHand:
    plan: Plan
    checked_at: float
    applied_when_checked: int


class AutomationState:
    """Plans, the record, and what each Enactor holds. `safeguards` are what AWS promised after:
    re-check the generation at apply time and never let clean-up delete the active plan."""

    def __init__(
        self,
        name: str,
        enactors: Sequence[str],
        *,
        cleanup_older_than: int,
        safeguards: bool,
        writer: RecordWriter | None = None,
        listener: Callable[[AutomationEvent], None] | None = None,
    ) -> None:
        self.name = name
        self.enactors = tuple(enactors)
        self.cleanup_older_than = cleanup_older_than
        self.safeguards = safeguards
        self._writer = writer
        self._listener = listener
        self.plans: dict[int, Plan] = {}  # the plan store, in generation order
        self.latest_generation = 0
        self.record: tuple[str, ...] | None = None  # None: never written by the automation
        self.record_generation = 0  # generation of the plan applied to the record
        self.record_applied_by: str | None = None
        self.inconsistent = False
        self.transactions = 0  # record transactions so far: a blocked Enactor waits for the next
        self.refusals = 0
        self.applied_by_enactor: dict[str, int] = {}
        self.emptyings: list[Emptying] = []
        self.notable: list[AutomationEvent] = []
        self.recent: deque[AutomationEvent] = deque(maxlen=RECENT_EVENTS)
        self._in_hand: dict[str, _InHand] = {}
        self._stalls: dict[str, tuple[float, float]] = {}  # enactor -> (from, duration), pending
        self._stalled: set[str] = set()  # enactors inside a stall now

    # ---- Planner -----------------------------------------------------------------------------

    def issue_plan(self, addresses: tuple[str, ...], weights: tuple[float, ...], at: float) -> Plan:
        self.latest_generation += 1
        plan = Plan(self.latest_generation, addresses, weights, at)
        self.plans[plan.generation] = plan
        self._log("plan_issued", None, plan.generation, f"{len(addresses)} addresses", at)
        return plan

    # ---- Enactor -----------------------------------------------------------------------------

    def begin_apply(self, enactor: str, at: float) -> Plan | None:
        """Pick up the newest plan and check ONCE that it is newer than the applied one."""
        if self.inconsistent:
            self.refusals += 1
            self._log("plan_refused_inconsistent", enactor, self.latest_generation, "", at)
            return None
        plan = self.plans.get(self.latest_generation)
        if plan is None or plan.generation <= self.record_generation:
            return None  # nothing newer to do
        self._in_hand[enactor] = _InHand(plan, at, self.record_generation)
        return plan

    def finish_apply(self, enactor: str, at: float) -> Plan | None:
        """Apply the plan in hand as one transaction; None if nothing was applied."""
        held = self._in_hand.pop(enactor, None)
        self._stalled.discard(enactor)
        if held is None:
            return None
        plan = held.plan
        if self.inconsistent:
            self.refusals += 1
            self._log("plan_refused_inconsistent", enactor, plan.generation, "", at)
            return None
        previous = self.record_generation
        if self.safeguards and plan.generation < previous:
            self.refusals += 1
            detail = f"gen {plan.generation} is older than applied gen {previous}"
            self._log("plan_refused_stale", enactor, plan.generation, detail, at, notable=True)
            return None
        self.record = plan.addresses
        self.record_generation = plan.generation
        self.record_applied_by = enactor
        self.applied_by_enactor[enactor] = plan.generation
        self.transactions += 1
        if self._writer is not None:
            self._writer.set_addresses(self.name, plan.addresses)
        stale = plan.generation < previous
        detail = ""
        if stale:
            waited = at - held.checked_at
            detail = (
                f"stale: gen {plan.generation} over gen {previous} (checked {waited:.3f}s earlier"
                f" against gen {held.applied_when_checked}; newest is gen {self.latest_generation})"
            )
        self._log("plan_applied", enactor, plan.generation, detail, at, notable=stale)
        return plan

    def cleanup(self, enactor: str, at: float) -> tuple[int, ...]:
        """Delete plans older than (this Enactor's generation - cleanup_older_than)."""
        own = self.applied_by_enactor.get(enactor)
        if own is None:
            return ()
        threshold = own - self.cleanup_older_than
        active = self.record_generation
        doomed = [g for g in self.plans if g < threshold and not (self.safeguards and g == active)]
        for generation in doomed:
            del self.plans[generation]
        hits_active = not self.safeguards and 0 < active < threshold and not self.inconsistent
        if doomed or hits_active:
            detail = f"deleted {len(doomed)} plan(s) older than gen {threshold}"
            if hits_active:
                detail += f", including active gen {active} applied by {self.record_applied_by}"
            self._log("cleanup", enactor, own, detail, at, notable=hits_active)
        if hits_active:
            self._empty_record(enactor, own, at)
        return tuple(doomed)

    def _empty_record(self, enactor: str, own: int, at: float) -> None:
        active = self.record_generation
        self.emptyings.append(Emptying(at, active, self.record_applied_by, enactor, own))
        self.record = ()
        self.inconsistent = True
        self.transactions += 1
        if self._writer is not None:
            self._writer.empty(self.name)
        detail = f"active plan gen {active} deleted by clean-up of {enactor} (gen {own})"
        self._log("record_emptied", enactor, active, detail, at, notable=True)
        self._log("inconsistent", None, active, "every Enactor refuses plans", at, notable=True)

    # ---- stalls (the fault) and operators ----------------------------------------------------

    def stall(self, enactor: str, at: float, duration: float) -> None:
        """From `at`, the next plan `enactor` picks up waits `duration` longer (Enactor A)."""
        self._stalls[enactor] = (at, duration)
        self._log("stall", enactor, None, f"next plan delayed {duration:g}s", at, notable=True)

    def take_stall(self, enactor: str, at: float) -> float:
        pending = self._stalls.get(enactor)
        if pending is None or at < pending[0]:
            return 0.0
        del self._stalls[enactor]
        self._stalled.add(enactor)
        return pending[1]

    def clear_stall(self, at: float) -> None:
        """Drop pending stalls and the plans held by stalled Enactors (they apply nothing)."""
        if not self._stalls and not self._stalled:
            return
        for enactor in self._stalled:
            self._in_hand.pop(enactor, None)
        self._stalls.clear()
        self._stalled.clear()
        self._log("stall_cleared", None, None, "", at, notable=True)

    def manual_fix(self, at: float) -> bool:
        """Operators restore the newest plan and re-enable the automation. True if it was broken."""
        was_broken = self.inconsistent
        newest = self.plans.get(self.latest_generation)
        if newest is not None:
            self.record = newest.addresses
            self.record_generation = newest.generation
            self.record_applied_by = "operator"
            self.transactions += 1
            if self._writer is not None:
                self._writer.set_addresses(self.name, newest.addresses)
        self.inconsistent = False
        self._in_hand.clear()  # the Enactors start again from the newest plan
        detail = "record restored" if was_broken else "record was consistent"
        self._log("manual_fix", None, self.latest_generation, detail, at, notable=True)
        return was_broken

    def _log(
        self,
        kind: str,
        enactor: str | None,
        generation: int | None,
        detail: str,
        at: float,
        *,
        notable: bool = False,
    ) -> None:
        event = AutomationEvent(kind, enactor, generation, detail, at)
        self.recent.append(event)
        if notable:
            self.notable.append(event)
        if self._listener is not None:
            self._listener(event)


# ---- the steps both drivers run (sans-I/O: they yield what to wait for) -----------------------


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class AwaitPlan:
    """Resume once a plan newer than `newer_than` exists."""

    newer_than: int


@dataclass(frozen=True, slots=True)
class AwaitRelease:
    """Resume when a record transaction after number `after` ends, or after `timeout`."""

    after: int
    timeout: float


Command = Sleep | AwaitPlan | AwaitRelease
Steps = Generator[Command, None, None]
PlanMaker = Callable[[int], tuple[tuple[str, ...], tuple[float, ...]]]


def planner_steps(
    state: AutomationState,
    intervals: Iterable[float],
    make_plan: PlanMaker,
    now: Callable[[], float],
) -> Steps:
    """Issue a plan now, then one after each interval."""
    addresses, weights = make_plan(state.latest_generation + 1)
    state.issue_plan(addresses, weights, now())
    for interval in intervals:
        yield Sleep(interval)
        addresses, weights = make_plan(state.latest_generation + 1)
        state.issue_plan(addresses, weights, now())


def enactor_steps(
    state: AutomationState,
    enactor: str,
    *,
    apply_delay: Callable[[], float],
    cleanup_delay: Callable[[], float],
    retry_after: float,
    now: Callable[[], float],
) -> Steps:
    """One Enactor's loop: pick up, check once, wait, apply, clean up."""
    seen = 0
    while True:
        yield AwaitPlan(seen)
        seen = state.latest_generation
        if state.begin_apply(enactor, now()) is None:
            continue
        stall = state.take_stall(enactor, now())
        yield Sleep(apply_delay() + stall)
        if stall > 0:
            # Enactor A was blocked and kept retrying: it gets through the moment another
            # Enactor's transaction ends, while that Enactor moves on to its clean-up.
            yield AwaitRelease(state.transactions, retry_after)
        if state.finish_apply(enactor, now()) is None:
            continue
        # Clean-up is a separate step: with no delay it still lets a waiting Enactor in first.
        yield Sleep(cleanup_delay())
        state.cleanup(enactor, now())
