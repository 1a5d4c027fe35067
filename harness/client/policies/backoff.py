"""Backoff delays as tenacity wait strategies, random ones drawn from an injected seeded rng.

delay(n) for the n-th retry (tenacity's `attempt_number` = attempts made so far = n), with
`ceiling(n) = min(cap, base * multiplier**(n-1))` (Brooker, "Exponential Backoff And Jitter",
AWS Architecture Blog 2015):

- fixed:        base                                   (tenacity.wait_fixed)
- exponential:  ceiling(n)                             (tenacity.wait_exponential)
- full_jitter:  uniform(0, ceiling(n))                 (botocore standard, gRPC A6, Envoy)
- equal_jitter: ceiling(n)/2 + uniform(0, ceiling(n)/2)
- decorrelated: min(cap, uniform(base, 3 * previous)), previous starts at base

With `throttled_base` set (botocore 1.44: 1 s after throttling, 50 ms — DynamoDB 25 ms —
otherwise), the delay after a THROTTLED attempt uses that base instead of `base`.

tenacity's own jittered waits (`wait_random_exponential`, `wait_exponential_jitter`) draw from
the global `random` module, which would make runs unrepeatable, hence the subclasses here.
"""

from __future__ import annotations

import random

from tenacity import RetryCallState
from tenacity.wait import wait_base, wait_exponential, wait_fixed

from harness.outcomes import Outcome
from harness.scenario.strategy_spec import RetryBlock


def ceiling(n: int, *, base: float, multiplier: float, cap: float) -> float:
    """min(cap, base * multiplier**(n-1)) without overflowing for large n."""
    try:
        return min(cap, base * multiplier ** (n - 1))
    except OverflowError:
        return cap


class _Jittered(wait_base):
    def __init__(self, *, base: float, multiplier: float, cap: float, rng: random.Random) -> None:
        self.base = base
        self.multiplier = multiplier
        self.cap = cap
        self.rng = rng

    def _ceiling(self, retry_state: RetryCallState) -> float:
        n = retry_state.attempt_number
        return ceiling(n, base=self.base, multiplier=self.multiplier, cap=self.cap)


class wait_full_jitter(_Jittered):  # lower case: tenacity's naming
    """uniform(0, ceiling(n)) — botocore standard mode, gRPC A6 retry, Envoy route retries."""

    def __call__(self, retry_state: RetryCallState) -> float:
        return self.rng.uniform(0.0, self._ceiling(retry_state))


class wait_equal_jitter(_Jittered):
    """ceiling(n)/2 + uniform(0, ceiling(n)/2): never less than half the exponential delay."""

    def __call__(self, retry_state: RetryCallState) -> float:
        half = self._ceiling(retry_state) / 2.0
        return half + self.rng.uniform(0.0, half)


class wait_decorrelated_jitter(wait_base):
    """min(cap, uniform(base, 3 * previous)); keeps its previous delay, so one per request."""

    def __init__(self, *, base: float, cap: float, rng: random.Random) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng
        self._previous = base

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = min(self.cap, self.rng.uniform(self.base, self._previous * 3.0))
        self._previous = delay
        return delay


class wait_by_outcome(wait_base):
    """One wait after a throttled attempt, another after any other failure (botocore 1.44)."""

    def __init__(self, *, usual: wait_base, throttled: wait_base) -> None:
        self.usual = usual
        self.throttled = throttled

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        last = outcome.result() if outcome is not None and not outcome.failed else None
        if getattr(last, "outcome", None) is Outcome.THROTTLED:
            return float(self.throttled(retry_state))
        return float(self.usual(retry_state))


def make_wait(options: RetryBlock, rng: random.Random) -> wait_base:
    """A fresh wait strategy for one request's retries (decorrelated jitter keeps state)."""
    if options.throttled_base is not None:
        throttled = options.model_copy(
            update={"throttled_base": None, "base": options.throttled_base}
        )
        usual = options.model_copy(update={"throttled_base": None})
        return wait_by_outcome(usual=make_wait(usual, rng), throttled=make_wait(throttled, rng))
    kind = options.backoff
    if kind == "fixed":
        return wait_fixed(options.base)
    if kind == "exponential":
        return wait_exponential(
            multiplier=options.base, exp_base=options.multiplier, max=options.cap
        )
    if kind == "full_jitter":
        return wait_full_jitter(
            base=options.base, multiplier=options.multiplier, cap=options.cap, rng=rng
        )
    if kind == "equal_jitter":
        return wait_equal_jitter(
            base=options.base, multiplier=options.multiplier, cap=options.cap, rng=rng
        )
    return wait_decorrelated_jitter(base=options.base, cap=options.cap, rng=rng)
