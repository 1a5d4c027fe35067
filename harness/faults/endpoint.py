"""Endpoint faults: one EndpointOverride on the targeted endpoints (harness.world.control).

`endpoints` picks endpoints by index, `az` picks region.endpoints_in_az(az); both: the endpoints in
both; neither: the whole region. "down" is a switch on the endpoint (listeners closed), as in
Toxiproxy, not a fault on a request.
"""

from __future__ import annotations

from typing import Any, TypeVar

from harness.faults.base import FaultContext, FaultUnit, Targeted, target_endpoints
from harness.faults.world_api import FaultWorld
from harness.scenario.fault_spec import (
    EndpointBlackhole,
    EndpointDown,
    EndpointDrain,
    EndpointErrors,
    EndpointLatency,
    EndpointReset,
    EndpointThrottle,
)
from harness.world.control import EndpointMode, EndpointOverride

T = TypeVar("T", bound=Targeted)


class _EndpointFault(FaultUnit[T]):
    mode: EndpointMode

    def __init__(self, spec: T, ctx: FaultContext) -> None:
        super().__init__(spec, ctx)
        self._handle: int | None = None
        self._region: str | None = None

    def options(self) -> dict[str, Any]:
        """Mode-specific fields of the override (delay, status, fraction...)."""
        return {}

    async def apply(self, world: FaultWorld) -> None:
        region = world.region(self.spec.target.region)
        endpoints = target_endpoints(region, self.spec.target)
        override = EndpointOverride(
            self.mode, endpoints=endpoints, rate=self.spec.rate, **self.options()
        )
        self._region = region.name
        self._handle = region.add_override(override)

    async def revert(self, world: FaultWorld) -> None:
        if self._handle is not None and self._region is not None:
            # Forget the handle only once removed: a revert cancelled mid-way can be repeated.
            await world.region(self._region).remove_override(self._handle)
        self._handle = None


class EndpointLatencyFault(_EndpointFault[EndpointLatency]):
    spec_type = EndpointLatency
    mode = "latency"
    client_sees = "every answer later by delay + uniform(0, jitter)"
    attribute_docs = {"delay": "Added to each request.", "jitter": "Plus uniform(0, jitter)."}

    def options(self) -> dict[str, Any]:
        return {"delay": self.spec.delay, "jitter": self.spec.jitter}


class EndpointErrorsFault(_EndpointFault[EndpointErrors]):
    spec_type = EndpointErrors
    mode = "errors"
    client_sees = "HTTP 500 / 503, or 400 ThrottlingException for `throttling`"
    attribute_docs = {"status": "500, 503 or throttling (400 ThrottlingException)."}

    def options(self) -> dict[str, Any]:
        return {"status": self.spec.status}


class EndpointThrottleFault(_EndpointFault[EndpointThrottle]):
    spec_type = EndpointThrottle
    mode = "throttle"
    client_sees = "capacity cut to `fraction`: queueing, then throttling errors under load"
    attribute_docs = {"fraction": "Share of normal concurrency and queue left."}

    def options(self) -> dict[str, Any]:
        return {"fraction": self.spec.fraction}


class EndpointBlackholeFault(_EndpointFault[EndpointBlackhole]):
    spec_type = EndpointBlackhole
    mode = "blackhole"
    client_sees = "connections accepted, requests never answered: client timeouts"


class EndpointResetFault(_EndpointFault[EndpointReset]):
    spec_type = EndpointReset
    mode = "reset"
    client_sees = "connection closed mid-request: a connection error after sending"


class EndpointDownFault(_EndpointFault[EndpointDown]):
    spec_type = EndpointDown
    mode = "down"
    client_sees = "connection refused on new connections (rate: per connection)"


class EndpointDrainFault(FaultUnit[EndpointDrain]):
    """One-shot: closes idle kept-alive connections at `at`; revert has nothing to undo."""

    spec_type = EndpointDrain
    one_shot = True
    client_sees = "idle kept-alive connections closed once: the next request resolves and connects"

    def __init__(self, spec: EndpointDrain, ctx: FaultContext) -> None:
        super().__init__(spec, ctx)
        self.closed: int | None = None

    async def apply(self, world: FaultWorld) -> None:
        if not self.fires():
            return
        region = world.region(self.spec.target.region)
        self.closed = await region.drain(target_endpoints(region, self.spec.target))

    async def revert(self, world: FaultWorld) -> None:
        return None

    def details(self) -> dict[str, Any]:
        return {"connections_closed": self.closed}
