"""Typed events on one bus. Policies, faults and the world emit; telemetry and the runner subscribe.

Policies never import prometheus_client: they call `bus.emit(SomeEvent(...))` (Polly's telemetry,
Locust's event hooks). Emitting an event nobody listens to costs one dict lookup.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from harness.outcomes import Outcome

E = TypeVar("E")
Handler = Callable[[Any], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: defaultdict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._handlers[event_type].append(handler)

    def emit(self, event: object) -> None:
        handlers = self._handlers.get(type(event))
        if handlers:
            for handler in handlers:
                handler(event)

    def wants(self, event_type: type) -> bool:
        """True if someone listens: lets hot paths skip building an event nobody reads."""
        return bool(self._handlers.get(event_type))


class HostBus(EventBus):
    """The bus as one client host of a fleet sees it: the events that report one SDK client's
    state (breaker, tokens, limiter) are stamped with the host's index, so telemetry can combine
    the hosts instead of letting the last one to change overwrite the others."""

    def __init__(self, bus: EventBus, host: int) -> None:
        super().__init__()
        self._bus = bus
        self._host = host

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        self._bus.subscribe(event_type, handler)

    def emit(self, event: object) -> None:
        if isinstance(event, TokensChanged | RateLimiterChanged | BreakerStateChanged):
            event = replace(event, host=self._host)
        self._bus.emit(event)

    def wants(self, event_type: type) -> bool:
        return self._bus.wants(event_type)


# ---- client side: requests and attempts ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptFinished:
    strategy: str
    region: str
    outcome: Outcome
    is_retry: bool
    is_hedge: bool
    duration: float


@dataclass(frozen=True, slots=True)
class RequestFinished:
    """One logical request ended. Times on the loop's axis (s); latency from the intended start."""

    strategy: str
    op: str
    key_hash: int
    outcome: Outcome
    attempts: int
    regions_tried: tuple[str, ...]
    region_served: str | None
    status: int | None
    intended_start: float
    start: float
    end: float
    host: int = 0  # which client host of the strategy's fleet sent it (0..hosts-1)
    home: str = ""  # the sending host's home region (its population); "": the scenario's home

    @property
    def latency(self) -> float:
        return self.end - self.intended_start


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    strategy: str
    reason: Outcome
    attempt: int
    delay: float


@dataclass(frozen=True, slots=True)
class RetrySuppressed:
    """A retry was wanted but a gate refused it (quota, budget, throttling) or attempts ran out."""

    strategy: str
    gate: str
    reason: Outcome


@dataclass(frozen=True, slots=True)
class HedgeLaunched:
    strategy: str
    region: str


@dataclass(frozen=True, slots=True)
class FailoverHappened:
    strategy: str
    from_region: str
    to_region: str


@dataclass(frozen=True, slots=True)
class FailbackHappened:
    strategy: str
    to_region: str


@dataclass(frozen=True, slots=True)
class BreakerStateChanged:
    strategy: str
    region: str
    state: str  # "closed" | "open" | "half_open"
    host: int = 0


@dataclass(frozen=True, slots=True)
class TokensChanged:
    """Retry quota / budget / throttling tokens after a change."""

    strategy: str
    gate: str
    tokens: float
    host: int = 0  # which client host of the fleet (stamped by HostBus)


@dataclass(frozen=True, slots=True)
class RateLimiterChanged:
    strategy: str
    rate: float  # requests per second the limiter lets through; inf when not yet enabled
    host: int = 0


@dataclass(frozen=True, slots=True)
class DnsLookup:
    """A client-side name resolution. result: 'ok' or an Outcome value; source: how served."""

    strategy: str
    name: str
    result: str
    source: str  # "wire" | "cache" | "stale" | "pinned" | "negative_cache"


@dataclass(frozen=True, slots=True)
class ConnectionsChanged:
    """Open connections of one client host's pool to one region (`host`: index in the fleet)."""

    strategy: str
    region: str
    open: int
    host: int = 0


# ---- world and faults ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZoneChanged:
    """A DNS zone change took effect at loop time `at`."""

    name: str
    change: str  # "set" | "empty" | "delete" | "override_added" | "override_removed"
    detail: str
    at: float


@dataclass(frozen=True, slots=True)
class FaultApplied:
    fault: str
    target: str
    scheduled: float
    actual: float
    wall: float


@dataclass(frozen=True, slots=True)
class FaultReverted:
    fault: str
    target: str
    scheduled: float
    actual: float
    wall: float
    reason: str  # "scheduled" | "end_of_run" | "aborted" | "error" | "interrupted"


@dataclass(frozen=True, slots=True)
class PhaseChanged:
    name: str
    at: float


@dataclass(frozen=True, slots=True)
class AutomationEvent:
    """DNS Planner/Enactor activity: plan issued, applied, refused, cleaned up, record emptied."""

    kind: str
    enactor: str | None
    generation: int | None
    detail: str
    at: float
