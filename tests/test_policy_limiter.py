"""Adaptive client rate limiter: replayed against botocore's own ClientRateLimiter."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from botocore.retries import adaptive, bucket, throttling  # type: ignore[import-untyped]
from policy_fakes import FakeTransport, Recorder, block_of, make_pipeline, make_request

from harness.client.policies import ClientRateLimiterPolicy
from harness.events import EventBus, RateLimiterChanged
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import LimiterBlock

pytestmark = pytest.mark.looptime


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def current_time(self) -> float:
        return self.now

    def sleep(self, amount: float) -> None:
        raise AssertionError("the replay never blocks")


class _Detector:
    def is_throttling_error(self, **kwargs: Any) -> bool:
        return bool(kwargs["throttled"])


async def test_connection_and_dns_errors_never_enable_it() -> None:
    outcomes = [Outcome.DNS_NXDOMAIN, Outcome.CONNECT_ERROR, Outcome.TIMEOUT, Outcome.SERVER_ERROR]
    transport = FakeTransport(script={"r1": outcomes * 5}, latency=0.01)
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = make_pipeline([LimiterBlock()], transport, bus=bus)
    for _ in range(20):
        await pipeline.execute(make_request())
    limiter = block_of(pipeline, ClientRateLimiterPolicy)
    assert not limiter.enabled and limiter.rate == math.inf
    assert recorder.of(RateLimiterChanged) == []


async def test_rates_match_botocore_step_by_step() -> None:
    pattern = [Outcome.OK] * 12 + [Outcome.THROTTLED] + [Outcome.OK] * 8 + [Outcome.THROTTLED]
    outcomes = pattern + [Outcome.OK] * 15
    transport = FakeTransport(script={"r1": list(outcomes)}, latency=0.07)
    pipeline = make_pipeline([LimiterBlock()], transport, deadline=1000.0)
    limiter = block_of(pipeline, ClientRateLimiterPolicy)
    ours: list[tuple[bool, float]] = []
    for _ in outcomes:
        result = await pipeline.execute(make_request(deadline=1000.0))
        assert result.result.outcome is not Outcome.SHED
        ours.append((limiter.enabled, limiter.bucket.fill_rate))

    clock = _Clock()
    token_bucket = bucket.TokenBucket(max_rate=1, clock=clock)
    reference = adaptive.ClientRateLimiter(
        rate_adjustor=throttling.CubicCalculator(starting_max_rate=0, start_time=0.0),
        rate_clocker=adaptive.RateClocker(clock),
        token_bucket=token_bucket,
        throttling_detector=_Detector(),
        clock=clock,
    )
    theirs: list[tuple[bool, float]] = []
    for at, outcome in zip(transport.ends, outcomes, strict=True):
        clock.now = at
        reference.on_receiving_response(throttled=outcome is Outcome.THROTTLED)
        theirs.append((reference._enabled, token_bucket.max_rate))
    assert [enabled for enabled, _ in ours] == [enabled for enabled, _ in theirs]
    assert [rate for _, rate in ours] == pytest.approx([rate for _, rate in theirs], rel=1e-12)
    assert [enabled for enabled, _ in ours].index(True) == 12  # the first throttle


async def test_first_throttle_cuts_to_beta_times_measured_rate() -> None:
    transport = FakeTransport(script={"r1": [Outcome.OK] * 40 + [Outcome.THROTTLED]}, latency=0.05)
    pipeline = make_pipeline([LimiterBlock()], transport)
    limiter = block_of(pipeline, ClientRateLimiterPolicy)
    for _ in range(41):
        await pipeline.execute(make_request())
    measured = limiter.meter.measured_rate
    assert measured > 10
    assert limiter.enabled
    assert limiter.bucket.fill_rate == pytest.approx(0.7 * measured)


async def _enable_at_minimum_rate(pipeline: object) -> None:
    await pipeline.execute(make_request())  # type: ignore[attr-defined]
    limiter = block_of(pipeline, ClientRateLimiterPolicy)
    assert limiter.enabled and limiter.rate == 0.5  # measured rate 0 → the 0.5/s floor


async def test_waits_for_a_token_and_gives_up_at_the_callers_deadline() -> None:
    transport = FakeTransport(script={"r1": [Outcome.THROTTLED]})
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = make_pipeline([LimiterBlock()], transport, bus=bus)
    await _enable_at_minimum_rate(pipeline)
    assert recorder.of(RateLimiterChanged) == [RateLimiterChanged("test", 0.5)]

    loop = asyncio.get_running_loop()
    gave_up = await pipeline.execute(make_request(deadline=1.0))  # needs 2 s for a token
    # botocore would block for its token; the caller's deadline, not the limiter, stops it
    assert gave_up.result.outcome is Outcome.DEADLINE_EXCEEDED and gave_up.attempts == 0
    assert loop.time() == pytest.approx(1.0)
    assert len(transport.calls) == 1

    sent = await pipeline.execute(make_request(deadline=3.0))
    assert sent.result.outcome is Outcome.OK
    assert transport.calls[-1].at == pytest.approx(2.0)  # the half token earned by 1 s counts


async def test_waiters_take_tokens_one_by_one_and_max_wait_sheds() -> None:
    transport = FakeTransport(script={"r1": [Outcome.THROTTLED] * 10})  # the rate stays at 0.5/s
    pipeline = make_pipeline([LimiterBlock(max_wait=5.0)], transport, deadline=100.0)
    await _enable_at_minimum_rate(pipeline)
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(pipeline.execute(make_request(deadline=100.0))) for _ in range(3)
        ]
    outcomes = sorted(task.result().result.outcome for task in tasks)
    # one token every 2 s: the third waiter would get its token at 6 s, past max_wait
    assert outcomes == sorted([Outcome.THROTTLED, Outcome.THROTTLED, Outcome.SHED])
    assert [call.at for call in transport.calls[1:]] == pytest.approx([2.0, 4.0])


async def test_without_max_wait_nothing_is_shed() -> None:
    transport = FakeTransport(script={"r1": [Outcome.THROTTLED] * 10})  # the rate stays at 0.5/s
    pipeline = make_pipeline([LimiterBlock()], transport, deadline=100.0)
    await _enable_at_minimum_rate(pipeline)
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(pipeline.execute(make_request(deadline=100.0))) for _ in range(5)
        ]
    assert all(task.result().result.outcome is Outcome.THROTTLED for task in tasks)
    assert [call.at for call in transport.calls[1:]] == pytest.approx([2.0, 4.0, 6.0, 8.0, 10.0])


async def test_a_faster_rate_wakes_a_waiter_early() -> None:
    """botocore's setter notifies the condition: the waiter recomputes at the new rate."""
    transport = FakeTransport(script={"r1": [Outcome.THROTTLED]})
    pipeline = make_pipeline([LimiterBlock()], transport, deadline=100.0)
    await _enable_at_minimum_rate(pipeline)
    limiter = block_of(pipeline, ClientRateLimiterPolicy)
    task = asyncio.create_task(pipeline.execute(make_request(deadline=100.0)))
    await asyncio.sleep(0.5)  # 0.25 token earned at 0.5/s; 1.5 s still to wait
    limiter.bucket.set_max_rate(3.0, asyncio.get_running_loop().time())
    result = await task
    assert result.result.outcome is Outcome.OK
    assert transport.calls[-1].at == pytest.approx(0.75)  # 0.75 token more at 3/s: 0.25 s


async def test_a_cancelled_waiter_leaves_no_trace() -> None:
    transport = FakeTransport(script={"r1": [Outcome.THROTTLED]})
    pipeline = make_pipeline([LimiterBlock()], transport, deadline=100.0)
    await _enable_at_minimum_rate(pipeline)
    limiter = block_of(pipeline, ClientRateLimiterPolicy)
    task = asyncio.create_task(pipeline.execute(make_request(deadline=100.0)))
    await asyncio.sleep(1.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(transport.calls) == 1
    sent = await pipeline.execute(make_request(deadline=100.0))  # nothing was booked for it
    assert sent.result.outcome is Outcome.OK
    assert transport.calls[-1].at == pytest.approx(2.0)
    assert limiter.bucket.capacity == pytest.approx(0.0, abs=1e-9)
