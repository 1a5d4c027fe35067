"""The recovery lever of a lease service: admission limited by the size of the waiting queue.

Not a failure but what the operators did on 2025-10-20 ("throttling incoming work"), and what AWS
built in afterwards (throttle by the size of the waiting queue). On the timeline like a fault, so a
scenario switches it on at a time; revert switches it off.
"""

from __future__ import annotations

from harness.faults.base import FaultContext, FaultError, FaultUnit
from harness.faults.world_api import FaultWorld
from harness.scenario.fault_spec import ServiceThrottle
from harness.world.control import ServiceControl


class ServiceThrottleFault(FaultUnit[ServiceThrottle]):
    spec_type = ServiceThrottle
    client_sees = (
        "a recovery lever on a lease service (target {region, service}): new lease jobs wait "
        "outside the queue while `max_queue` are queued, so the backlog drains instead of "
        "timing out"
    )
    attribute_docs = {"max_queue": "Jobs admitted to wait at once."}

    def __init__(self, spec: ServiceThrottle, ctx: FaultContext) -> None:
        super().__init__(spec, ctx)
        self._handle: int | None = None

    def _services(self, world: FaultWorld) -> ServiceControl:
        services: ServiceControl | None = getattr(world, "services", None)
        if services is None or self.spec.target.service is None:
            raise FaultError("service.throttle needs a target service in a world with services")
        return services

    async def apply(self, world: FaultWorld) -> None:
        target = self.spec.target
        services = self._services(world)
        self._handle = services.set_throttle(
            str(target.service), target.region, self.spec.max_queue
        )

    async def revert(self, world: FaultWorld) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            self._services(world).clear_throttle(handle)
