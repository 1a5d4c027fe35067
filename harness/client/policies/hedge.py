"""Hedged requests (gRFC A6 hedgingPolicy, Polly v8 hedging, "The Tail at Scale").

The primary attempt starts at once; after `delay` without an answer, another attempt is sent
(to the same region, or to the next region in the strategy's order for "next-region"), up to
`max_extra` more, each `delay` after the previous (delay 0: all at once, as gRPC). An attempt
that fails with a non-fatal outcome launches the next hedge immediately (gRPC and Polly do
the same). The first OK wins and the attempts still in flight are cancelled (and awaited,
inside a TaskGroup); a fatal outcome (client_error, deadline_exceeded) is returned at once.
When every attempt failed, the most informative failure is returned.

Every hedge must be allowed by every retry gate in ctx.retry_gates (gRPC: retry throttling
stops hedges too). For a hedge sent because the primary is late, the gates are shown a
TIMEOUT result (the AWS quota would charge its timeout cost). Hedges a gate refuses are not
reported as RetrySuppressed. Defaults for comparison: Polly v8 1 extra attempt after 2 s;
gRPC has no default hedging policy.
"""

from __future__ import annotations

import asyncio

from harness.client.api import AttemptResult, Context, Next
from harness.client.policies.base import BlockEnv, most_informative
from harness.events import HedgeLaunched
from harness.outcomes import RETRYABLE, Outcome
from harness.scenario.strategy_spec import HedgeBlock

_NON_FATAL = RETRYABLE | {Outcome.CIRCUIT_OPEN, Outcome.SHED, Outcome.BUDGET_EXHAUSTED}


async def _attempt(next: Next, ctx: Context) -> AttemptResult:
    return await next(ctx)  # a coroutine for TaskGroup.create_task


class HedgePolicy:
    def __init__(self, options: HedgeBlock, env: BlockEnv) -> None:
        self.options = options
        self.env = env

    def _gates_allow(self, ctx: Context, last: AttemptResult) -> bool:
        return all(gate.allow_retry(ctx, last) for gate in ctx.retry_gates)

    async def execute(self, ctx: Context, next: Next) -> AttemptResult:
        clock = ctx.clock
        region = ctx.region  # inner blocks may move the primary; hedges aim from here
        failures: list[AttemptResult] = []
        winner: AttemptResult | None = None
        launched = 0
        async with asyncio.TaskGroup() as group:
            pending = {group.create_task(_attempt(next, ctx))}
            next_launch = clock.now() + self.options.delay
            while pending:
                can_hedge = launched < self.options.max_extra
                timeout = max(0.0, next_launch - clock.now()) if can_hedge else None
                done, pending = await asyncio.wait(
                    pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                last: AttemptResult | None = None
                for task in done:
                    result = task.result()
                    if result.outcome is Outcome.OK or result.outcome not in _NON_FATAL:
                        winner = result
                        break
                    failures.append(result)
                    last = result
                if winner is not None:
                    for task in pending:
                        task.cancel()
                    break
                # Here either the delay ran out (asyncio may wake a timer up to its clock
                # resolution early, so no `now >= next_launch` test) or an attempt failed.
                if not can_hedge:
                    continue
                if last is None:
                    last = AttemptResult(Outcome.TIMEOUT, region, detail="hedge delay")
                if ctx.remaining() <= 0 or not self._gates_allow(ctx, last):
                    launched = self.options.max_extra  # no more hedges for this request
                    continue
                launched += 1
                target = self._target_from(region, ctx, launched)
                pending.add(group.create_task(_attempt(next, ctx.fork(region=target))))
                next_launch = clock.now() + self.options.delay
                self.env.bus.emit(HedgeLaunched(ctx.strategy, target))
        return winner if winner is not None else most_informative(failures)

    def _target_from(self, region: str, ctx: Context, hedge_number: int) -> str:
        if self.options.target == "same" or region not in ctx.regions:
            return region
        regions = ctx.regions
        return regions[(regions.index(region) + hedge_number) % len(regions)]
