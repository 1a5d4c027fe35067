"""Circuit breaker, one per region (Polly v8 / resilience4j style).

Defaults for comparison — Polly v8: FailureRatio 0.1, MinimumThroughput 100, SamplingDuration
30 s (time window), BreakDuration 5 s, one probe in half-open. resilience4j:
failureRateThreshold 50 %, COUNT_BASED window 100, minimumNumberOfCalls 100,
waitDurationInOpenState 60 s, permittedNumberOfCallsInHalfOpenState 10.

- closed: outcomes in `failure_on` are failures; outcomes produced without the wire
  (circuit_open, shed, deadline_exceeded, budget_exhausted) are ignored; everything else is a
  success. After a failure, if the window holds ≥ min_throughput calls and failures/calls ≥
  failure_ratio, the breaker opens. The window is the last `window_size` calls (count) or the
  last `sampling_duration` in 10 slices (time, as Polly's rolling health metrics).
- open: attempts return CIRCUIT_OPEN without the wire, until break_duration has passed; the
  first call (or `state()` query) after that moves it to half-open.
- half_open: up to `half_open_probes` attempts may be in flight; the breaker closes once that
  many have succeeded (window cleared) and re-opens at the first failure.
Results of attempts that started before the last state change are ignored (stale).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from harness.client.api import AttemptResult, Context, Next
from harness.client.policies.base import NOT_ON_WIRE, BlockEnv, SlidingSum
from harness.errors import StrategyError
from harness.events import BreakerStateChanged
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import BreakerBlock

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
_SLICES = 10


class _Window:
    """Calls and failures of the closed state, by count or by time."""

    def __init__(self, options: BreakerBlock, now: float) -> None:
        self._by_count = options.window == "count"
        self._size = options.window_size
        self._span = options.sampling_duration
        self.reset(now)

    def reset(self, now: float) -> None:
        self._recent: deque[bool] = deque(maxlen=self._size)
        self._recent_failures = 0
        if not self._by_count:
            self._calls = SlidingSum(self._span, _SLICES, now)
            self._failures = SlidingSum(self._span, _SLICES, now)

    def add(self, failed: bool, now: float) -> None:
        if self._by_count:
            if len(self._recent) == self._size and self._recent[0]:
                self._recent_failures -= 1
            self._recent.append(failed)
            self._recent_failures += failed
        else:
            self._calls.add(now, 1)
            self._failures.add(now, int(failed))

    def counts(self, now: float) -> tuple[int, int]:
        """(calls, failures) in the window."""
        if self._by_count:
            return len(self._recent), self._recent_failures
        return self._calls.total(now), self._failures.total(now)


@dataclass(slots=True)
class _Circuit:
    window: _Window
    state: str = CLOSED
    opened_at: float = 0.0
    generation: int = 0  # bumped at every state change
    probes_in_flight: int = 0
    probe_successes: int = 0


class BreakerPolicy:
    def __init__(self, options: BreakerBlock, env: BlockEnv) -> None:
        if options.window == "time" and options.sampling_duration <= 0:
            raise StrategyError(f"strategy {env.strategy!r}: breaker sampling_duration must be > 0")
        self.options = options
        self.env = env
        self._failure_on = frozenset(options.failure_on)
        self._circuits: dict[str, _Circuit] = {}

    def state(self, region: str) -> str:
        """ "closed" | "open" | "half_open" (moves open → half_open once break_duration passed)."""
        circuit = self._circuit(region)
        self._expire_break(circuit, region)
        return circuit.state

    def allows(self, region: str) -> bool:
        """Would an attempt to `region` be let through now?"""
        circuit = self._circuit(region)
        self._expire_break(circuit, region)
        if circuit.state == CLOSED:
            return True
        if circuit.state == OPEN:
            return False
        return circuit.probes_in_flight + circuit.probe_successes < self.options.half_open_probes

    async def execute(self, ctx: Context, next: Next) -> AttemptResult:
        region = ctx.region
        circuit = self._circuits.get(region) or self._circuit(region)
        if circuit.state == CLOSED:
            generation = circuit.generation
            result = await next(ctx)
            if circuit.generation == generation:
                self._record_closed(circuit, region, result.outcome)
            return result
        if not self.allows(region):
            return AttemptResult(Outcome.CIRCUIT_OPEN, region, detail=f"circuit {circuit.state}")
        generation = circuit.generation
        circuit.probes_in_flight += 1
        try:
            result = await next(ctx)
        finally:
            if circuit.generation == generation:
                circuit.probes_in_flight -= 1
        if circuit.generation == generation:
            self._record_probe(circuit, region, result.outcome)
        return result

    def _circuit(self, region: str) -> _Circuit:
        circuit = self._circuits.get(region)
        if circuit is None:
            circuit = _Circuit(_Window(self.options, self.env.clock.now()))
            self._circuits[region] = circuit
        return circuit

    def _record_closed(self, circuit: _Circuit, region: str, outcome: Outcome) -> None:
        if outcome in NOT_ON_WIRE:
            return
        now = self.env.clock.now()
        failed = outcome in self._failure_on
        circuit.window.add(failed, now)
        if not failed:
            return
        calls, failures = circuit.window.counts(now)
        if calls >= self.options.min_throughput and failures / calls >= self.options.failure_ratio:
            self._open(circuit, region, now)

    def _record_probe(self, circuit: _Circuit, region: str, outcome: Outcome) -> None:
        if outcome in NOT_ON_WIRE:
            return
        now = self.env.clock.now()
        if outcome in self._failure_on:
            self._open(circuit, region, now)
            return
        circuit.probe_successes += 1
        if circuit.probe_successes >= self.options.half_open_probes:
            circuit.window.reset(now)
            self._change(circuit, region, CLOSED)

    def _expire_break(self, circuit: _Circuit, region: str) -> None:
        if circuit.state != OPEN:
            return
        if self.env.clock.now() >= circuit.opened_at + self.options.break_duration:
            self._change(circuit, region, HALF_OPEN)

    def _open(self, circuit: _Circuit, region: str, now: float) -> None:
        circuit.opened_at = now
        self._change(circuit, region, OPEN)

    def _change(self, circuit: _Circuit, region: str, state: str) -> None:
        circuit.state = state
        circuit.generation += 1
        circuit.probes_in_flight = 0
        circuit.probe_successes = 0
        self.env.bus.emit(BreakerStateChanged(self.env.strategy, region, state))
