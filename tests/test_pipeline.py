"""The pipeline: terminal attempt, composition order, gates, request outcome."""

from __future__ import annotations

import asyncio
import math

import pytest
from policy_fakes import FakeTransport, Recorder, make_env, make_pipeline, make_request

from harness.client.pipeline import RequestOutcome, build_pipeline
from harness.client.policies import RetryBudgetPolicy, RetryQuotaPolicy, RetryThrottlingPolicy
from harness.errors import StrategyError
from harness.events import AttemptFinished, EventBus, FailoverHappened
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import (
    BreakerBlock,
    BudgetBlock,
    FailoverBlock,
    QuotaBlock,
    RetryBlock,
    StrategySpec,
    ThrottlingBlock,
    TimeoutBlock,
)

pytestmark = pytest.mark.looptime


async def test_bare_pipeline_makes_one_attempt_home() -> None:
    transport = FakeTransport(latency=0.004)
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = make_pipeline([], transport, bus=bus)
    outcome = await pipeline.execute(make_request())
    assert outcome == RequestOutcome(outcome.result, 1, ("r1",), "r1")
    assert outcome.result.outcome is Outcome.OK
    [finished] = recorder.of(AttemptFinished)
    assert (finished.strategy, finished.region, finished.outcome) == ("test", "r1", Outcome.OK)
    assert not finished.is_retry and not finished.is_hedge
    assert finished.duration == pytest.approx(0.004)


async def test_attempt_timeout_is_bounded_by_the_remaining_deadline() -> None:
    transport = FakeTransport()
    pipeline = make_pipeline([TimeoutBlock(attempt=0.5)], transport)
    await pipeline.execute(make_request(deadline=3.0))
    await pipeline.execute(make_request(deadline=0.2))
    assert [call.timeout for call in transport.calls] == [0.5, pytest.approx(0.2)]


async def test_no_attempt_on_the_wire_once_the_deadline_passed() -> None:
    transport = FakeTransport()
    pipeline = make_pipeline([], transport)
    request = make_request(deadline=1.0)
    await asyncio.sleep(1.0)
    outcome = await pipeline.execute(request)
    assert outcome.result.outcome is Outcome.DEADLINE_EXCEEDED
    assert outcome.attempts == 0 and outcome.region_served is None
    assert transport.calls == []


async def test_timeout_block_deadline_overrides_and_default_deadline_fills_in() -> None:
    transport = FakeTransport()
    pipeline = make_pipeline([TimeoutBlock(deadline=0.25)], transport, deadline=9.0)
    request = make_request(deadline=3.0)
    await pipeline.execute(request)
    assert request.deadline == pytest.approx(request.intended_start + 0.25)

    open_ended = make_pipeline([], transport, deadline=2.0)
    request = make_request()
    request.deadline = math.inf
    await open_ended.execute(request)
    assert request.deadline == pytest.approx(request.intended_start + 2.0)
    assert transport.calls[-1].timeout == pytest.approx(2.0)


async def test_gate_blocks_are_collected_for_retry_and_hedge() -> None:
    pipeline = make_pipeline(
        [RetryBlock(), QuotaBlock(), BudgetBlock(), ThrottlingBlock()], FakeTransport()
    )
    kinds = [type(gate) for gate in pipeline._gates]
    assert kinds == [RetryQuotaPolicy, RetryBudgetPolicy, RetryThrottlingPolicy]
    assert list(pipeline.blocks) == ["retry", "quota", "budget", "throttling"]


async def test_each_strategy_instance_has_its_own_state() -> None:
    first = make_pipeline([RetryBlock(), QuotaBlock(initial=5)], FakeTransport())
    second = make_pipeline([RetryBlock(), QuotaBlock(initial=5)], FakeTransport())
    assert first.blocks["quota"] is not second.blocks["quota"]


async def test_home_must_be_one_of_the_regions() -> None:
    spec = StrategySpec(name="x")
    with pytest.raises(StrategyError, match="home region 'nowhere'"):
        build_pipeline(spec, make_env(FakeTransport(), regions=("r1",), home="nowhere"))


async def test_a_breaker_outside_failover_is_refused() -> None:
    spec = StrategySpec(name="x", blocks=(BreakerBlock(), FailoverBlock()))
    with pytest.raises(StrategyError, match=r"put the breaker after \(inside\) the failover block"):
        build_pipeline(spec, make_env(FakeTransport(), regions=("r1",)))


def _home_dead() -> FakeTransport:
    return FakeTransport(script={"r1": [Outcome.DNS_NXDOMAIN] * 20})


async def test_failover_outside_retry_exhausts_retries_at_home_first() -> None:
    transport = _home_dead()
    retry = RetryBlock(max_attempts=3, backoff="fixed", base=0.1)
    pipeline = make_pipeline([FailoverBlock(), retry], transport)
    outcome = await pipeline.execute(make_request())
    assert outcome.regions_tried == ("r1", "r1", "r1", "r2")
    assert outcome.region_served == "r2"
    assert asyncio.get_running_loop().time() == pytest.approx(0.2)


async def test_failover_inside_retry_moves_region_within_the_first_attempt() -> None:
    transport = _home_dead()
    retry = RetryBlock(max_attempts=3, backoff="fixed", base=0.1)
    pipeline = make_pipeline([retry, FailoverBlock()], transport)
    outcome = await pipeline.execute(make_request())
    assert outcome.regions_tried == ("r1", "r2")
    assert outcome.region_served == "r2"
    assert asyncio.get_running_loop().time() == 0.0


async def test_failover_events_do_not_repeat_per_request() -> None:
    transport = FakeTransport(
        behaviour=lambda region, now: Outcome.CONNECT_ERROR if region == "r1" else Outcome.OK
    )
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = make_pipeline([FailoverBlock()], transport, bus=bus)
    for _ in range(10):
        await pipeline.execute(make_request())
    assert recorder.of(FailoverHappened) == [FailoverHappened("test", "r1", "r2")]
    assert transport.regions_called()[-1] == "r2"
