"""One strategy's client side: a fleet of simulated client hosts sharing one open-loop generator,
wired to a world.

Each host is one SDK client as in production: its own resolver and DNS cache, its own connection
pools, its own pipeline (retry quota, breakers, limiter, budget, throttling). Hosts start at
staggered moments spread over the first connection-lifetime period, so their connection ages and
cache phases differ and an outage reaches them one by one (see docs/fleets.md).
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import random
from collections.abc import Coroutine
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
from harness.events import EventBus, HostBus, RequestFinished
from harness.outcomes import Outcome
from harness.scenario.model import Scenario
from harness.scenario.strategy_spec import DnsSettings, PoolSettings, StrategySpec
from harness.services.attach import with_tokens
from harness.world.world import World

USER_CODE_GRACE = 1.0  # seconds a user strategy may run past a request's deadline


def regions_by_distance(scenario: Scenario, home: str | None = None) -> tuple[str, ...]:
    """Home region (default: the first population's) first, then the others by round-trip time
    from it (name breaks ties)."""
    home = scenario.home_region if home is None else home
    others = sorted(
        (r.name for r in scenario.regions if r.name != home),
        key=lambda name: (scenario.rtt(home, name), name),
    )
    return (home, *others)


def stagger_period(scenario: Scenario, home: str | None = None) -> float:
    """The span host start times are spread over: one connection lifetime of the home region
    (server max_age, else idle timeout) or one DNS TTL, whichever is longer, so both connection
    ages and cache phases cover a whole cycle; cut at the first fault so every host is up before
    the world goes wrong."""
    connections = scenario.region(scenario.home_region if home is None else home).connections
    lifetime = connections.max_age if connections.max_age is not None else connections.idle_timeout
    period = max(lifetime, scenario.dns.ttl)
    first_fault = min((f.at for f in scenario.timeline), default=period)
    return max(0.0, min(period, first_fault, scenario.duration))


def host_offsets(hosts: int, period: float, seed: int) -> tuple[float, ...]:
    """Start offsets (seconds after the run's origin), ascending; host 0 starts at once.

    Stratified: host i starts at a seeded point of the i-th of `hosts` equal slices of `period`,
    so the fleet covers the period evenly whatever the seed. The same for every strategy of a run
    (it depends on the seed only): strategies are compared on the same fleet."""
    if hosts <= 1 or period <= 0:
        return (0.0,) * max(1, hosts)
    rng = random.Random(f"{seed}:fleet:offsets")
    width = period / hosts
    return (0.0, *((i + rng.random()) * width for i in range(1, hosts)))


class HostAssigner:
    """Gives each arrival to one started host, chosen uniformly at random (seeded).

    Random rather than round-robin: a random split of a Poisson stream is an independent Poisson
    stream per host (thinning), as callers spread by a load balancer would be, while round-robin
    would make each host's arrivals unnaturally regular. The draws depend only on the seed and
    the arrival times, so every strategy sees the same assignment (common random numbers)."""

    def __init__(self, offsets: tuple[float, ...], seed: int, salt: str = "") -> None:
        self._offsets = offsets
        self._rng = random.Random(f"{seed}:fleet:assign{salt}")

    def host_for(self, since_origin: float) -> int:
        started = max(1, bisect.bisect_right(self._offsets, since_origin))
        return 0 if started == 1 else self._rng.randrange(started)


class PopulationAssigner:
    """Gives each arrival to one client population, drawn by the populations' shares (seeded,
    from the arrival order only: every strategy sees the same split). One population: no draw,
    so single-home runs keep their random streams."""

    def __init__(self, shares: tuple[float, ...], seed: int) -> None:
        self._bounds = tuple(itertools.accumulate(shares))
        self._rng = random.Random(f"{seed}:fleet:populations") if len(shares) > 1 else None

    def population_for(self) -> int:
        if self._rng is None:
            return 0
        index = bisect.bisect_right(self._bounds, self._rng.random() * self._bounds[-1])
        return min(index, len(self._bounds) - 1)


class _Population:
    """The hosts of one home region: their start offsets and the assignment of arrivals."""

    def __init__(self, index: int, home: str, owner: StrategyClient) -> None:
        scenario, seed = owner.scenario, owner.seed
        self.home = home
        self.regions = regions_by_distance(scenario, home)
        self.offsets = host_offsets(scenario.clients.hosts, stagger_period(scenario, home), seed)
        first = index * len(self.offsets)  # host indices run on across populations
        self.hosts = [_Host(first + i, owner, self) for i in range(len(self.offsets))]
        # population 0 keeps the one-home seed string: single-home runs are unchanged
        salt = "" if index == 0 else f":{home}"
        self.assigner = HostAssigner(self.offsets, seed, salt)


class _Host:
    """One simulated client host: resolver, transport, pipeline. Nothing shared with its peers."""

    def __init__(self, index: int, owner: StrategyClient, population: _Population) -> None:
        self.index = index
        self.population = population
        self._owner = owner
        self.transport: HttpTransport | None = None
        self.resolver: DnsResolver | None = None
        self.pipeline: Any = None
        self.token_transport: Any = None  # the host's own client of a token service, if any

    async def start(self) -> None:
        owner = self._owner
        world, strategy = owner.world, owner.strategy
        dns: DnsSettings = getattr(strategy, "dns", DnsSettings())
        pool: PoolSettings = getattr(strategy, "pool", PoolSettings())
        self.resolver = DnsResolver(
            (world.dns.host, world.dns.port), dns, clock=owner.clock, bus=owner.bus,
            strategy=owner.name,
        )  # fmt: skip
        self.transport = HttpTransport(
            strategy=owner.name,
            endpoints={region: world.dns_name(region) for region in world.regions},
            port=world.http_port,
            resolver=self.resolver,
            pool=pool,
            clock=owner.clock,
            bus=owner.bus,
            host=self.index,
            caller_region=self.population.home,
        )
        await self.transport.start()
        # host 0 keeps the seed string of the one-host model: hosts=1 runs are unchanged
        salt = "" if self.index == 0 else f":host{self.index}"
        env = ClientEnv(
            transport=self.transport,
            clock=owner.clock,
            bus=HostBus(owner.bus, self.index),
            rng=random.Random(f"{owner.seed}:{owner.name}{salt}:policies"),
            home=self.population.home,
            regions=self.population.regions,
            default_deadline=math.inf if owner.deadline is None else owner.deadline,
        )
        self.pipeline, self.token_transport = await with_tokens(
            build_executor(strategy, env), strategy, env, world=world, resolver=self.resolver
        )

    async def close(self) -> None:
        try:
            if self.token_transport is not None:
                await self.token_transport.close()
            if self.transport is not None:
                await self.transport.close()
        finally:
            if self.resolver is not None:
                await self.resolver.close()


class StrategyClient:
    """A strategy's fleet: `scenario.clients.hosts` hosts per client population, fed by one
    open-loop generator; each arrival goes to a population by its share, then to one of its
    hosts."""

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
        self.strategy = strategy
        self.world = world
        self.scenario = scenario
        self.clock = clock
        self.bus = bus
        self.seed = seed
        homes = scenario.populations
        self.populations = [_Population(i, home, self) for i, (home, _) in enumerate(homes)]
        self.hosts = [host for population in self.populations for host in population.hosts]
        self._which = PopulationAssigner(tuple(share for _, share in homes), seed)
        self._origin: float | None = None
        self._guarded = not isinstance(strategy, StrategySpec)
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
        scenario_deadline = self.scenario.clients.deadline
        if isinstance(self.strategy, StrategySpec):
            return caller_deadline(self.strategy, scenario_deadline)
        return scenario_deadline

    @property
    def description(self) -> str:
        return str(getattr(self.strategy, "description", ""))

    async def start(self) -> None:
        for host in self.hosts:
            await host.start()

    async def run(self, origin: float) -> None:
        """Generate the strategy's arrivals from loop time `origin`, each sent by one host."""
        self._origin = origin
        await self.generator.run(origin)

    def _host_for(self, request: Request) -> _Host:
        origin = request.intended_start if self._origin is None else self._origin
        population = self.populations[self._which.population_for()]
        return population.hosts[population.assigner.host_for(request.intended_start - origin)]

    def execute(self, request: Request) -> Coroutine[Any, Any, None]:
        """Choose the host now, in arrival order (the generator calls this synchronously), so the
        assignment never depends on how the loop schedules the requests' tasks."""
        return self._send(self._host_for(request), request)

    async def _send(self, host: _Host, request: Request) -> None:
        start = self.clock.measure()
        if self._guarded:
            done = await self._execute_user_code(host, request)
        else:
            done = await host.pipeline.execute(request)
        self._finished(request, done, start, self.clock.measure(), host)

    async def _execute_user_code(self, host: _Host, request: Request) -> RequestOutcome:
        """A user strategy gets the guard our own pipelines do not need: it may not outlive the
        request's deadline (plus a grace), and an exception names the strategy and stops the run."""
        try:
            guard = request.deadline + USER_CODE_GRACE
            async with asyncio.timeout_at(guard if math.isfinite(guard) else None):
                done: Any = await host.pipeline.execute(request)
        except TimeoutError:
            failed = AttemptResult(Outcome.DEADLINE_EXCEEDED, host.population.home)
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
        now = self.clock.measure()
        host = self._host_for(request)
        shed = RequestOutcome(AttemptResult(Outcome.SHED, host.population.home), 0, (), None)
        self._finished(request, shed, now, now, host)

    def _finished(
        self, request: Request, done: RequestOutcome, start: float, end: float, host: _Host
    ) -> None:
        self.bus.emit(
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
                host=host.index,
                home=host.population.home,
            )
        )

    async def close(self) -> None:
        for host in self.hosts:
            await host.close()
