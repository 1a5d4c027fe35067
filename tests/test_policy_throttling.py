"""gRPC retry throttling: token arithmetic and the max_tokens/2 threshold for retries and hedges."""

from __future__ import annotations

import pytest
from policy_fakes import FakeTransport, Recorder, block_of, make_pipeline, make_request

from harness.client.policies import RetryThrottlingPolicy
from harness.events import EventBus, HedgeLaunched, RetrySuppressed
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import HedgeBlock, RetryBlock, ThrottlingBlock

pytestmark = pytest.mark.looptime

RETRY = RetryBlock(max_attempts=20, backoff="fixed", base=0.01)


async def test_retries_stop_once_tokens_reach_half() -> None:
    transport = FakeTransport(default=Outcome.SERVER_ERROR)
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = make_pipeline(
        [RETRY, ThrottlingBlock(max_tokens=10, token_ratio=0.1)], transport, bus=bus
    )
    outcome = await pipeline.execute(make_request())
    # 10 → 9, 8, 7, 6 (all > 5: retry) → 5 (not > 5: stop)
    assert outcome.attempts == 5
    assert block_of(pipeline, RetryThrottlingPolicy).tokens == 5.0
    assert recorder.of(RetrySuppressed) == [
        RetrySuppressed("test", "throttling", Outcome.SERVER_ERROR)
    ]
    # below the threshold even the first failure is not retried
    assert (await pipeline.execute(make_request())).attempts == 1
    assert block_of(pipeline, RetryThrottlingPolicy).tokens == 4.0


async def test_successes_add_token_ratio_exactly_and_reopen_retries() -> None:
    transport = FakeTransport(script={"r1": [Outcome.SERVER_ERROR] * 5})
    pipeline = make_pipeline([RETRY, ThrottlingBlock(max_tokens=10, token_ratio=0.1)], transport)
    throttle = block_of(pipeline, RetryThrottlingPolicy)
    await pipeline.execute(make_request())  # five failures: 5.0 tokens, no OK reached
    assert throttle.tokens == 5.0 and not throttle.allows()
    await pipeline.execute(make_request())  # OK: 5.1
    assert throttle.tokens == 5.1 and throttle.allows()
    for _ in range(60):
        await pipeline.execute(make_request())
    assert throttle.tokens == 10.0  # capped at max_tokens, no float drift


async def test_only_retryable_outcomes_take_tokens() -> None:
    transport = FakeTransport(script={"r1": [Outcome.CLIENT_ERROR, Outcome.TIMEOUT]})
    retry = RetryBlock(max_attempts=1, retry_on=(Outcome.SERVER_ERROR,))
    pipeline = make_pipeline([retry, ThrottlingBlock()], transport)
    await pipeline.execute(make_request())
    await pipeline.execute(make_request())
    # neither is in the retry block's retry_on
    assert block_of(pipeline, RetryThrottlingPolicy).tokens == 10.0


async def test_hedges_need_tokens_above_half_too() -> None:
    slow = FakeTransport(default=(Outcome.OK, 1.0))
    bus = EventBus()
    recorder = Recorder(bus)
    blocks = [HedgeBlock(delay=0.1, max_extra=1), ThrottlingBlock(max_tokens=4, token_ratio=0.5)]
    pipeline = make_pipeline(blocks, slow, bus=bus)
    throttle = block_of(pipeline, RetryThrottlingPolicy)
    throttle.milli_tokens = 2000  # exactly half: no hedge
    outcome = await pipeline.execute(make_request())
    assert outcome.attempts == 1 and recorder.of(HedgeLaunched) == []
    throttle.milli_tokens = 2001
    outcome = await pipeline.execute(make_request())
    assert outcome.attempts == 2 and len(recorder.of(HedgeLaunched)) == 1
