"""A strategy's pipeline: its blocks composed around one attempt on the wire.

    pipeline = blocks[0](blocks[1](... blocks[n-1](terminal)))   # spec.blocks, outermost first

The chain is bound once per strategy instance; a request only builds its Context. Block
objects (one per strategy instance) hold the state shared across requests: breakers, the
retry quota, the budget window, throttling tokens, the rate limiter, failover health.
Gate blocks (quota, budget, throttling) sit in the chain where the spec puts them *and* are
handed to every request as ctx.retry_gates, so retry and hedge blocks can ask them.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from harness.client.api import AttemptResult, ClientEnv, Context, Next, Policy, Request, RetryGate
from harness.client.policies import BLOCK_TYPES, GATE_KINDS, BlockEnv, BreakerPolicy
from harness.errors import StrategyError
from harness.events import AttemptFinished
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import BreakerBlock, StrategySpec


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """How one logical request ended. region_served: where the OK came from, else None."""

    result: AttemptResult
    attempts: int
    regions_tried: tuple[str, ...]
    region_served: str | None


class Executor(Protocol):
    """What a runner drives: a built pipeline, or a user strategy's own object."""

    async def execute(self, request: Request) -> RequestOutcome: ...


def _bind(block: Policy, inner: Next) -> Next:
    execute = block.execute

    def call(ctx: Context) -> Awaitable[AttemptResult]:
        return execute(ctx, inner)  # no extra coroutine frame per block

    return call


class Pipeline:
    def __init__(self, spec: StrategySpec, blocks: dict[str, Policy], env: ClientEnv) -> None:
        self.spec = spec
        self.name = spec.name
        self.blocks = blocks  # kind → block object, for telemetry and tests
        self._env = env
        # The terminal reads these on every attempt: one attribute lookup, not two.
        self._transport = env.transport
        self._clock = env.clock
        self._bus = env.bus
        self._gates: tuple[RetryGate, ...] = tuple(
            block  # type: ignore[misc]  # the GATE_KINDS classes implement RetryGate
            for kind, block in blocks.items()
            if kind in GATE_KINDS
        )
        chain: Next = self._terminal
        for block in reversed(list(blocks.values())):
            chain = _bind(block, chain)
        self._chain = chain

    async def execute(self, request: Request) -> RequestOutcome:
        """Run one request through the blocks; never raises except CancelledError."""
        env = self._env
        if not math.isfinite(request.deadline):
            request.deadline = request.intended_start + env.default_deadline
        ctx = Context(
            request=request,
            strategy=self.name,
            home=env.home,
            regions=env.regions,
            region=env.home,
            clock=env.clock,
            bus=env.bus,
            rng=env.rng,
            retry_gates=self._gates,
        )
        result = await self._chain(ctx)
        served = result.region if result.outcome is Outcome.OK else None
        return RequestOutcome(result, ctx.attempts, tuple(ctx.regions_tried), served)

    async def _terminal(self, ctx: Context) -> AttemptResult:
        """One attempt: nothing on the wire once the deadline has passed."""
        remaining = ctx.request.deadline - self._clock.now()
        region = ctx.region
        if remaining <= 0:
            return AttemptResult(Outcome.DEADLINE_EXCEEDED, region, detail="deadline passed")
        limit = ctx.attempt_timeout
        timeout: float | None = remaining if limit is None or limit > remaining else limit
        if timeout == math.inf:
            timeout = None  # no deadline and no attempt timeout: the attempt may take forever
        ctx.count_attempt(region)
        started = self._clock.measure()
        result = await self._transport.send(ctx.request, region, timeout=timeout)
        if self._bus.wants(AttemptFinished):
            self._bus.emit(
                AttemptFinished(
                    ctx.strategy,
                    region,
                    result.outcome,
                    ctx.is_retry,
                    ctx.is_hedge,
                    self._clock.measure() - started,
                )
            )
        return result


def _check_composition(spec: StrategySpec) -> None:
    """Orders that cannot work: circuits are keyed by ctx.region, which failover and
    next-region hedging choose, so the breaker must sit inside (after) them."""
    kinds = [block.kind for block in spec.blocks]
    if "breaker" not in kinds:
        return
    for outer in ("failover", "hedge"):
        if outer in kinds and kinds.index(outer) > kinds.index("breaker"):
            raise StrategyError(
                f"strategy {spec.name!r}: put the breaker after (inside) the {outer} block, "
                "which chooses the region the breaker keys its circuits by"
            )


def build_pipeline(spec: StrategySpec, env: ClientEnv) -> Pipeline:
    """One strategy instance: fresh block objects (fresh shared state) around env.transport."""
    home, regions = env.home, env.regions
    if not regions or home not in regions:
        raise StrategyError(f"strategy {spec.name!r}: home region {home!r} not in {regions!r}")
    _check_composition(spec)
    breaker_options = next((b for b in spec.blocks if isinstance(b, BreakerBlock)), None)
    block_env = BlockEnv(spec.name, env.clock, env.bus, home, regions, spec)
    breaker = BreakerPolicy(breaker_options, block_env) if breaker_options is not None else None
    block_env = BlockEnv(spec.name, env.clock, env.bus, home, regions, spec, breaker)
    blocks: dict[str, Policy] = {}
    for options in spec.blocks:
        if options.kind == "breaker" and breaker is not None:
            blocks["breaker"] = breaker
            continue
        blocks[options.kind] = BLOCK_TYPES[options.kind](options, block_env)
    return Pipeline(spec, blocks, env)
