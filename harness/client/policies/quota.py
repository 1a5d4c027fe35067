"""AWS SDK standard-mode retry quota (botocore `RetryQuota` + `RetryQuotaChecker`).

The bucket starts full at 500 (both versions). What a retry costs depends on the version
(read from botocore's retries/standard.py):
- botocore 1.42.80 (as shipped until 2025): 5, or 10 after a timeout (ReadTimeoutError /
  ConnectTimeoutError; a DNS failure is an EndpointConnectionError and costs 5);
- botocore 1.44.8 (installed, 2026): 14, or 5 after a throttling error; a timeout costs 14.
A request that succeeds without a retry refunds `no_retry_increment` (1); one that succeeds
after retries refunds the cost of its *last* acquisition (botocore overwrites
`retry_quota_capacity` at every acquisition and releases that amount). Refunds never exceed
the initial capacity; failures refund nothing. When the bucket cannot pay, no retry.

Sits in the pipeline inside the retry block, so it sees every attempt's result; per-request
state (what this request paid last) lives in ctx.extras.
"""

from __future__ import annotations

from harness.client.api import AttemptResult, Context, Next
from harness.client.policies.base import BlockEnv
from harness.events import TokensChanged
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import QuotaBlock

_PAID = "quota.paid"  # cost of this request's last acquisition
_REFUNDED = "quota.refunded"


class RetryQuotaPolicy:
    name = "quota"

    def __init__(self, options: QuotaBlock, env: BlockEnv) -> None:
        self.options = options
        self.env = env
        self.capacity = options.initial
        self.tokens = options.initial

    def allow_retry(self, ctx: Context, last: AttemptResult) -> bool:
        cost = self.cost(last.outcome)
        if cost > self.tokens:
            return False
        self.tokens -= cost
        ctx.extras[_PAID] = cost
        self._changed()
        return True

    def cost(self, outcome: Outcome) -> int:
        """What a retry after `outcome` costs (throttling is checked first, as botocore does)."""
        options = self.options
        if outcome is Outcome.THROTTLED and options.throttling_cost is not None:
            return options.throttling_cost
        if outcome is Outcome.TIMEOUT:
            return options.timeout_cost
        return options.retry_cost

    async def execute(self, ctx: Context, next: Next) -> AttemptResult:
        result = await next(ctx)
        if result.outcome is Outcome.OK and _REFUNDED not in ctx.extras:
            ctx.extras[_REFUNDED] = True  # once per request, even when hedges both succeed
            self._release(ctx.extras.get(_PAID, self.options.no_retry_increment))
        return result

    def _release(self, amount: int) -> None:
        if self.tokens == self.capacity:
            return  # botocore's fast path: nothing to give back
        self.tokens += min(self.capacity - self.tokens, amount)
        self._changed()

    def _changed(self) -> None:
        bus = self.env.bus
        if bus.wants(TokensChanged):
            bus.emit(TokensChanged(self.env.strategy, self.name, float(self.tokens)))
