"""AWS standard-mode retry quota: arithmetic checked against botocore's own RetryQuota."""

from __future__ import annotations

import pytest
from botocore.retries.quota import RetryQuota  # type: ignore[import-untyped]
from policy_fakes import FakeTransport, Recorder, block_of, make_pipeline, make_request

from harness.client.policies import RetryQuotaPolicy
from harness.events import EventBus, RetrySuppressed, TokensChanged
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import QuotaBlock, RetryBlock

pytestmark = pytest.mark.looptime

# Each request: the outcomes of its attempts, in order (3 attempts at most).
REQUESTS: list[list[Outcome]] = [
    [Outcome.OK],  # full bucket: nothing to refund
    [Outcome.SERVER_ERROR, Outcome.SERVER_ERROR, Outcome.SERVER_ERROR],  # -5 -5
    [Outcome.OK],  # +1
    [Outcome.TIMEOUT, Outcome.SERVER_ERROR, Outcome.OK],  # -10 -5, refund the last: +5
    [Outcome.TIMEOUT, Outcome.OK],  # -10 +10
    [Outcome.DNS_NXDOMAIN, Outcome.CONNECT_ERROR, Outcome.TIMEOUT],  # -5 -5 (DNS is not a timeout)
    [Outcome.CLIENT_ERROR],  # not retryable, no refund
    [Outcome.OK],  # +1
]


def _cost_2025(outcome: Outcome) -> int:
    return 10 if outcome is Outcome.TIMEOUT else 5  # botocore 1.42.80


def _cost_2026(outcome: Outcome) -> int:
    return 5 if outcome is Outcome.THROTTLED else 14  # botocore 1.44.8


def _botocore_replay(requests: list[list[Outcome]], cost: object = _cost_2025) -> list[int]:
    """The same requests through botocore's RetryQuota with standard-mode costs."""
    quota = RetryQuota()
    levels = []
    for attempts in requests:
        acquired: int | None = None
        for index, outcome in enumerate(attempts):
            if outcome is Outcome.OK:
                quota.release(acquired if acquired is not None else 1)
                break
            retryable = outcome is not Outcome.CLIENT_ERROR
            if not retryable or index == len(attempts) - 1 or index == 2:
                break
            amount = cost(outcome)  # type: ignore[operator]
            assert quota.acquire(amount)
            acquired = amount
        levels.append(quota.available_capacity)
    return levels


async def test_costs_and_refunds_match_botocore() -> None:
    script = {"r1": [outcome for attempts in REQUESTS for outcome in attempts]}
    transport = FakeTransport(script=script)
    blocks = [RetryBlock(max_attempts=3, backoff="fixed", base=0.01), QuotaBlock()]
    pipeline = make_pipeline(blocks, transport)
    quota = block_of(pipeline, RetryQuotaPolicy)
    levels = []
    for attempts in REQUESTS:
        outcome = await pipeline.execute(make_request())
        assert outcome.attempts == len(attempts)
        levels.append(quota.tokens)
    assert levels == _botocore_replay(REQUESTS)
    assert levels == [500, 490, 491, 481, 481, 471, 471, 472]


async def test_an_empty_bucket_means_no_retry() -> None:
    transport = FakeTransport(default=Outcome.SERVER_ERROR)
    bus = EventBus()
    recorder = Recorder(bus)
    blocks = [RetryBlock(max_attempts=3, backoff="fixed", base=0.01), QuotaBlock(initial=12)]
    pipeline = make_pipeline(blocks, transport, bus=bus)
    first = await pipeline.execute(make_request())  # pays 5 + 5 → 2 left
    second = await pipeline.execute(make_request())  # cannot pay 5
    assert (first.attempts, second.attempts) == (3, 1)
    assert [event.tokens for event in recorder.of(TokensChanged)] == [7.0, 2.0]
    assert recorder.of(RetrySuppressed)[-1] == RetrySuppressed(
        "test", "quota", Outcome.SERVER_ERROR
    )


async def test_refund_once_per_request_and_never_above_capacity() -> None:
    transport = FakeTransport(script={"r1": [Outcome.SERVER_ERROR]})
    blocks = [RetryBlock(max_attempts=3, backoff="fixed", base=0.01), QuotaBlock(initial=10)]
    pipeline = make_pipeline(blocks, transport)
    quota = block_of(pipeline, RetryQuotaPolicy)
    await pipeline.execute(make_request())  # -5 then refund 5
    assert quota.tokens == 10
    for _ in range(3):
        await pipeline.execute(make_request())
    assert quota.tokens == 10


async def test_2026_costs_match_botocore_1_44() -> None:
    requests = [
        *REQUESTS,
        [Outcome.THROTTLED, Outcome.THROTTLED, Outcome.OK],  # -5 -5, refund 5
        [Outcome.THROTTLED, Outcome.SERVER_ERROR, Outcome.OK],  # -5 -14, refund 14
        [Outcome.TIMEOUT, Outcome.THROTTLED, Outcome.SERVER_ERROR],  # -14 -5
    ]
    script = {"r1": [outcome for attempts in requests for outcome in attempts]}
    transport = FakeTransport(script=script)
    quota_block = QuotaBlock(retry_cost=14, timeout_cost=14, throttling_cost=5)
    blocks = [RetryBlock(max_attempts=3, backoff="fixed", base=0.01), quota_block]
    pipeline = make_pipeline(blocks, transport)
    quota = block_of(pipeline, RetryQuotaPolicy)
    levels = []
    for attempts in requests:
        outcome = await pipeline.execute(make_request())
        assert outcome.attempts == len(attempts)
        levels.append(quota.tokens)
    assert levels == _botocore_replay(requests, _cost_2026)
