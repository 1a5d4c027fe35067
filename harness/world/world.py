"""One world: a DNS authority, every region's endpoints, replication (and the DNS automation when
the scenario enables it). Started and stopped as one unit; stop is guaranteed and idempotent."""

from __future__ import annotations

import contextlib
import logging
import random
from typing import Any

from harness.errors import AddressError
from harness.events import EventBus
from harness.scenario.model import Scenario
from harness.world.addressing import region_addresses
from harness.world.automation import DnsAutomation
from harness.world.control import ReplicationControl, ServiceControl, ZoneControl
from harness.world.dns.server import DnsServer
from harness.world.dns.zone import Zone
from harness.world.region import Region
from harness.world.replication import Replicator
from harness.world.stats import ConsistencyStats, DnsQueryCount, RegionStats, ReplicationStats

log = logging.getLogger(__name__)

_PORT_TRIES = 5


class World:
    def __init__(
        self,
        scenario: Scenario,
        *,
        bus: EventBus,
        owner: str = "world",
        seed: int | None = None,
        http_port: int = 0,
    ) -> None:
        self.scenario = scenario
        self.owner = owner
        self._bus = bus
        self._seed = scenario.seed if seed is None else seed
        self._http_port = http_port
        dns = scenario.dns
        self.zone = Zone(dns.zone, ttl=dns.ttl, negative_ttl=dns.negative_ttl, bus=bus)
        self.addresses = region_addresses(scenario)
        for name, addresses in self.addresses.items():
            self.zone.set_addresses(self.dns_name(name), addresses)
        self.dns = DnsServer(self.zone, dns.host, dns.port, rng=self._rng("dns"))
        self.replication: Replicator | None = (
            Replicator(scenario, rng=self._rng("replication"), bus=bus)
            if scenario.replication.enabled and len(scenario.regions) > 1
            else None
        )
        self.regions: dict[str, Region] = {
            spec.name: Region(
                spec,
                self.addresses[spec.name],
                rng=self._rng(f"region:{spec.name}"),
                replicator=self.replication,
                bus=bus,
                rtt_from={c: scenario.rtt(c, spec.name) for c in scenario.region_names},
            )
            for spec in scenario.regions
        }
        self.automation = self._automation() if dns.automation.enabled else None
        # Dependent services, attached by harness.services.attach_services after start.
        self.services: ServiceControl | None = None
        self._background = contextlib.AsyncExitStack()
        self.http_port = 0
        self._started = False

    def _automation(self) -> DnsAutomation:
        """The Planner/Enactors for one region's record: the region a dns.automation_race fault
        targets, else the home region."""
        from harness.scenario.fault_spec import DnsAutomationRace

        races = [f for f in self.scenario.timeline if isinstance(f, DnsAutomationRace)]
        region = races[0].target.region if races else self.scenario.home_region
        return DnsAutomation(
            self.scenario.dns.automation,
            region=region,
            name=self.dns_name(region),
            addresses=self.addresses[region],
            zone=self.zone,
            # not per owner: the automation is part of the fault timeline, which every
            # strategy of a seed must share (the paired comparison depends on it)
            rng=random.Random(f"{self._seed}:automation"),
            bus=self._bus,
            azs=self.scenario.region(region).az_names,
        )

    def _rng(self, component: str) -> random.Random:
        # One seed per scenario, derived per component (and per world owner), so runs repeat.
        return random.Random(f"{self._seed}:{self.owner}:{component}")

    # ---- the faults' view of the world (harness.faults.world_api) ----------------------------

    def dns_name(self, region: str) -> str:
        return self.scenario.dns.endpoint_name(region)

    def region(self, name: str) -> Region:
        return self.regions[name]

    def target_dns_names(self, region: str, service: str | None = None) -> tuple[str, ...]:
        """The names a DNS fault on `region` (or on `service` hosted there) acts on."""
        if service is None:
            return (self.dns_name(region),)
        if self.services is None:
            from harness.faults.base import FaultError

            raise FaultError(f"no service {service!r} in this world")
        return self.services.dns_names(service, region)

    @property
    def zone_control(self) -> ZoneControl:
        return self.zone

    @property
    def replication_control(self) -> ReplicationControl | None:
        return self.replication

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.dns.start()
            if self.replication is not None:
                await self.replication.start()
            self.http_port = await self._start_regions()
            if self.automation is not None:
                await self._background.enter_async_context(self.automation.running())
            self._started = True
        except BaseException:
            await self.stop()
            raise

    async def _start_regions(self) -> int:
        """All regions share one HTTP port: the first binds port 0, the rest reuse its port."""
        last_error: AddressError | None = None
        for _ in range(_PORT_TRIES if self._http_port == 0 else 1):
            port = self._http_port
            try:
                for region in self.regions.values():
                    port = await region.start(port)
                return port
            except AddressError as exc:
                last_error = exc
                for region in self.regions.values():
                    await region.stop()
        assert last_error is not None
        raise last_error

    async def stop(self) -> None:
        """Close every socket; safe to call twice and after a failed start."""
        await self._background.aclose()
        for region in self.regions.values():
            try:
                await region.stop()
            except Exception:  # keep closing the rest; a failed stop must not leak sockets
                log.exception("stopping region %s", region.name)
        if self.replication is not None:
            await self.replication.stop()
        await self.dns.stop()
        self._started = False

    async def __aenter__(self) -> World:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- what it serves, and its counters ----------------------------------------------------

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "dns": {"host": self.dns.host, "port": self.dns.port, "zone": self.scenario.dns.zone},
            "regions": {
                name: {
                    "name": self.dns_name(name),
                    "addresses": list(self.addresses[name]),
                    "port": self.http_port,
                }
                for name in self.regions
            },
        }
        if self.services is not None:
            info["services"] = self.services.info()
        return info

    def dns_stats(self) -> list[DnsQueryCount]:
        return self.dns.stats()

    def region_stats(self) -> list[RegionStats]:
        return [region.stats() for region in self.regions.values()]

    def replication_stats(self) -> list[ReplicationStats]:
        return self.replication.stats() if self.replication is not None else []

    def consistency_stats(self) -> list[ConsistencyStats]:
        return self.replication.consistency_stats() if self.replication is not None else []
