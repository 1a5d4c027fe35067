"""A worked example of your own strategy code, named by a scenario's `factory:` field.

Run it from the repository's root (the module must be importable, hence PYTHONPATH):

    PYTHONPATH=examples/factory .venv/bin/harness run examples/factory/scenario.yaml

A factory is a function marked with `@strategy_factory`, called as `factory(name, scenario)`.
It returns either a StrategySpec (catalog blocks composed in code: `tuned_retry` below) or an
object whose `build(env)` returns something with `async execute(request) -> RequestOutcome`
(`home_then_nearest` below). The harness builds one per client host, bounds each `execute` by the
request's deadline (+1 s), and stops the run with one line naming the strategy if it raises or
returns anything but a RequestOutcome.
"""

from __future__ import annotations

import math

from harness.client.api import AttemptResult, ClientEnv, Request
from harness.client.factory import strategy_factory
from harness.client.pipeline import RequestOutcome
from harness.outcomes import Outcome
from harness.scenario.model import Scenario
from harness.scenario.strategy_spec import RetryBlock, StrategySpec, TimeoutBlock


@strategy_factory
def tuned_retry(name: str, scenario: Scenario) -> StrategySpec:
    """Catalog blocks, tuned in code: 3 attempts with full jitter, each bounded to 300 ms."""
    return StrategySpec(
        name=name,
        description=f"3 attempts, full jitter, 300 ms per attempt ({scenario.name})",
        blocks=(
            RetryBlock(max_attempts=3, backoff="full_jitter"),
            TimeoutBlock(attempt=0.3),
        ),
    )


class HomeThenNearest:
    """Plain code: one attempt at home; if it fails, one attempt at the nearest other region."""

    def __init__(self, env: ClientEnv) -> None:
        self._transport = env.transport
        self._clock = env.clock
        self._regions = env.regions[:2]  # home first, then by round-trip time

    async def execute(self, request: Request) -> RequestOutcome:
        tried: list[str] = []
        # what a request whose deadline passed before any attempt ends with
        result = AttemptResult(Outcome.DEADLINE_EXCEEDED, self._regions[0])
        for region in self._regions:
            left = request.deadline - self._clock.now()
            if left <= 0:
                break
            tried.append(region)
            timeout = None if math.isinf(left) else left
            result = await self._transport.send(request, region, timeout=timeout)
            if result.outcome.is_success:
                return RequestOutcome(result, len(tried), tuple(tried), region)
        return RequestOutcome(result, len(tried), tuple(tried), None)


class _Builder:
    def build(self, env: ClientEnv) -> HomeThenNearest:
        return HomeThenNearest(env)


@strategy_factory
def home_then_nearest(name: str, scenario: Scenario) -> _Builder:
    return _Builder()
