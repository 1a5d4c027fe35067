"""AWS SDK adaptive retry mode's client-side rate limiter (botocore.retries.adaptive), async.

A port of botocore's ClientRateLimiter, CubicCalculator, RateClocker and TokenBucket (1.42.80
and 1.44.8 ship the same code) with their defaults: CUBIC scale constant C = 0.4, beta = 0.7;
the measured send rate is an EWMA (smoothing 0.8) updated per 0.5 s bucket; the bucket's rate
is capped at 2 x the measured rate; minimum fill rate 0.5/s. The limiter switches on at the
first THROTTLED outcome only; every other response (DNS and connection errors included)
counts as a "success" for CUBIC, exactly as botocore treats every non-throttling response.

The bucket waits as botocore's does (bucket.py `_acquire`): a token is taken when one is there,
else when one should be at the *current* rate; a change of rate re-times the wait (botocore's
`Condition.notify`). Nothing is booked in advance and nothing is shed: a request waits until it
gets a token. Waiters queue in arrival order and one timer hands each token to the head (see
TokenBucket: O(1) per request, where botocore's per-thread polling is quadratic in waiters).
One clock for all three parts, the loop's (botocore uses time.time() for all three). Two
things botocore has no notion of: the caller's deadline (a request whose deadline passes while
it waits gives up with DEADLINE_EXCEEDED: the caller's deadline, not the limiter, stopped it)
and the opt-in `max_wait` (give up with SHED after waiting that long; off by default, as in
botocore).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from harness.client.api import AttemptResult, Context, Next
from harness.client.policies.base import NOT_ON_WIRE, BlockEnv
from harness.events import RateLimiterChanged
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import LimiterBlock

_MAX_RATE_ADJUST_SCALE = 2.0


class CubicCalculator:
    """botocore.retries.throttling.CubicCalculator."""

    def __init__(self, *, start_time: float, scale_constant: float, beta: float) -> None:
        self.w_max = 0.0
        self.scale_constant = scale_constant
        self.beta = beta
        self.k = self._zero_point()
        self.last_fail = start_time

    def _zero_point(self) -> float:
        return float((self.w_max * (1 - self.beta) / self.scale_constant) ** (1 / 3.0))

    def success_received(self, timestamp: float) -> float:
        dt = timestamp - self.last_fail
        return self.scale_constant * (dt - self.k) ** 3 + self.w_max

    def error_received(self, current_rate: float, timestamp: float) -> float:
        self.w_max = current_rate
        self.k = self._zero_point()
        self.last_fail = timestamp
        return current_rate * self.beta


class SendRateMeter:
    """botocore.retries.adaptive.RateClocker: EWMA of the send rate over fixed time buckets."""

    def __init__(self, *, now: float, smoothing: float, bucket: float) -> None:
        self.measured_rate = 0.0
        self._smoothing = smoothing
        self._scale = 1 / bucket
        self._last_bucket = float(math.floor(now))  # sic: botocore floors to whole seconds here
        self._count = 0

    def record(self, now: float) -> float:
        bucket = math.floor(now * self._scale) / self._scale
        self._count += 1
        if bucket > self._last_bucket:
            current_rate = self._count / (bucket - self._last_bucket)
            self.measured_rate = current_rate * self._smoothing + self.measured_rate * (
                1 - self._smoothing
            )
            self._count = 0
            self._last_bucket = bucket
        return self.measured_rate


class TokenBucket:
    """botocore.retries.bucket.TokenBucket on the loop clock, its waiters served in order.

    botocore blocks each waiting thread on one condition: it sleeps `_sleep_amount`, refills at
    the current rate and looks again; a rate change notifies one waiter. With an application's
    handful of threads that is cheap. An open-loop load can leave thousands of requests waiting
    on one bucket, and every waiter re-checking every token is quadratic. So the waiters queue
    in arrival order and one timer (the waker) sleeps until the head's token is due at the
    current rate — re-armed whenever the rate changes, as botocore's notify makes its waiter
    recompute — and hands that token to the head: O(1) work per token and per waiter. The
    tokens go out at the same moments botocore's would; only which waiter gets each is fixed
    (first come, first served) where botocore leaves it to the OS's thread scheduling.
    """

    _EPSILON = 1e-9  # float rounding: a refill that should give exactly one token gives 0.99…

    def __init__(self, *, max_rate: float, min_rate: float, clock: Callable[[], float]) -> None:
        self.min_rate = min_rate
        self.capacity = 0.0
        self.max_capacity = 1.0
        self.fill_rate = 1.0
        self.waited = 0  # requests that had to join the line
        self.wakeups = 0  # times the waker fired: the cost of waiting, one per token handed over
        self._clock = clock
        self._last: float | None = None
        # waiting requests in arrival order, each with the moment it gives up; a dict keeps the
        # order and removes a waiter that gives up in O(1) (result: True = a token was handed
        # over, False = its time ran out)
        self._waiters: dict[asyncio.Future[bool], float] = {}
        self._waker: asyncio.TimerHandle | None = None
        self.set_max_rate(max_rate, clock())

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def set_max_rate(self, value: float, now: float) -> None:
        self._refill(now)  # tokens earned so far accrue at the old rate
        self.fill_rate = max(value, self.min_rate)
        self.max_capacity = value if value >= 1 else 1.0
        self.capacity = min(self.capacity, self.max_capacity)
        if self._waiters:  # botocore's notify(): the head's token is due at the new rate
            self._serve(now)

    def _refill(self, now: float) -> None:
        if self._last is None:
            self._last = now
            return
        if now <= self._last:  # the waker may have booked up to its due moment (see _wake)
            return
        self.capacity = min(self.max_capacity, self.capacity + (now - self._last) * self.fill_rate)
        self._last = now

    def try_take(self, now: float) -> bool:
        """Refill, then take one token if there is one and nobody waits (botocore's
        non-blocking path; a waiter ahead gets the next token first)."""
        self._refill(now)
        if not self._waiters and self.capacity + self._EPSILON >= 1:
            self.capacity -= 1
            return True
        return False

    def sleep_amount(self) -> float:
        """Seconds until one token, at the current rate (botocore `_sleep_amount(1)`)."""
        return (1 - self.capacity) / self.fill_rate

    async def acquire(self, until: float) -> bool:
        """Take a token (True), waiting in line if need be, or give up when the loop clock
        reaches `until` (False). A cancelled waiter leaves the line and returns any token it
        was handed."""
        now = self._clock()
        if self.try_take(now):
            return True
        if now >= until:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters[waiter] = until
        self.waited += 1
        give_up = None if math.isinf(until) else loop.call_at(until, self._give_up, waiter)
        if len(self._waiters) == 1:
            self._serve(self._clock())
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                # handed a token it will not use: give it back, the next in line gets it
                self.capacity = min(self.max_capacity, self.capacity + 1)
                if self._waiters:
                    self._serve(self._clock())
            self._leave(waiter)
            raise
        finally:
            if give_up is not None:
                give_up.cancel()

    def _give_up(self, waiter: asyncio.Future[bool]) -> None:
        if not waiter.done():
            waiter.set_result(False)
        self._leave(waiter)

    def _leave(self, waiter: asyncio.Future[bool]) -> None:
        self._waiters.pop(waiter, None)
        if not self._waiters and self._waker is not None:
            self._waker.cancel()
            self._waker = None

    def _serve(self, now: float) -> None:
        """Hand tokens to the line's head while there are any, then arm the waker for the
        next one at the current rate. A head whose time runs out this very moment gives up
        rather than take a token it could no longer use."""
        if self._waker is not None:
            self._waker.cancel()
            self._waker = None
        self._refill(now)
        while self._waiters and self.capacity + self._EPSILON >= 1:
            head, until = next(iter(self._waiters.items()))
            del self._waiters[head]
            if until <= now:
                head.set_result(False)
                continue
            self.capacity -= 1
            head.set_result(True)
        if self._waiters:
            due = now + self.sleep_amount()
            self._waker = asyncio.get_running_loop().call_at(due, self._wake, due)

    def _wake(self, due: float) -> None:
        """The head's token is due: botocore's arithmetic says so, and any change of rate since
        would have re-armed the waker. So the token goes out now, whatever the float rounding
        of the refill or a coarse loop clock says (uvloop's is 1 ms; a deficit shorter than the
        loop's clock resolution leaves the clock where it is: looking again would spin at
        one instant, as the earlier per-waiter polling did in the headline)."""
        self.wakeups += 1
        self._waker = None
        now = max(self._clock(), due)
        self._refill(now)
        self.capacity = max(self.capacity, 1.0)
        self._serve(now)


class ClientRateLimiterPolicy:
    def __init__(self, options: LimiterBlock, env: BlockEnv) -> None:
        self.options = options
        self.env = env
        now = env.clock.now()
        self.enabled = False
        self.cubic = CubicCalculator(
            start_time=now, scale_constant=options.scale_constant, beta=options.beta
        )
        self.meter = SendRateMeter(now=now, smoothing=options.smoothing, bucket=options.bucket)
        self.bucket = TokenBucket(max_rate=1.0, min_rate=options.min_fill_rate, clock=env.clock.now)

    @property
    def rate(self) -> float:
        """Requests per second let through: inf until the first throttling outcome."""
        return self.bucket.fill_rate if self.enabled else math.inf

    async def execute(self, ctx: Context, next: Next) -> AttemptResult:
        if self.enabled:
            refused = await self._acquire(ctx)
            if refused is not None:
                return refused
        result = await next(ctx)
        if result.outcome not in NOT_ON_WIRE:
            self._on_response(result.outcome)
        return result

    async def _acquire(self, ctx: Context) -> AttemptResult | None:
        """botocore's `on_sending_request`: block until a token; None once one is taken."""
        clock = ctx.clock
        start = clock.now()
        if self.bucket.try_take(start):
            return None
        deadline = ctx.request.deadline
        max_wait = self.options.max_wait
        until = deadline if max_wait is None else min(deadline, start + max_wait)
        if await self.bucket.acquire(until):
            return None
        if until == deadline:  # whichever ran out first decides the label, not a clock reading
            return AttemptResult(
                Outcome.DEADLINE_EXCEEDED, ctx.region, detail="deadline passed waiting for a token"
            )
        return AttemptResult(Outcome.SHED, ctx.region, detail="client rate limiter: max_wait")

    def _on_response(self, outcome: Outcome) -> None:
        now = self.env.clock.now()
        measured = self.meter.record(now)
        before = self.rate
        if outcome is not Outcome.THROTTLED:
            new_rate = self.cubic.success_received(now)
        else:
            rate_to_use = measured if not self.enabled else min(measured, self.bucket.fill_rate)
            new_rate = self.cubic.error_received(rate_to_use, now)
            self.enabled = True
        self.bucket.set_max_rate(min(new_rate, _MAX_RATE_ADJUST_SCALE * measured), now)
        bus = self.env.bus
        if self.rate != before and bus.wants(RateLimiterChanged):
            bus.emit(RateLimiterChanged(self.env.strategy, self.rate))
