"""What every fault unit shares: the base class, its run context, errors and loop-clock helpers.

A unit is Toxiproxy's toxic: one small class per fault family with `apply(world)` and
`revert(world)`. Revert is idempotent and safe after a partial apply (the injector calls it after a
failed or cancelled apply, at the scheduled end, and again from revert_all).
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from harness.clock import Clock
from harness.errors import HarnessError
from harness.faults.world_api import FaultWorld
from harness.scenario.fault_spec import ReplicationPause, Target
from harness.scenario.types import Spec
from harness.world.control import RegionControl

log = logging.getLogger(__name__)

S = TypeVar("S")


class FaultError(HarnessError):
    """A fault cannot act on this world (missing region, replication or automation...)."""


@dataclass(frozen=True, slots=True)
class FaultContext:
    """Where a unit sits in the run: loop times of the run's start and end, its own seeded rng."""

    start: float
    end: float
    rng: random.Random


class Targeted(Protocol):
    """A spec aimed at one region (every fault but replication.pause)."""

    @property
    def target(self) -> Target: ...
    @property
    def rate(self) -> float: ...


class FaultUnit(ABC, Generic[S]):
    spec_type: ClassVar[type[Spec]]
    client_sees: ClassVar[str]  # one line for the README table
    attribute_docs: ClassVar[dict[str, str]] = {}  # for fields the spec leaves undescribed
    one_shot: ClassVar[bool] = False  # acts once at apply; the injector reverts it right after

    def __init__(self, spec: S, ctx: FaultContext) -> None:
        self.spec = spec
        self.ctx = ctx

    @abstractmethod
    async def apply(self, world: FaultWorld) -> None: ...

    @abstractmethod
    async def revert(self, world: FaultWorld) -> None: ...

    def fires(self) -> bool:
        """For one-shot faults, `rate` is the chance the fault happens at all (seeded draw)."""
        rate = float(getattr(self.spec, "rate", 1.0))
        return rate >= 1.0 or (rate > 0.0 and self.ctx.rng.random() < rate)

    def details(self) -> dict[str, Any]:
        """Extra facts for the journal (e.g. the generations of the automation race)."""
        return {}


def target_label(spec: Spec) -> str:
    """The journal/metric label of a fault's target."""
    if isinstance(spec, ReplicationPause):
        return f"{spec.source or 'all'}->{spec.destination or 'all'}"
    target = getattr(spec, "target", None)
    return target.label() if isinstance(target, Target) else "world"


def target_dns_names(world: FaultWorld, target: Target) -> tuple[str, ...]:
    """The names a DNS fault acts on: the region's DynamoDB name, or a service's names there."""
    if target.service is None:
        return (world.dns_name(target.region),)
    names = getattr(world, "target_dns_names", None)
    if names is None:
        raise FaultError(f"target {target.label()}: this world has no services")
    found: tuple[str, ...] = names(target.region, target.service)
    return found


def target_endpoints(region: RegionControl, target: Target) -> tuple[int, ...] | None:
    """Endpoint indexes a target selects (None: the whole region). `az` and `endpoints` together
    select the endpoints in both."""
    chosen: tuple[int, ...] | None = None
    if target.az is not None:
        chosen = tuple(region.endpoints_in_az(target.az))
    if target.endpoints is not None:
        explicit = tuple(dict.fromkeys(target.endpoints))
        chosen = explicit if chosen is None else tuple(i for i in chosen if i in explicit)
    if chosen is not None and not chosen:
        raise FaultError(f"target {target.label()} selects no endpoint of {region.name}")
    return chosen


async def sleep_until(when: float) -> None:
    """Sleep until loop time `when` exactly (one call_at: no drift accumulates over many waits)."""
    loop = asyncio.get_running_loop()
    if when <= loop.time():
        return
    future: asyncio.Future[None] = loop.create_future()
    handle = loop.call_at(when, _resolve, future)
    try:
        await future
    finally:
        handle.cancel()


# Selectors round a wait up to whole milliseconds and a busy machine wakes us late: in real time
# the injector wakes this much early and yields until the high-resolution clock reaches the moment.
SPIN = 0.001


async def precise_sleep_until(when: float, clock: Clock) -> None:
    """sleep_until, sharpened in real time (never returns before `when` on `clock.measure()`)."""
    if clock.virtual:
        await sleep_until(when)
        return
    await sleep_until(when - SPIN)
    while clock.measure() < when:
        await asyncio.sleep(0)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Background:
    """The one task a unit may own: started by apply, cancelled and awaited by revert."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self._task is not None:
            coro.close()
            raise RuntimeError(f"{name}: already started")
        self._task = asyncio.get_running_loop().create_task(coro, name=name)
        self._task.add_done_callback(_log_failure)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task})  # our own cancellation still propagates from here


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("fault task %s failed", task.get_name(), exc_info=error)
