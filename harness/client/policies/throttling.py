"""gRPC client retry throttling (gRFC A6 `retryThrottling`), per strategy instance.

Tokens start at max_tokens. Every attempt that fails with a retryable outcome takes one token
(floor 0), every success adds token_ratio (cap max_tokens); retries *and* hedges are allowed
only while tokens > max_tokens / 2 (maxTokens 10, tokenRatio 0.1 ≈ "stop retrying above ~10 %
failures"). Kept in milli-tokens as gRPC core does (token_ratio has 3 decimal places), so the
arithmetic is exact. "Retryable" = the strategy's retry block `retry_on` (gRPC's
retryableStatusCodes), or the harness's RETRYABLE set when the strategy has no retry block.
Allowing a retry costs nothing: the throttle only watches outcomes.
"""

from __future__ import annotations

from harness.client.api import AttemptResult, Context, Next
from harness.client.policies.base import BlockEnv
from harness.events import TokensChanged
from harness.outcomes import RETRYABLE, Outcome
from harness.scenario.strategy_spec import RetryBlock, ThrottlingBlock


class RetryThrottlingPolicy:
    name = "throttling"

    def __init__(self, options: ThrottlingBlock, env: BlockEnv) -> None:
        self.options = options
        self.env = env
        self.max_milli = int(options.max_tokens * 1000)
        self.ratio_milli = int(options.token_ratio * 1000)
        self.milli_tokens = self.max_milli
        retry = next((b for b in env.spec.blocks if isinstance(b, RetryBlock)), None)
        self._failure_on = frozenset(retry.retry_on) if retry else RETRYABLE

    @property
    def tokens(self) -> float:
        return self.milli_tokens / 1000

    def allows(self) -> bool:
        return self.milli_tokens > self.max_milli // 2

    def allow_retry(self, ctx: Context, last: AttemptResult) -> bool:
        return self.allows()

    async def execute(self, ctx: Context, next: Next) -> AttemptResult:
        result = await next(ctx)
        before = self.milli_tokens
        if result.outcome is Outcome.OK:
            self.milli_tokens = min(self.max_milli, before + self.ratio_milli)
        elif result.outcome in self._failure_on:
            self.milli_tokens = max(0, before - 1000)
        if self.milli_tokens != before and self.env.bus.wants(TokensChanged):
            self.env.bus.emit(TokensChanged(self.env.strategy, self.name, self.tokens))
        return result
