"""Scenarios given as YAML text, in this test's (virtual-clock) loop: run every strategy they
declare and return the run's summary, or stand up their world and service tier to call into."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.client.factory import resolve_strategies
from harness.client.resolver import DnsResolver
from harness.client.service_transport import ServiceTransport
from harness.clock import Clock
from harness.events import EventBus
from harness.runner import RunOptions, run_scenario
from harness.scenario import parse_scenario
from harness.scenario.strategy_spec import DnsSettings, PoolSettings
from harness.services.attach import attach_services
from harness.services.tier import ServiceTier
from harness.world.world import World


async def run_text(text: str, out: Path) -> dict[str, Any]:
    scenario = parse_scenario(text)
    strategies = [(s.name, s) for s in resolve_strategies(scenario.strategies, scenario)]
    result = await run_scenario(scenario, strategies, RunOptions(out_dir=out, progress=False))
    return result.summary


def uncached_resolver(dns: tuple[str, int], clock: Clock) -> DnsResolver:
    """A resolver that asks the world's DNS server every time (no cache to wait out)."""
    return DnsResolver(dns, DnsSettings(cache="none"), clock=clock, bus=EventBus(), strategy="t")


def service_transport(
    service: str,
    endpoints: dict[str, str],
    port: int,
    resolver: DnsResolver,
    caller: str | None = None,
) -> ServiceTransport:
    """A transport to one service without keep-alive (each call resolves and connects anew)."""
    return ServiceTransport(
        service=service,
        endpoints=endpoints,
        port=port,
        resolver=resolver,
        pool=PoolSettings(keep_alive=False),
        caller_region=caller,
    )


@dataclass
class ServiceWorld:
    """A world with its service tier, in this test's loop, and the transports opened on it."""

    world: World
    tier: ServiceTier
    clock: Clock
    resolver: DnsResolver
    transports: list[ServiceTransport] = field(default_factory=list)

    async def transport(
        self, service: str, region: str, *, caller: str | None = None
    ) -> ServiceTransport:
        """A started transport to `service` in `region`, closed with the world."""
        endpoints = {region: self.tier.routes[service][region]}
        transport = service_transport(service, endpoints, self.tier.port, self.resolver, caller)
        self.transports.append(transport)
        await transport.start()
        return transport


@asynccontextmanager
async def world_with_services(text: str) -> AsyncIterator[ServiceWorld]:
    """The scenario's world and services (seed 1); everything stopped on the way out."""
    scenario = parse_scenario(text)
    clock = Clock.for_running_loop()
    async with World(scenario, bus=EventBus(), owner="t") as world:
        tier = await attach_services(world, clock=clock, seed=1)
        assert tier is not None, "the scenario declares no services"
        running = ServiceWorld(
            world, tier, clock, uncached_resolver((world.dns.host, world.dns.port), clock)
        )
        try:
            yield running
        finally:
            for transport in running.transports:
                await transport.close()
            await running.resolver.close()
            await tier.stop()
