"""The DNS automation that failed on 2025-10-20, live on the event loop: a Planner and one Enactor
per AZ writing one endpoint's record in the zone (see harness.world.automation_state for the model).

The Planner issues a plan every `plan_interval` (AutomationSpec default 1 s): the region's
endpoint addresses with seeded weights, now and then leaving one endpoint out, as capacity shifts.
Each Enactor waits a seeded `enactor_delay` (default median 50 ms, p99 500 ms) before applying.
The `dns.automation_race` fault stalls one Enactor; without safeguards that empties the record.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from harness.events import AutomationEvent, EventBus
from harness.scenario.model import AutomationSpec
from harness.world.automation_sim import RaceResult, RaceSchedule, Stall, simulate
from harness.world.automation_state import (
    AutomationState,
    AwaitPlan,
    AwaitRelease,
    Command,
    RecordWriter,
    Sleep,
    Steps,
    enactor_steps,
    planner_steps,
)

__all__ = ["DnsAutomation", "RaceResult", "RaceSchedule", "Stall", "simulate"]

DROP_ENDPOINT_PROBABILITY = 0.1  # how often a plan leaves one endpoint out


class DnsAutomation:
    """Planner + Enactors for one endpoint name. Satisfies harness.faults.world_api's
    AutomationControl (stall, clear_stall, manual_fix, race_report)."""

    def __init__(
        self,
        spec: AutomationSpec,
        *,
        region: str,
        name: str,
        addresses: tuple[str, ...],
        zone: RecordWriter,
        rng: random.Random,
        bus: EventBus | None = None,
        azs: Sequence[str] = (),
    ) -> None:
        self.spec = spec
        self.region = region
        self.name = name
        self._addresses = addresses
        labels = tuple(azs) or tuple(f"az{i + 1}" for i in range(spec.enactors))
        self.enactors = tuple(  # one per AZ; a second round in the same AZs gets a suffix
            f"enactor-{labels[i % len(labels)]}"
            + (f"-{i // len(labels) + 1}" if i >= len(labels) else "")
            for i in range(spec.enactors)
        )
        # Independent streams: one Enactor's delays never depend on how often another ran.
        self._plan_rng = random.Random(rng.getrandbits(64))
        self._delay_rngs = {e: random.Random(rng.getrandbits(64)) for e in self.enactors}
        self.state = AutomationState(
            name,
            self.enactors,
            cleanup_older_than=spec.cleanup_older_than,
            safeguards=spec.safeguards,
            writer=zone,
            listener=bus.emit if bus is not None else None,
        )
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    # ---- running -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the Planner and the Enactors until cancelled."""
        loop = asyncio.get_running_loop()
        now = loop.time
        actors: list[Steps] = [
            planner_steps(self.state, itertools.repeat(self.spec.plan_interval), self._plan, now)
        ]
        for enactor in self.enactors:
            actors.append(
                enactor_steps(
                    self.state,
                    enactor,
                    apply_delay=self._sampler(self._delay_rngs[enactor]),
                    cleanup_delay=lambda: 0.0,
                    retry_after=self.spec.plan_interval,
                    now=now,
                )
            )
        async with asyncio.TaskGroup() as group:
            for actor in actors:
                group.create_task(self._drive(actor))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[DnsAutomation]:
        """Run in the background for the duration of the block; always stopped on exit."""
        task = asyncio.get_running_loop().create_task(self.run(), name=f"automation:{self.name}")
        try:
            yield self
        finally:
            task.cancel()
            await asyncio.wait({task})  # our own cancellation still propagates from here
            error = None if task.cancelled() else task.exception()
            if error is not None:
                raise error

    async def _drive(self, steps: Steps) -> None:
        for command in steps:
            self._wake()  # whoever this step released runs before this actor waits again
            await self._execute(command)

    async def _execute(self, command: Command) -> None:
        if isinstance(command, Sleep):
            await asyncio.sleep(command.seconds)
        elif isinstance(command, AwaitPlan):
            newer = command.newer_than
            await self._wait_for(lambda: self.state.latest_generation > newer)
        elif isinstance(command, AwaitRelease):
            after = command.after
            try:
                async with asyncio.timeout(command.timeout):
                    await self._wait_for(lambda: self.state.transactions > after)
            except TimeoutError:
                pass  # retry anyway, as Enactor A kept doing

    async def _wait_for(self, ready: Callable[[], bool]) -> None:
        if ready():
            await asyncio.sleep(0)  # requeue, as the simulation does
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (ready, future)
        self._waiters.append(entry)
        try:
            await future
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def _wake(self) -> None:
        for entry in list(self._waiters):
            ready, future = entry
            if not future.done() and ready():
                self._waiters.remove(entry)
                future.set_result(None)

    def _sampler(self, rng: random.Random) -> Callable[[], float]:
        delay = self.spec.enactor_delay
        return lambda: delay.sample(rng)

    def _plan(self, _generation: int) -> tuple[tuple[str, ...], tuple[float, ...]]:
        rng = self._plan_rng
        addresses = list(self._addresses)
        if len(addresses) > 1 and rng.random() < DROP_ENDPOINT_PROBABILITY:
            del addresses[rng.randrange(len(addresses))]
        weights = tuple(float(rng.randint(1, 4)) for _ in addresses)
        return tuple(addresses), weights

    # ---- the fault's and the operators' controls ---------------------------------------------

    @property
    def inconsistent(self) -> bool:
        return self.state.inconsistent

    def stall(self, enactor: str, at: float, duration: float) -> None:
        """From loop time `at`, `enactor`'s next plan waits `duration` longer."""
        if enactor not in self.enactors:
            raise ValueError(f"unknown enactor {enactor!r} (have {', '.join(self.enactors)})")
        self.state.stall(enactor, at, duration)

    def clear_stall(self) -> None:
        self.state.clear_stall(asyncio.get_running_loop().time())

    def manual_fix(self) -> bool:
        """Restore the newest plan and re-enable the Enactors; True if the record was broken."""
        repaired = self.state.manual_fix(asyncio.get_running_loop().time())
        self._wake()
        return repaired

    def race_report(self, origin: float = 0.0) -> dict[str, Any]:
        """The generations involved, for the fault journal; times in s from loop time `origin`."""
        state = self.state
        return {
            "name": self.name,
            "safeguards": state.safeguards,
            "latest_generation": state.latest_generation,
            "record_generation": state.record_generation,
            "inconsistent": state.inconsistent,
            "refusals": state.refusals,
            "emptyings": [
                {
                    "at": round(e.at - origin, 6),
                    "generation": e.generation,
                    "applied_by": e.applied_by,
                    "deleted_by": e.deleted_by,
                    "cleanup_generation": e.cleanup_generation,
                }
                for e in state.emptyings
            ],
            "events": [_event_dict(e, origin) for e in state.notable],
        }


def _event_dict(event: AutomationEvent, origin: float) -> dict[str, Any]:
    return {
        "at": round(event.at - origin, 6),
        "kind": event.kind,
        "enactor": event.enactor,
        "generation": event.generation,
        "detail": event.detail,
    }
