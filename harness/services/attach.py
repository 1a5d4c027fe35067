"""Wiring the service tier into a run: attach it to a world, and give a strategy with `tokens:` its
token gate (the runner calls both; nothing here runs on import)."""

from __future__ import annotations

from aiohttp.abc import AbstractResolver

from harness.client.api import ClientEnv
from harness.client.pipeline import Executor
from harness.client.service_transport import ServiceTransport
from harness.client.tokens import TokenGate, token_fetcher, token_routes
from harness.clock import Clock
from harness.errors import HarnessError
from harness.scenario.strategy_spec import StrategySpec
from harness.services.tier import ServiceTier
from harness.world.world import World


async def attach_services(world: World, *, clock: Clock, seed: int) -> ServiceTier | None:
    """Start the world's services (none declared: None) and make them the world's `services`."""
    if not world.scenario.services:
        return None
    tier = ServiceTier(world, clock=clock, seed=seed)
    await tier.start()
    world.services = tier
    return tier


async def with_tokens(
    executor: Executor,
    strategy: object,
    env: ClientEnv,
    *,
    world: World,
    resolver: AbstractResolver,
) -> tuple[Executor, ServiceTransport | None]:
    """`executor` behind a token gate when the strategy has `tokens:`; else unchanged. Returns the
    transport to close with the client."""
    settings = getattr(strategy, "tokens", None)
    if settings is None or not isinstance(strategy, StrategySpec):
        return executor, None
    tier = world.services
    if not isinstance(tier, ServiceTier):
        raise HarnessError(f"strategy {strategy.name!r}: tokens need the scenario's services")
    service = world.scenario.service(settings.service)
    routes = tier.routes[service.name]
    order = token_routes(settings, env.home, routes)
    if not order:
        raise HarnessError(
            f"strategy {strategy.name!r}: {service.name} has no {settings.endpoint} endpoint "
            f"for {env.home}"
        )
    transport = ServiceTransport(
        service=service.name,
        endpoints={key: routes[key] for key in order},
        port=tier.port,
        resolver=resolver,
        pool=strategy.pool,
        caller_region=env.home,
    )
    await transport.start()
    fetch_env = ClientEnv(
        transport=transport,
        clock=env.clock,
        bus=env.bus,
        rng=env.rng,
        home=env.home,
        regions=env.regions,
        default_deadline=env.default_deadline,
    )
    fetch = token_fetcher(strategy, settings, fetch_env, order)
    gate = TokenGate(executor, fetch, settings, ttl=service.token.ttl, clock=env.clock)
    return gate, transport
