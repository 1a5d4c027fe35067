"""The client's small interfaces: a request, the result of one attempt, the transport that makes
attempts on the wire, and the policy blocks composed around it (Polly v8's pipeline).

    Pipeline = block_1(block_2(... block_n(terminal)))   # blocks outermost first
    terminal = one attempt: transport.send(request, ctx.region, timeout=...)

The transport is the seam for test doubles: policies are tested with a fake transport and the
virtual clock; the real one (harness.client.transport) speaks HTTP to the world through our DNS.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.clock import Clock
from harness.events import EventBus
from harness.outcomes import Outcome


@dataclass(slots=True)
class Request:
    """One logical call. Times are absolute loop times in seconds."""

    id: int
    op: str  # "get" | "put" | "update" | "delete"
    key: str
    intended_start: float
    deadline: float
    value: str = ""


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one attempt (or a block standing in for one) produced. Never an exception."""

    outcome: Outcome
    region: str
    status: int | None = None
    detail: str = ""
    # Stale-read detection: the item's write timestamp as served, when the op was a read.
    version: float | None = None


class Transport(Protocol):
    """Makes one attempt on the wire. Classifies every failure into an Outcome; never raises
    (except CancelledError). `timeout` bounds the whole attempt, DNS and connect included."""

    async def send(
        self, request: Request, region: str, *, timeout: float | None
    ) -> AttemptResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ClientEnv:
    """What every strategy instance is built with: the transport it sends attempts on, the
    clock and event bus, its seeded rng, the home region and all regions (home first, then by
    round-trip time), and the deadline given to requests that carry none."""

    transport: Transport
    clock: Clock
    bus: EventBus
    rng: random.Random
    home: str
    regions: tuple[str, ...]
    default_deadline: float


@dataclass(slots=True)
class Context:
    """Mutable state of one request travelling through the pipeline."""

    request: Request
    strategy: str
    home: str
    regions: tuple[str, ...]  # all regions, home first, then by round-trip time
    region: str  # where the next attempt goes; failover and hedging change it
    clock: Clock
    bus: EventBus
    rng: random.Random
    attempt_timeout: float | None = None
    is_retry: bool = False
    is_hedge: bool = False
    attempts: int = 0  # attempts that reached the terminal (shared by forks, see fork())
    regions_tried: list[str] = field(default_factory=list)
    retry_gates: tuple[RetryGate, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)
    _shared: _Shared | None = None

    def fork(self, *, region: str | None = None, is_hedge: bool = True) -> Context:
        """A context for a concurrent attempt (hedging) that shares attempt counting."""
        shared = self._shared or _Shared(self)
        self._shared = shared
        child = Context(
            request=self.request,
            strategy=self.strategy,
            home=self.home,
            regions=self.regions,
            region=region or self.region,
            clock=self.clock,
            bus=self.bus,
            rng=self.rng,
            attempt_timeout=self.attempt_timeout,
            is_retry=self.is_retry,
            is_hedge=is_hedge,
            retry_gates=self.retry_gates,
            extras=self.extras,
        )
        child._shared = shared
        return child

    def count_attempt(self, region: str) -> None:
        target = self._shared.root if self._shared else self
        target.attempts += 1
        target.regions_tried.append(region)

    def remaining(self) -> float:
        """Seconds until the request's deadline (may be ≤ 0)."""
        return self.request.deadline - self.clock.now()


@dataclass(slots=True)
class _Shared:
    root: Context


Next = Callable[[Context], Awaitable[AttemptResult]]


class Policy(Protocol):
    """One block of a pipeline. `execute` calls `next` zero or more times."""

    async def execute(self, ctx: Context, next: Next) -> AttemptResult: ...


class RetryGate(Protocol):
    """A block that decides whether a retry (or a hedge) may be sent: quota, budget, throttling.

    Gates also sit in the pipeline (inside the retry block) so they see every attempt's result.
    `allow_retry` pays for the retry when it says yes.
    """

    name: str

    def allow_retry(self, ctx: Context, last: AttemptResult) -> bool: ...
