"""Retries driven by tenacity, on the loop clock, within the request's deadline.

The first attempt runs outside tenacity: entering an `AsyncRetrying` costs ~50-190 µs
(reference/libraries.md), so the machinery is built only once an attempt has failed with a
retryable outcome. Inside, the first tenacity "attempt" replays the already known result, so
tenacity's attempt numbers are the real ones and the wait functions see n = attempts made.

Stops, checked in this order before every retry (tenacity computes the next sleep before it
asks the stop condition, so the deadline check sees the exact delay):
  1. max_attempts reached;
  2. max_elapsed of loop time since the first attempt started (tenacity's `stop_after_delay`
     reads time.monotonic and never fires under a virtual clock);
  3. the next sleep would end at or after the request deadline;
  4. a retry gate (quota, budget, throttling in ctx.retry_gates) refuses; the gates that come
     before it in the strategy have already paid.
Every stop of a wanted retry emits RetrySuppressed (gate = "max_attempts", "max_elapsed",
"deadline" or the gate's name). A refused retry returns the last real failure, not
BUDGET_EXHAUSTED: the caller learns why the request failed, the event says why it was not
retried (botocore likewise re-raises the last error when its quota is empty).

Real defaults: botocore legacy 5 attempts / standard 3; DynamoDB legacy 10; gRPC A6
maxAttempts clamped to 5; Envoy num_retries 1; Polly v8 3 retries, constant 2 s.
"""

from __future__ import annotations

import asyncio

from tenacity import AsyncRetrying, RetryCallState, retry_if_result
from tenacity.stop import stop_base

from harness.client.api import AttemptResult, Context, Next
from harness.client.policies.backoff import make_wait
from harness.client.policies.base import BlockEnv
from harness.events import RetryScheduled, RetrySuppressed
from harness.scenario.strategy_spec import RetryBlock


class _Stop(stop_base):
    """One stop condition for a request's retries; emits RetrySuppressed when it stops."""

    def __init__(self, policy: RetryPolicy, ctx: Context, started: float) -> None:
        self._policy = policy
        self._ctx = ctx
        self._started = started

    def __call__(self, retry_state: RetryCallState) -> bool:
        reason = self._reason(retry_state)
        if reason is None:
            return False
        outcome = retry_state.outcome
        assert outcome is not None  # tenacity asks only after an attempt
        last: AttemptResult = outcome.result()
        self._policy.env.bus.emit(RetrySuppressed(self._ctx.strategy, reason, last.outcome))
        return True

    def _reason(self, retry_state: RetryCallState) -> str | None:
        options = self._policy.options
        ctx = self._ctx
        if retry_state.attempt_number >= options.max_attempts:
            return "max_attempts"
        now = ctx.clock.now()
        if options.max_elapsed is not None and now - self._started >= options.max_elapsed:
            return "max_elapsed"
        if now + retry_state.upcoming_sleep >= ctx.request.deadline:
            return "deadline"
        outcome = retry_state.outcome
        assert outcome is not None
        last: AttemptResult = outcome.result()
        for gate in ctx.retry_gates:
            if not gate.allow_retry(ctx, last):
                return gate.name
        return None


class RetryPolicy:
    """Retries outcomes in `retry_on` with the configured backoff (see module docstring)."""

    def __init__(self, options: RetryBlock, env: BlockEnv) -> None:
        self.options = options
        self.env = env
        self._retry_on = frozenset(options.retry_on)

    def wants_retry(self, result: AttemptResult) -> bool:
        return result.outcome in self._retry_on

    async def execute(self, ctx: Context, next: Next) -> AttemptResult:
        started = ctx.clock.now()
        first = await next(ctx)
        if first.outcome not in self._retry_on:
            return first  # the cheap path: no tenacity object at all
        return await self._retry(ctx, next, first, started)

    async def _retry(
        self, ctx: Context, next: Next, first: AttemptResult, started: float
    ) -> AttemptResult:
        pending: list[AttemptResult] = [first]

        async def attempt() -> AttemptResult:
            if pending:
                return pending.pop()  # replay the first attempt's result
            ctx.is_retry = True
            return await next(ctx)

        def before_sleep(retry_state: RetryCallState) -> None:
            outcome = retry_state.outcome
            assert outcome is not None
            last: AttemptResult = outcome.result()
            self.env.bus.emit(
                RetryScheduled(
                    ctx.strategy,
                    last.outcome,
                    retry_state.attempt_number + 1,
                    retry_state.upcoming_sleep,
                )
            )

        def give_up(retry_state: RetryCallState) -> AttemptResult:
            outcome = retry_state.outcome
            assert outcome is not None
            result: AttemptResult = outcome.result()
            return result

        retrying = AsyncRetrying(
            sleep=asyncio.sleep,
            stop=_Stop(self, ctx, started),
            wait=make_wait(self.options, ctx.rng),
            retry=retry_if_result(self.wants_retry),
            before_sleep=before_sleep,
            retry_error_callback=give_up,
        )
        result: AttemptResult = await retrying(attempt)
        return result
