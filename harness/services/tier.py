"""The service tier of one world: every declared service in every hosting region, its DNS names in
the world's zone (served by the world's DNS server, so DNS faults can target them), its listeners
(all services share one port; service k, region r, endpoint j listens on
127.0.(100+k).(r·endpoints + j + 1)), and the control the `service.throttle` lever uses.

Started after the world (its callers need DynamoDB's port), stopped before it.
"""

from __future__ import annotations

import logging
import random

from harness.clock import Clock
from harness.errors import AddressError, HarnessError
from harness.events import EventBus
from harness.scenario.model import Scenario
from harness.scenario.service_spec import GLOBAL, service_routes
from harness.services.caller import Caller, Directory
from harness.services.instance import ServiceInstance
from harness.telemetry.service_metrics import ServiceRow
from harness.world.world import World

log = logging.getLogger(__name__)

FIRST_SERVICE_OCTET = 100
_PORT_TRIES = 5


def service_addresses(scenario: Scenario) -> dict[tuple[str, str], tuple[str, ...]]:
    """(service, region) -> the instance's endpoint addresses."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for k, spec in enumerate(scenario.services):
        octet = FIRST_SERVICE_OCTET + k
        for r, region in enumerate(spec.regions):
            first = r * spec.endpoints + 1
            out[(spec.name, region)] = tuple(
                f"127.0.{octet}.{first + j}" for j in range(spec.endpoints)
            )
    return out


class ServiceTier:
    """Implements harness.world.control.ServiceControl."""

    def __init__(self, world: World, *, clock: Clock, seed: int) -> None:
        scenario = world.scenario
        self.scenario = scenario
        self._world = world
        self._clock = clock
        self._seed = seed
        self.bus = EventBus()  # the services' own client events stay out of the strategies' metrics
        self.addresses = service_addresses(scenario)
        zone = scenario.dns.zone
        self.routes = {spec.name: service_routes(spec, zone) for spec in scenario.services}
        for spec in scenario.services:
            for region in spec.regions:
                world.zone.set_addresses(
                    self.routes[spec.name][region], self.addresses[(spec.name, region)]
                )
            if spec.home is not None:
                world.zone.set_addresses(
                    self.routes[spec.name][GLOBAL], self.addresses[(spec.name, spec.home)]
                )
        self.instances: dict[tuple[str, str], ServiceInstance] = {}
        self.port = 0
        self._throttles: dict[int, tuple[tuple[str, str], int]] = {}
        self._next_handle = 0

    def _rng(self, component: str) -> random.Random:
        return random.Random(f"{self._seed}:{self._world.owner}:service:{component}")

    def dns_names(self, service: str, region: str) -> tuple[str, ...]:
        """The names a DNS fault on `service` in `region` hits: its regional name, and its global
        name when `region` is its home (the global endpoint *is* the home region's)."""
        routes = self.routes[service]
        names = [routes[region]]
        if self.scenario.service(service).home == region:
            names.append(routes[GLOBAL])
        return tuple(names)

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        world = self._world
        try:
            self.port = await self._listen()
            directory = Directory(
                dns=(world.dns.host, world.dns.port),
                dynamo={region: world.dns_name(region) for region in world.regions},
                dynamo_port=world.http_port,
                services=self.routes,
                services_port=self.port,
            )
            for (service, region), instance in self.instances.items():
                caller = Caller(
                    instance.spec,
                    region,
                    directory,
                    clock=self._clock,
                    bus=self.bus,
                    rng=self._rng(f"{service}:{region}:caller"),
                )
                await instance.begin(caller)
        except BaseException:
            await self.stop()
            raise

    async def _listen(self) -> int:
        """Every instance on one port: the first binds a free one, the rest reuse it."""
        last: AddressError | None = None
        for _ in range(_PORT_TRIES):
            port = 0
            self.instances = {}
            try:
                for spec in self.scenario.services:
                    for region in spec.regions:
                        instance = ServiceInstance(
                            spec,
                            self.scenario.region(region),
                            self.addresses[(spec.name, region)],
                            clock=self._clock,
                            rng=self._rng(f"{spec.name}:{region}"),
                            rtt_from={
                                caller: self.scenario.rtt(caller, region)
                                for caller in self.scenario.region_names
                            },
                        )
                        self.instances[(spec.name, region)] = instance
                        port = await instance.listen(port)
                return port
            except AddressError as exc:
                last = exc
                await self.stop()
        assert last is not None
        raise last

    async def stop(self) -> None:
        for instance in self.instances.values():
            try:
                await instance.stop()
            except Exception:  # keep closing the rest
                log.exception("stopping service %s@%s", instance.name, instance.region)

    def info(self) -> dict[str, object]:
        """Where each service answers: its names (route -> DNS name), addresses and the port."""
        return {
            name: {
                "names": routes,
                "addresses": {
                    region: list(self.addresses[(name, region)])
                    for region in self.scenario.service(name).regions
                },
                "port": self.port,
            }
            for name, routes in self.routes.items()
        }

    def service_rows(self) -> list[ServiceRow]:
        """For harness.telemetry.service_metrics (scrape time)."""
        return [instance_row(instance) for instance in self.instances.values()]

    # ---- ServiceControl ------------------------------------------------------------------------

    def set_throttle(self, service: str, region: str, max_queue: int) -> int:
        instance = self.instances.get((service, region))
        if instance is None or instance.leases is None:
            raise HarnessError(f"service.throttle: {service} in {region} is not a lease service")
        self._next_handle += 1
        self._throttles[self._next_handle] = (
            (service, region),
            instance.leases.set_throttle(max_queue),
        )
        return self._next_handle

    def clear_throttle(self, handle: int) -> None:
        entry = self._throttles.pop(handle, None)
        if entry is None:
            return
        instance = self.instances.get(entry[0])
        if instance is not None and instance.leases is not None:
            instance.leases.clear_throttle(entry[1])


def instance_row(instance: ServiceInstance) -> ServiceRow:
    leases: dict[str, float] = {}
    if instance.leases is not None:
        stats = instance.leases.stats()
        leases = {
            "held": stats.valid,
            "queued": stats.queued,
            "waiting": stats.held,
            "throttle": stats.throttle or 0,
            "renewed": stats.renewed_total,
            "established": stats.established_total,
            "timed_out": stats.timed_out_total,
            "failed": stats.failed_total,
        }
    healthy = instance.health()
    return ServiceRow(
        service=instance.name,
        region=instance.region,
        requests=dict(instance.requests),
        calls=dict(instance.calls),
        in_flight=instance.capacity.in_service,
        queued=instance.capacity.queued,
        healthy=healthy,
        leases=leases,
    )
