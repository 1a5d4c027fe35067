"""The adaptive limiter against botocore's own ClientRateLimiter (RateClocker, CubicCalculator,
TokenBucket, installed 1.44.8; 1.42.80 ships the same code), same inputs: one sender offering
20 requests/s for 45 s, every response throttled with probability 0.5 between 15 s and 30 s
(the same draws on both sides). botocore's bucket blocks its thread on a condition until a token
is there; here its clock is fake and a blocked acquire advances it by exactly the `_sleep_amount`
botocore would wait. Ours runs under the virtual clock. Compared: when each request was sent
and the limiter's rate after each response. Figures: docs/fidelity.md.
"""

from __future__ import annotations

import asyncio
import math
import random
from typing import Any

import pytest
from botocore.exceptions import CapacityNotAvailableError  # type: ignore[import-untyped]
from botocore.retries import adaptive, bucket, throttling  # type: ignore[import-untyped]
from fidelity_support import record_figures
from policy_fakes import FakeTransport, block_of, make_pipeline, make_request

from harness.client.policies import ClientRateLimiterPolicy
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import LimiterBlock

RATE, SECONDS = 20.0, 45.0
THROTTLED_FROM, THROTTLED_UNTIL, P_THROTTLE = 15.0, 30.0, 0.5
_RNG = random.Random(2015)
DRAWS = [_RNG.random() for _ in range(int(RATE * SECONDS))]


def throttled(index: int, at: float) -> bool:
    return THROTTLED_FROM <= at < THROTTLED_UNTIL and DRAWS[index] < P_THROTTLE


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def current_time(self) -> float:
        return self.now

    def sleep(self, amount: float) -> None:  # pragma: no cover - never called
        raise AssertionError


class _Detector:
    def is_throttling_error(self, **kwargs: Any) -> bool:
        return bool(kwargs["throttled"])


def botocore_trajectory() -> list[tuple[float, float]]:
    """(send time, rate after the response) per request, through botocore's own objects."""
    clock = _Clock()
    token_bucket = bucket.TokenBucket(max_rate=1, clock=clock)
    limiter = adaptive.ClientRateLimiter(
        rate_adjustor=throttling.CubicCalculator(starting_max_rate=0, start_time=0.0),
        rate_clocker=adaptive.RateClocker(clock),
        token_bucket=token_bucket,
        throttling_detector=_Detector(),
        clock=clock,
    )
    out = []
    for index in range(len(DRAWS)):
        clock.now = max(clock.now, index / RATE)
        while limiter._enabled:
            try:
                token_bucket.acquire(block=False)
                break
            except CapacityNotAvailableError:
                # botocore's _acquire: Condition.wait(sleep_amount), then refill and look again;
                # a real clock always moves on, so a float-rounding remainder costs a microsecond
                clock.now += max(token_bucket._sleep_amount(1), 1e-6)
        limiter.on_receiving_response(throttled=throttled(index, clock.now))
        out.append((clock.now, token_bucket.max_rate if limiter._enabled else math.inf))
    return out


@pytest.mark.looptime
async def test_rate_trajectory_matches_botocore() -> None:
    loop = asyncio.get_running_loop()
    origin = loop.time()
    sent: list[float] = []

    def behaviour(region: str, now: float) -> Outcome:
        index = len(sent)
        sent.append(now - origin)
        return Outcome.THROTTLED if throttled(index, now - origin) else Outcome.OK

    pipeline = make_pipeline([LimiterBlock()], FakeTransport(behaviour=behaviour, latency=0.0))
    limiter = block_of(pipeline, ClientRateLimiterPolicy)
    ours: list[tuple[float, float]] = []
    for index in range(len(DRAWS)):
        delay = origin + index / RATE - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        done = await pipeline.execute(make_request(deadline=math.inf))
        assert done.result.outcome is not Outcome.SHED  # nothing is shed: it waits its turn
        ours.append((sent[-1], limiter.rate))
    theirs = botocore_trajectory()
    marks = [300, 330, 360, 400, 500, 700, 899]
    record_figures(
        "1.44.8 adaptive limiter: 20/s, 50 % throttled 15-30 s (send time s, rate /s)",
        botocore=[(round(theirs[i][0], 2), round(theirs[i][1], 2)) for i in marks],
        harness=[(round(ours[i][0], 2), round(ours[i][1], 2)) for i in marks],
    )
    assert [t for t, _ in ours] == pytest.approx([t for t, _ in theirs], abs=2e-3)
    assert [r for _, r in ours] == pytest.approx([r for _, r in theirs], rel=1e-3)
    # the shape: off until the first throttle, cut towards the 0.5/s floor while throttled,
    # CUBIC growth past the old rate afterwards, settling at 2x the measured 20/s
    assert all(r == math.inf for t, r in theirs if t < THROTTLED_FROM)
    assert min(r for t, r in theirs if THROTTLED_FROM <= t < THROTTLED_UNTIL) < 1.0
    assert max(r for t, r in theirs if t >= THROTTLED_UNTIL) > 2 * RATE
    assert theirs[-1][1] == pytest.approx(2 * RATE, rel=0.01)
    assert theirs[-1][0] < SECONDS  # every request sent by the end: queued, never shed
