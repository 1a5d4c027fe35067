"""Open-loop workload: requests arrive on a schedule, whatever happened to earlier ones.

Latency is measured from the *intended* arrival time (no coordinated omission); the send lag
(actual − intended) is recorded, and a generator that cannot keep up flags the run `saturated`.
Every strategy gets the same arrival times, ops and keys (same seed), so they are compared on
identical traffic.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
import math
import random
import zlib
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from harness.client.api import Request
from harness.client.rate_profile import RateProfile
from harness.clock import Clock
from harness.scenario.model import BurstSpec, ClientsSpec
from harness.telemetry.latency import LatencyHistogram

_ZIPF_MAX_KEYS = 1_000_000  # beyond this the tail of a zipf is so thin we sample the hot million
_YIELD_EVERY = 32  # overdue arrivals sent in a row before the generator yields to the loop


class KeyChooser:
    def __init__(self, count: int, distribution: str, s: float, rng: random.Random) -> None:
        self._rng = rng
        self._count = count
        self._cdf: list[float] | None = None
        if distribution == "zipf":
            n = min(count, _ZIPF_MAX_KEYS)
            self._cdf = list(itertools.accumulate(1.0 / (k**s) for k in range(1, n + 1)))

    def next(self) -> str:
        if self._cdf is None:
            index = self._rng.randrange(self._count)
        else:
            index = bisect.bisect_left(self._cdf, self._rng.random() * self._cdf[-1])
        return f"k{index}"


def key_hash(key: str) -> int:
    """A stable 32-bit hash for records (keys themselves are never labels or logged)."""
    return zlib.crc32(key.encode())


@dataclass(frozen=True, slots=True)
class Arrival:
    intended: float  # seconds from the run's origin
    op: str
    key: str


def arrivals(spec: ClientsSpec, duration: float, seed: int) -> Iterator[Arrival]:
    """The arrival schedule, a pure function of (spec, duration, seed): the rate's arrivals
    (constant or Poisson, steady or ramped) merged with synchronized bursts, in time order."""
    streams = [_rate_arrivals(spec, duration, seed)]
    if spec.bursts:
        streams.append(_burst_arrivals(spec, duration, seed))
    yield from heapq.merge(*streams, key=lambda arrival: arrival.intended)


def _draws(spec: ClientsSpec, rng: random.Random) -> Callable[[], tuple[str, str]]:
    """(op, key) draws from `rng`: the op mix and the key distribution."""
    keys = KeyChooser(spec.keys.count, spec.keys.distribution, spec.keys.zipf_s, rng)
    ops = [op for op in ("get", "put", "update", "delete") if getattr(spec.ops, op) > 0]
    weights = list(itertools.accumulate(getattr(spec.ops, op) for op in ops))

    def draw() -> tuple[str, str]:
        op = ops[bisect.bisect_left(weights, rng.random() * weights[-1])]
        return op, keys.next()

    return draw


def _rate_arrivals(spec: ClientsSpec, duration: float, seed: int) -> Iterator[Arrival]:
    rng = random.Random(f"arrivals:{seed}")
    draw = _draws(spec, rng)
    for t in _rate_times(spec, duration, rng):
        yield Arrival(t, *draw())


def _rate_times(spec: ClientsSpec, duration: float, rng: random.Random) -> Iterator[float]:
    if spec.ramp:
        profile = RateProfile([(point.at, point.rate) for point in spec.ramp])
        mass = 0.0
        for n in itertools.count(1):
            mass = mass + rng.expovariate(1.0) if spec.arrival == "poisson" else float(n)
            t = profile.time_of(mass)
            if t is None or t >= duration:
                return
            yield t
    if spec.rate <= 0:
        return
    t = 0.0
    for n in itertools.count(1):
        if spec.arrival == "poisson":
            t += rng.expovariate(spec.rate)
        else:
            t = n / spec.rate  # no accumulated floating-point drift
        if t >= duration:
            return
        yield t


def _burst_arrivals(spec: ClientsSpec, duration: float, seed: int) -> Iterator[Arrival]:
    """Every burst's requests at one intended instant (own rng: adding bursts to a scenario
    leaves the rest of its traffic exactly as it was)."""
    draw = _draws(spec, random.Random(f"bursts:{seed}"))

    def instants(burst: BurstSpec) -> Iterator[tuple[float, int]]:
        for i in range(burst.count):
            yield burst.at + i * (burst.every or 0.0), burst.size

    for t, size in heapq.merge(*(instants(b) for b in spec.bursts)):
        if t >= duration:
            return
        for _ in range(size):
            yield Arrival(t, *draw())


Execute = Callable[[Request], Coroutine[Any, Any, None]]


class OpenLoopGenerator:
    """Sends arrivals at their intended loop times through `execute` (one task each).

    Bounded: at most `max_in_flight` requests at once — beyond that a request is not sent but
    handed to `on_shed` and the run is flagged saturated (the client could not keep up).
    """

    def __init__(
        self,
        *,
        spec: ClientsSpec,
        duration: float,
        seed: int,
        clock: Clock,
        execute: Execute,
        on_shed: Callable[[Request], None],
    ) -> None:
        self._spec = spec
        self._duration = duration
        self._seed = seed
        self._clock = clock
        self._execute = execute
        self._on_shed = on_shed
        # read at every /metrics scrape: cheap shape (2 digits, 1 minute range; see latency.py)
        self.send_lag = LatencyHistogram(max_seconds=60.0, significant_digits=2)
        self.in_flight = 0
        self.peak_in_flight = 0
        self.sent = 0
        self.shed = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._errors: list[BaseException] = []
        self._overrun = ""  # set when the run's time limit cut this generator short

    async def run(self, origin: float) -> None:
        """Generate until the duration is over, then wait for requests still in flight."""
        deadline = math.inf if self._spec.deadline is None else self._spec.deadline
        limit = self._spec.saturation.max_in_flight
        behind = 0
        try:
            for request_id, arrival in enumerate(arrivals(self._spec, self._duration, self._seed)):
                if self._errors:
                    break  # a request failed in a way that is a bug: stop at once, report it
                intended = origin + arrival.intended
                delay = intended - self._clock.now()
                if delay > 0:
                    await asyncio.sleep(delay)
                    behind = 0
                else:
                    behind += 1
                    if behind % _YIELD_EVERY == 0:
                        # behind schedule: let started requests, faults and monitors run too
                        await asyncio.sleep(0)
                lag = self._clock.measure() - intended
                self.send_lag.record(max(lag, 0.0))
                request = Request(
                    id=request_id,
                    op=arrival.op,
                    key=arrival.key,
                    intended_start=intended,
                    deadline=intended + deadline,
                    value="v" * self._spec.item_size if arrival.op in ("put", "update") else "",
                )
                if self.in_flight >= limit:
                    self.shed += 1
                    self._on_shed(request)
                    continue
                self._start(request)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._errors:
                raise self._errors[0]
        finally:
            for task in self._tasks:
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(self, request: Request) -> None:
        self.sent += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        task = asyncio.get_running_loop().create_task(self._execute(request))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.in_flight -= 1
        if not task.cancelled() and (error := task.exception()) is not None:
            # execute() must never raise: keep the bug and re-raise it from run(), never lose it
            self._errors.append(error)

    def overran(self, limit: float) -> None:
        """The run's time limit passed with this generator still running (it is about to be
        cancelled): say so, with what it had not finished."""
        self._overrun = (
            f"still sending {limit:g} s after the start (duration + deadline + drain grace): "
            f"stopped with {self.in_flight} requests in flight and the later arrivals unsent"
        )

    def saturation_reasons(self) -> list[str]:
        reasons = [self._overrun] if self._overrun else []
        lag_p99 = self.send_lag.percentile_ms(99.0)
        limit_ms = self._spec.saturation.max_send_lag_p99 * 1000
        if lag_p99 is not None and lag_p99 > limit_ms:
            reasons.append(f"send lag p99 {lag_p99:.1f} ms > {limit_ms:g} ms")
        if self.shed:
            reasons.append(
                f"{self.shed} requests not sent: in-flight limit "
                f"{self._spec.saturation.max_in_flight} reached"
            )
        return reasons
