"""What every policy block is built with, and small helpers the blocks share."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.clock import Clock
from harness.events import EventBus
from harness.outcomes import Outcome

if TYPE_CHECKING:
    from harness.client.api import AttemptResult
    from harness.client.policies.breaker import BreakerPolicy
    from harness.scenario.strategy_spec import StrategySpec

# Results a block produced in place of an attempt: nothing reached the server.
NOT_ON_WIRE: frozenset[Outcome] = frozenset(
    {Outcome.CIRCUIT_OPEN, Outcome.SHED, Outcome.DEADLINE_EXCEEDED, Outcome.BUDGET_EXHAUSTED}
)

# Ordering used to pick "the most informative failure" among several (hedging, failover):
# an answer from a server says more than a timeout, which says more than "never connected",
# which says more than a block's own refusal.
_INFORMATIVENESS: dict[Outcome, int] = {
    Outcome.OK: 100,
    Outcome.CLIENT_ERROR: 90,
    Outcome.THROTTLED: 85,
    Outcome.SERVER_ERROR: 80,
    Outcome.TIMEOUT: 70,
    Outcome.CONNECT_ERROR: 60,
    Outcome.DNS_SERVFAIL: 55,
    Outcome.DNS_TIMEOUT: 54,
    Outcome.DNS_NODATA: 53,
    Outcome.DNS_NXDOMAIN: 52,
    Outcome.CIRCUIT_OPEN: 40,
    Outcome.BUDGET_EXHAUSTED: 30,
    Outcome.SHED: 20,
    Outcome.DEADLINE_EXCEEDED: 10,
}


def most_informative(results: list[AttemptResult]) -> AttemptResult:
    """The result that tells the caller the most; ties go to the latest one."""
    best = results[0]
    for result in results[1:]:
        if _INFORMATIVENESS[result.outcome] >= _INFORMATIVENESS[best.outcome]:
            best = result
    return best


@dataclass(frozen=True, slots=True)
class BlockEnv:
    """Everything a block may need besides its own options; one per strategy instance."""

    strategy: str
    clock: Clock
    bus: EventBus
    home: str
    regions: tuple[str, ...]  # home first, then by round-trip time
    spec: StrategySpec
    breaker: BreakerPolicy | None = None  # for failover with health="breaker"


class SlidingSum:
    """Sum of the amounts added in the current slice and the slices-1 before it."""

    def __init__(self, span: float, slices: int, now: float) -> None:
        self._width = span / slices
        self._slots = [0] * slices
        self._current = math.floor(now / self._width)

    def _advance(self, now: float) -> None:
        index = math.floor(now / self._width)
        gap = index - self._current
        if gap <= 0:
            return
        slots = self._slots
        if gap >= len(slots):
            slots[:] = [0] * len(slots)
        else:
            for step in range(1, gap + 1):
                slots[(self._current + step) % len(slots)] = 0
        self._current = index

    def add(self, now: float, amount: int) -> None:
        self._advance(now)
        self._slots[self._current % len(self._slots)] += amount

    def total(self, now: float) -> int:
        self._advance(now)
        return sum(self._slots)
