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


async def test_waits_on_the_loop_clock_and_sheds_past_the_deadline() -> None:
    transport = FakeTransport(script={"r1": [Outcome.THROTTLED]})
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = make_pipeline([LimiterBlock(max_wait=5.0)], transport, bus=bus)
    await _enable_at_minimum_rate(pipeline)
    assert recorder.of(RateLimiterChanged) == [RateLimiterChanged("test", 0.5)]

    shed = await pipeline.execute(make_request(deadline=1.0))  # needs 2 s for a token
    assert shed.result.outcome is Outcome.SHED and shed.attempts == 0
    assert len(transport.calls) == 1

    sent = await pipeline.execute(make_request(deadline=3.0))
    assert sent.result.outcome is Outcome.OK
    assert transport.calls[-1].at == pytest.approx(2.0)


async def test_max_wait_sheds_and_waiters_queue_in_order() -> None:
    transport = FakeTransport(script={"r1": [Outcome.THROTTLED]})
    pipeline = make_pipeline([LimiterBlock(max_wait=5.0)], transport, deadline=100.0)
    await _enable_at_minimum_rate(pipeline)
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(pipeline.execute(make_request(deadline=100.0))) for _ in range(3)
        ]
    outcomes = [task.result().result.outcome for task in tasks]
    # waits of 2 s and 4 s fit in max_wait; the third would wait 6 s
    assert outcomes == [Outcome.OK, Outcome.OK, Outcome.SHED]
    assert [call.at for call in transport.calls[1:]] == pytest.approx([2.0, 4.0])


async def test_a_cancelled_waiter_gives_its_token_back() -> None:
    transport = FakeTransport(script={"r1": [Outcome.THROTTLED]})
    pipeline = make_pipeline([LimiterBlock()], transport, deadline=100.0)
    await _enable_at_minimum_rate(pipeline)
    limiter = block_of(pipeline, ClientRateLimiterPolicy)
    task = asyncio.create_task(pipeline.execute(make_request(deadline=100.0)))
    await asyncio.sleep(1.0)
    assert limiter.bucket.capacity == -1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limiter.bucket.capacity == 0
    assert len(transport.calls) == 1
