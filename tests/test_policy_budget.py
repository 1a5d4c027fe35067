"""Finagle RetryBudget arithmetic on the loop clock."""

from __future__ import annotations

import asyncio

import pytest
from policy_fakes import FakeTransport, Recorder, block_of, make_pipeline, make_request

from harness.client.policies import RetryBudgetPolicy
from harness.events import EventBus, RetrySuppressed
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import BudgetBlock, RetryBlock

pytestmark = pytest.mark.looptime

RETRY_ONCE = RetryBlock(max_attempts=2, backoff="fixed", base=0.0)


async def test_finagle_default_amounts() -> None:
    pipeline = make_pipeline([RETRY_ONCE, BudgetBlock()], FakeTransport())
    budget = block_of(pipeline, RetryBudgetPolicy)
    assert (budget.deposit_amount, budget.withdrawal_amount) == (1000, 5000)
    assert budget.reserve == 500_000  # 10/s x 10 s x 5000
    assert budget.balance() == 100


async def test_one_retry_per_five_requests_without_reserve() -> None:
    transport = FakeTransport(default=Outcome.SERVER_ERROR)
    bus = EventBus()
    recorder = Recorder(bus)
    blocks = [RETRY_ONCE, BudgetBlock(min_retries_per_sec=0, percent_can_retry=0.2)]
    pipeline = make_pipeline(blocks, transport, bus=bus)
    attempts = [(await pipeline.execute(make_request())).attempts for _ in range(10)]
    assert attempts == [1, 1, 1, 1, 2, 1, 1, 1, 1, 2]
    gates = [event.gate for event in recorder.of(RetrySuppressed)]
    assert gates.count("budget") == 8 and gates.count("max_attempts") == 2


async def test_reserve_allows_min_retries_per_second_times_ttl() -> None:
    transport = FakeTransport(default=Outcome.CONNECT_ERROR)
    blocks = [RETRY_ONCE, BudgetBlock(ttl=10.0, min_retries_per_sec=0.5, percent_can_retry=1.0)]
    pipeline = make_pipeline(blocks, transport)
    budget = block_of(pipeline, RetryBudgetPolicy)
    assert budget.reserve == 5 * 1000  # 0.5/s x 10 s = 5 retries of 1000
    # each request deposits 1000 and its retry withdraws 1000: the reserve never shrinks
    attempts = [(await pipeline.execute(make_request())).attempts for _ in range(20)]
    assert attempts == [2] * 20
    assert budget.balance() == 5


async def test_deposits_and_withdrawals_expire_after_ttl() -> None:
    transport = FakeTransport()
    blocks = [RETRY_ONCE, BudgetBlock(ttl=10.0, min_retries_per_sec=0, percent_can_retry=0.5)]
    pipeline = make_pipeline(blocks, transport)
    budget = block_of(pipeline, RetryBudgetPolicy)
    for _ in range(6):
        await pipeline.execute(make_request())  # 6 deposits of 1000, withdrawal 2000
    assert budget.balance() == 3
    await asyncio.sleep(9.5)
    assert budget.balance() == 3  # still inside the window (slices of 1 s)
    await asyncio.sleep(0.5)
    assert budget.balance() == 0  # all deposits made in [0, 1) have expired at t = 10


async def test_empty_budget_never_allows() -> None:
    transport = FakeTransport(default=Outcome.SERVER_ERROR)
    blocks = [RETRY_ONCE, BudgetBlock(min_retries_per_sec=0, percent_can_retry=0)]
    pipeline = make_pipeline(blocks, transport)
    attempts = [(await pipeline.execute(make_request())).attempts for _ in range(20)]
    assert attempts == [1] * 20
    assert block_of(pipeline, RetryBudgetPolicy).balance() == 0


async def test_a_request_deposits_once_whatever_its_attempts() -> None:
    transport = FakeTransport(default=Outcome.SERVER_ERROR)
    retry = RetryBlock(max_attempts=4, backoff="fixed", base=0.0)
    blocks = [retry, BudgetBlock(min_retries_per_sec=1, ttl=10.0, percent_can_retry=0.2)]
    pipeline = make_pipeline(blocks, transport)
    budget = block_of(pipeline, RetryBudgetPolicy)
    assert budget.balance() == 10
    outcome = await pipeline.execute(make_request())
    assert outcome.attempts == 4
    # +1000 deposit, -3 x 5000: (50,000 + 1000 - 15,000) // 5000
    assert budget.balance() == 7
