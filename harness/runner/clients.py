"""One strategy's client side: resolver, transport, pipeline and open-loop generator, wired to a
world. Each strategy has its own DNS cache and connection pool, as separate services would."""

from __future__ import annotations

import random
from typing import Any

from harness.client.api import Request
from harness.client.pipeline import build_pipeline
from harness.client.resolver import DnsResolver
from harness.client.transport import HttpTransport
from harness.client.workload import OpenLoopGenerator, key_hash
from harness.clock import Clock
from harness.events import EventBus, RequestFinished
from harness.outcomes import Outcome
from harness.scenario.model import Scenario
from harness.scenario.strategy_spec import DnsSettings, PoolSettings, StrategySpec
from harness.world.world import World


def regions_by_distance(scenario: Scenario) -> tuple[str, ...]:
    """Home region first, then the others by round-trip time (name breaks ties)."""
    home = scenario.home_region
    others = sorted((r for r in scenario.regions if r.name != home), key=lambda r: (r.rtt, r.name))
    return (home, *(r.name for r in others))


class StrategyClient:
    def __init__(
        self,
        name: str,
        strategy: StrategySpec | Any,
        *,
        world: World,
        scenario: Scenario,
        clock: Clock,
        bus: EventBus,
        seed: int,
    ) -> None:
        self.name = name
        self._strategy = strategy
        self._world = world
        self._scenario = scenario
        self._clock = clock
        self._bus = bus
        self._seed = seed
        self._transport: HttpTransport | None = None
        self._resolver: DnsResolver | None = None
        self._pipeline: Any = None
        self.generator = OpenLoopGenerator(
            spec=scenario.clients,
            duration=scenario.duration,
            seed=seed,
            clock=clock,
            execute=self.execute,
            on_shed=self._shed,
        )

    @property
    def description(self) -> str:
        return str(getattr(self._strategy, "description", ""))

    async def start(self) -> None:
        world = self._world
        dns: DnsSettings = getattr(self._strategy, "dns", DnsSettings())
        pool: PoolSettings = getattr(self._strategy, "pool", PoolSettings())
        self._resolver = DnsResolver(
            (world.dns.host, world.dns.port),
            dns,
            clock=self._clock,
            bus=self._bus,
            strategy=self.name,
        )
        self._transport = HttpTransport(
            strategy=self.name,
            endpoints={region: world.dns_name(region) for region in world.regions},
            port=world.http_port,
            resolver=self._resolver,
            pool=pool,
            clock=self._clock,
            bus=self._bus,
        )
        await self._transport.start()
        options: dict[str, Any] = {
            "transport": self._transport,
            "clock": self._clock,
            "bus": self._bus,
            "rng": random.Random(f"{self._seed}:{self.name}:policies"),
            "home": self._scenario.home_region,
            "regions": regions_by_distance(self._scenario),
            "default_deadline": self._scenario.clients.deadline,
        }
        if isinstance(self._strategy, StrategySpec):
            self._pipeline = build_pipeline(self._strategy, **options)
        else:
            self._pipeline = self._strategy.build(**options)

    async def execute(self, request: Request) -> None:
        start = self._clock.measure()
        result = await self._pipeline.execute(request)
        end = self._clock.measure()
        final = result.result
        self._bus.emit(
            RequestFinished(
                strategy=self.name,
                op=request.op,
                key_hash=key_hash(request.key),
                outcome=final.outcome,
                attempts=result.attempts,
                regions_tried=tuple(result.regions_tried),
                region_served=result.region_served,
                status=final.status,
                intended_start=request.intended_start,
                start=start,
                end=end,
            )
        )

    def _shed(self, request: Request) -> None:
        now = self._clock.measure()
        self._bus.emit(
            RequestFinished(
                strategy=self.name,
                op=request.op,
                key_hash=key_hash(request.key),
                outcome=Outcome.SHED,
                attempts=0,
                regions_tried=(),
                region_served=None,
                status=None,
                intended_start=request.intended_start,
                start=now,
                end=now,
            )
        )

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()
        if self._resolver is not None:
            await self._resolver.close()
