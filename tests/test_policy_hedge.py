"""Hedging: timing, target regions, cancellation of the losers, failures."""

from __future__ import annotations

import asyncio

import pytest
from policy_fakes import FakeTransport, Recorder, make_pipeline, make_request

from harness.events import AttemptFinished, EventBus, HedgeLaunched
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import HedgeBlock, QuotaBlock

pytestmark = pytest.mark.looptime


def _now() -> float:
    return asyncio.get_running_loop().time()


async def test_a_slow_primary_is_hedged_to_the_next_region_and_cancelled() -> None:
    transport = FakeTransport(script={"r1": [(Outcome.OK, 1.0)], "r2": [(Outcome.OK, 0.05)]})
    bus = EventBus()
    recorder = Recorder(bus)
    hedge = HedgeBlock(delay=0.1, max_extra=1, target="next-region")
    pipeline = make_pipeline([hedge], transport, bus=bus)
    outcome = await pipeline.execute(make_request())
    assert outcome.result.region == "r2" and outcome.region_served == "r2"
    assert _now() == pytest.approx(0.15)
    assert [(c.at, c.region) for c in transport.calls] == [(0.0, "r1"), (pytest.approx(0.1), "r2")]
    assert transport.cancelled == 1 and transport.in_flight == 0
    assert outcome.attempts == 2 and outcome.regions_tried == ("r1", "r2")
    assert recorder.of(HedgeLaunched) == [HedgeLaunched("test", "r2")]
    assert [at for at, _ in recorder.timed(HedgeLaunched)] == pytest.approx([0.1])
    [finished] = recorder.of(AttemptFinished)
    assert finished.is_hedge and finished.region == "r2"


async def test_a_fast_primary_is_never_hedged() -> None:
    transport = FakeTransport(latency=0.02)
    bus = EventBus()
    recorder = Recorder(bus)
    pipeline = make_pipeline([HedgeBlock(delay=0.1)], transport, bus=bus)
    outcome = await pipeline.execute(make_request())
    assert outcome.attempts == 1 and recorder.of(HedgeLaunched) == []
    assert _now() == pytest.approx(0.02)


async def test_hedges_follow_each_delay_up_to_max_extra() -> None:
    transport = FakeTransport(default=(Outcome.OK, 1.0))
    pipeline = make_pipeline([HedgeBlock(delay=0.2, max_extra=3, target="same")], transport)
    outcome = await pipeline.execute(make_request())
    assert [c.at for c in transport.calls] == pytest.approx([0.0, 0.2, 0.4, 0.6])
    assert {c.region for c in transport.calls} == {"r1"}
    assert outcome.result.outcome is Outcome.OK and _now() == pytest.approx(1.0)
    assert transport.cancelled == 3


async def test_zero_delay_sends_all_at_once() -> None:
    transport = FakeTransport(default=(Outcome.OK, 0.3))
    pipeline = make_pipeline([HedgeBlock(delay=0.0, max_extra=2, target="next-region")], transport)
    await pipeline.execute(make_request())
    assert [(c.at, c.region) for c in transport.calls] == [(0.0, "r1"), (0.0, "r2"), (0.0, "r3")]


async def test_a_fast_failure_launches_the_hedge_at_once() -> None:
    transport = FakeTransport(
        script={"r1": [(Outcome.DNS_NXDOMAIN, 0.01)], "r2": [(Outcome.OK, 0.02)]}
    )
    pipeline = make_pipeline([HedgeBlock(delay=1.0, target="next-region")], transport)
    outcome = await pipeline.execute(make_request())
    assert outcome.region_served == "r2"
    assert [c.at for c in transport.calls] == pytest.approx([0.0, 0.01])


async def test_all_failing_returns_the_most_informative_failure() -> None:
    transport = FakeTransport(
        script={"r1": [(Outcome.SERVER_ERROR, 0.3)], "r2": [(Outcome.DNS_NXDOMAIN, 0.0)]}
    )
    pipeline = make_pipeline([HedgeBlock(delay=0.1, target="next-region")], transport)
    outcome = await pipeline.execute(make_request())
    assert outcome.result.outcome is Outcome.SERVER_ERROR and outcome.region_served is None
    assert outcome.attempts == 2


async def test_a_fatal_outcome_ends_the_request_and_cancels_the_rest() -> None:
    transport = FakeTransport(
        script={"r1": [(Outcome.OK, 1.0)], "r2": [(Outcome.CLIENT_ERROR, 0.05)]}
    )
    pipeline = make_pipeline([HedgeBlock(delay=0.1, target="next-region")], transport)
    outcome = await pipeline.execute(make_request())
    assert outcome.result.outcome is Outcome.CLIENT_ERROR
    assert transport.cancelled == 1 and _now() == pytest.approx(0.15)


async def test_hedges_ask_the_gates() -> None:
    transport = FakeTransport(default=(Outcome.OK, 1.0))
    blocks = [HedgeBlock(delay=0.1, max_extra=3), QuotaBlock(initial=25, timeout_cost=10)]
    pipeline = make_pipeline(blocks, transport)
    outcome = await pipeline.execute(make_request())
    assert outcome.attempts == 3  # two hedges paid 10 each; the third could not be paid


async def test_cancelling_the_request_cancels_every_attempt() -> None:
    transport = FakeTransport(default=(Outcome.OK, 5.0))
    pipeline = make_pipeline([HedgeBlock(delay=0.1, max_extra=2)], transport)
    task = asyncio.create_task(pipeline.execute(make_request()))
    await asyncio.sleep(1.0)
    assert transport.in_flight == 3
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert transport.cancelled == 3 and transport.in_flight == 0
