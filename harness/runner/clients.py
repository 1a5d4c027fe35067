"""One strategy's client side: resolver, transport, pipeline and open-loop generator, wired to a
world. Each strategy has its own DNS cache and connection pool, as separate services would."""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

from harness.client.api import AttemptResult, ClientEnv, Request
from harness.client.factory import build_executor
from harness.client.pipeline import RequestOutcome
from harness.client.policies.timeout import caller_deadline
from harness.client.resolver import DnsResolver
from harness.client.transport import HttpTransport
from harness.client.workload import OpenLoopGenerator, key_hash
from harness.clock import Clock
from harness.errors import StrategyError
from harness.events import EventBus, RequestFinished
from harness.outcomes import Outcome
from harness.scenario.model import Scenario
from harness.scenario.strategy_spec import DnsSettings, PoolSettings, StrategySpec
from harness.services.attach import with_tokens
from harness.world.world import World

USER_CODE_GRACE = 1.0  # seconds a user strategy may run past a request's deadline


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
        self._token_transport: Any = None
        self._guarded = False
        self.generator = OpenLoopGenerator(
            spec=scenario.clients,
            duration=scenario.duration,
            seed=seed,
            clock=clock,
            execute=self.execute,
            on_shed=self._shed,
        )

    @property
    def deadline(self) -> float | None:
        """The caller's deadline in force for this strategy (None: no deadline)."""
        scenario_deadline = self._scenario.clients.deadline
        if isinstance(self._strategy, StrategySpec):
            return caller_deadline(self._strategy, scenario_deadline)
        return scenario_deadline

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
        env = ClientEnv(
            transport=self._transport,
            clock=self._clock,
            bus=self._bus,
            rng=random.Random(f"{self._seed}:{self.name}:policies"),
            home=self._scenario.home_region,
            regions=regions_by_distance(self._scenario),
            default_deadline=math.inf if self.deadline is None else self.deadline,
        )
        self._pipeline = build_executor(self._strategy, env)
        self._pipeline, self._token_transport = await with_tokens(
            self._pipeline, self._strategy, env, world=world, resolver=self._resolver
        )
        self._guarded = not isinstance(self._strategy, StrategySpec)

    async def execute(self, request: Request) -> None:
        start = self._clock.measure()
        if self._guarded:
            done = await self._execute_user_code(request)
        else:
            done = await self._pipeline.execute(request)
        self._finished(request, done, start, self._clock.measure())

    async def _execute_user_code(self, request: Request) -> RequestOutcome:
        """A user strategy gets the guard our own pipelines do not need: it may not outlive the
        request's deadline (plus a grace), and an exception names the strategy and stops the run."""
        try:
            guard = request.deadline + USER_CODE_GRACE
            async with asyncio.timeout_at(guard if math.isfinite(guard) else None):
                done: Any = await self._pipeline.execute(request)
        except TimeoutError:
            failed = AttemptResult(Outcome.DEADLINE_EXCEEDED, self._scenario.home_region)
            return RequestOutcome(failed, 0, (), None)
        except Exception as exc:
            raise StrategyError(
                f"strategy {self.name!r}: its execute() raised {type(exc).__name__}: {exc}"
            ) from exc
        if not (isinstance(done, RequestOutcome) and isinstance(done.result, AttemptResult)):
            raise StrategyError(
                f"strategy {self.name!r}: its execute() returned {type(done).__name__}, "
                "expected a harness.client.pipeline.RequestOutcome (with an AttemptResult)"
            )
        return done

    def _shed(self, request: Request) -> None:
        """Not sent: the generator was over its in-flight limit (the run is saturated)."""
        now = self._clock.measure()
        shed = RequestOutcome(AttemptResult(Outcome.SHED, self._scenario.home_region), 0, (), None)
        self._finished(request, shed, now, now)

    def _finished(self, request: Request, done: RequestOutcome, start: float, end: float) -> None:
        self._bus.emit(
            RequestFinished(
                strategy=self.name,
                op=request.op,
                key_hash=key_hash(request.key),
                outcome=done.result.outcome,
                attempts=done.attempts,
                regions_tried=tuple(done.regions_tried),
                region_served=done.region_served,
                status=done.result.status,
                intended_start=request.intended_start,
                start=start,
                end=end,
            )
        )

    async def close(self) -> None:
        if self._token_transport is not None:
            await self._token_transport.close()
        if self._transport is not None:
            await self._transport.close()
        if self._resolver is not None:
            await self._resolver.close()
