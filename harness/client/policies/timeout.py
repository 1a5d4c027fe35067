"""Per-attempt timeout, and optionally the request's overall deadline.

Real defaults for comparison: botocore connect and read timeouts are 60 s each; aiohttp's
ClientTimeout total is 300 s; gRPC has no default deadline. The Builders' Library advice is to
pick the attempt timeout at an acceptable false-timeout percentile of downstream latency
(e.g. p99.9), which is what the catalog does for the scenario's millisecond latencies.
"""

from __future__ import annotations

import math

from harness.client.api import AttemptResult, Context, Next
from harness.client.policies.base import BlockEnv
from harness.scenario.strategy_spec import StrategySpec, TimeoutBlock


def caller_deadline(spec: StrategySpec, scenario_deadline: float | None) -> float | None:
    """The caller's deadline in force for a strategy, in seconds (None: no deadline): its
    timeout block's `deadline` when set, else the scenario's `clients.deadline`."""
    for block in spec.blocks:
        if isinstance(block, TimeoutBlock) and block.deadline is not None:
            return None if isinstance(block.deadline, str) else block.deadline
    return scenario_deadline


class TimeoutPolicy:
    """Sets `ctx.attempt_timeout` (read by the terminal for every attempt below this block).

    `deadline`, when set, replaces the request's deadline with `intended_start + deadline`
    (longer or shorter than the scenario's `clients.deadline`; `none`: no deadline at all):
    the strategy owns its budget.
    """

    def __init__(self, options: TimeoutBlock, env: BlockEnv) -> None:
        self.options = options
        self._attempt = options.attempt
        deadline = options.deadline
        self._deadline: float | None = math.inf if isinstance(deadline, str) else deadline

    async def execute(self, ctx: Context, next: Next) -> AttemptResult:
        if self._attempt is not None:
            ctx.attempt_timeout = self._attempt
        if self._deadline is not None:
            ctx.request.deadline = ctx.request.intended_start + self._deadline
        return await next(ctx)
