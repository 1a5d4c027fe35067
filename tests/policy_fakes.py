"""Test doubles for the policy tests: a scripted transport, an event recorder, small builders.

FakeTransport answers per region from a script (a list consumed in order, then a default) or
from a behaviour function of (region, loop time); latency is an asyncio.sleep, so everything
runs on the virtual clock. It records every call and counts cancelled attempts.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, is_dataclass
from typing import Any, TypeVar

from harness import events
from harness.client.api import AttemptResult, ClientEnv, Request
from harness.client.pipeline import Pipeline, build_pipeline
from harness.clock import Clock
from harness.events import EventBus
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import StrategySpec
from harness.scenario.types import Spec

Answer = Outcome | tuple[Outcome, float]
Behaviour = Callable[[str, float], Answer]


@dataclass
class Call:
    at: float
    region: str
    timeout: float | None
    request_id: int


@dataclass
class FakeTransport:
    script: Mapping[str, Iterable[Answer]] = field(default_factory=dict)
    default: Answer = Outcome.OK
    latency: float = 0.0
    behaviour: Behaviour | None = None
    calls: list[Call] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)  # loop time at which each answer returned
    cancelled: int = 0
    in_flight: int = 0

    def __post_init__(self) -> None:
        self._queues = {region: deque(answers) for region, answers in self.script.items()}

    def _answer(self, region: str, now: float) -> tuple[Outcome, float]:
        queue = self._queues.get(region)
        if queue:
            answer = queue.popleft()
        elif self.behaviour is not None:
            answer = self.behaviour(region, now)
        else:
            answer = self.default
        if isinstance(answer, tuple):
            return answer
        return answer, self.latency

    async def send(self, request: Request, region: str, *, timeout: float | None) -> AttemptResult:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.calls.append(Call(now, region, timeout, request.id))
        outcome, latency = self._answer(region, now)
        if timeout is not None and latency > timeout:
            outcome, latency = Outcome.TIMEOUT, timeout
        self.in_flight += 1
        try:
            if latency > 0:
                await asyncio.sleep(latency)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        self.ends.append(loop.time())
        return AttemptResult(outcome, region, status=200 if outcome is Outcome.OK else None)

    async def close(self) -> None:
        return None

    def regions_called(self) -> list[str]:
        return [call.region for call in self.calls]


class Recorder:
    """Subscribes to every event type in harness.events; keeps (loop time, event)."""

    def __init__(self, bus: EventBus) -> None:
        self.items: list[tuple[float, object]] = []
        for value in vars(events).values():
            if (
                isinstance(value, type)
                and is_dataclass(value)
                and value.__module__ == events.__name__
            ):
                bus.subscribe(value, self._record)

    def _record(self, event: object) -> None:
        self.items.append((asyncio.get_running_loop().time(), event))

    def of(self, kind: type[Any]) -> list[Any]:
        return [event for _, event in self.items if isinstance(event, kind)]

    def timed(self, kind: type[Any]) -> list[tuple[float, Any]]:
        return [(at, event) for at, event in self.items if isinstance(event, kind)]


REGIONS = ("r1", "r2", "r3")


def make_env(
    transport: FakeTransport,
    *,
    bus: EventBus | None = None,
    regions: Sequence[str] = REGIONS,
    home: str | None = None,
    seed: int = 7,
    deadline: float = 3.0,
) -> ClientEnv:
    """A strategy's build environment on the running loop's clock; home: the first region."""
    return ClientEnv(
        transport=transport,
        clock=Clock.for_running_loop(),
        bus=bus or EventBus(),
        rng=random.Random(seed),
        home=regions[0] if home is None else home,
        regions=tuple(regions),
        default_deadline=deadline,
    )


def make_pipeline(
    blocks: Iterable[Spec],
    transport: FakeTransport,
    *,
    bus: EventBus | None = None,
    regions: Sequence[str] = REGIONS,
    seed: int = 7,
    name: str = "test",
    deadline: float = 3.0,
) -> Pipeline:
    spec = StrategySpec.model_validate({"name": name, "blocks": tuple(blocks)})
    return build_pipeline(
        spec, make_env(transport, bus=bus, regions=regions, seed=seed, deadline=deadline)
    )


B = TypeVar("B")


def block_of(pipeline: Pipeline, cls: type[B]) -> B:
    """The pipeline's one block of type `cls`: the shared state the policy tests look at."""
    [block] = [b for b in pipeline.blocks.values() if isinstance(b, cls)]
    return block


_ids = iter(range(1, 10**9))


def make_request(*, deadline: float = 3.0, request_id: int | None = None) -> Request:
    now = asyncio.get_running_loop().time()
    return Request(
        id=request_id if request_id is not None else next(_ids),
        op="get",
        key="k",
        intended_start=now,
        deadline=now + deadline,
    )
