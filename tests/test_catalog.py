"""The strategy catalog: names, lookups, and every strategy built and run on a fake transport."""

from __future__ import annotations

import asyncio

import pytest
from policy_fakes import FakeTransport, make_pipeline, make_request

from harness.client import catalog
from harness.errors import StrategyError
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import (
    FailoverBlock,
    HedgeBlock,
    QuotaBlock,
    RetryBlock,
    TimeoutBlock,
)


def test_at_least_fourteen_unique_documented_strategies() -> None:
    names = catalog.names()
    assert len(names) >= 14 and len(set(names)) == len(names)
    for name, description, source in catalog.describe():
        assert description and source, name
        spec = catalog.get(name)
        assert spec.name == name
        timeouts = [b for b in spec.blocks if isinstance(b, TimeoutBlock)]
        assert timeouts and timeouts[0].attempt is not None and timeouts[0].attempt <= 1.0, name
        assert sum(isinstance(b, RetryBlock) for b in spec.blocks) <= 1  # retry at one layer


def test_cited_defaults() -> None:
    standard = catalog.get("aws-standard")
    retry = next(b for b in standard.blocks if isinstance(b, RetryBlock))
    quota = next(b for b in standard.blocks if isinstance(b, QuotaBlock))
    assert (retry.max_attempts, retry.backoff, retry.base, retry.cap) == (
        3,
        "full_jitter",
        1.0,
        20.0,
    )
    assert (quota.initial, quota.retry_cost, quota.timeout_cost) == (500, 5, 10)
    dynamo = next(b for b in catalog.get("aws-legacy-dynamodb").blocks if isinstance(b, RetryBlock))
    waits = [min(dynamo.cap, dynamo.base * 2 ** (n - 1)) for n in range(1, dynamo.max_attempts)]
    assert waits[-1] == pytest.approx(12.8) and sum(waits) == pytest.approx(25.55)


def test_unknown_name_suggests_a_close_match() -> None:
    with pytest.raises(StrategyError, match="did you mean 'aws-adaptive'"):
        catalog.get("aws-adaptiv")
    with pytest.raises(StrategyError, match="unknown strategy 'zzz'") as info:
        catalog.get("zzz")
    assert "did you mean" not in str(info.value)


def _home_dark(region: str, now: float) -> Outcome:
    return Outcome.DNS_NXDOMAIN if region == "r1" and now >= 1.0 else Outcome.OK


@pytest.mark.looptime
@pytest.mark.parametrize("name", catalog.names())
async def test_every_strategy_builds_and_runs(name: str) -> None:
    transport = FakeTransport(behaviour=_home_dark, latency=0.003)
    spec = catalog.get(name)
    pipeline = make_pipeline(spec.blocks, transport, name=name)
    healthy = await pipeline.execute(make_request())
    assert healthy.result.outcome is Outcome.OK and healthy.region_served == "r1"
    leaves_home = any(
        isinstance(b, FailoverBlock) or (isinstance(b, HedgeBlock) and b.target == "next-region")
        for b in spec.blocks
    )
    await asyncio.sleep(1.0)
    for _ in range(5):
        outcome = await pipeline.execute(make_request())
        assert outcome.result.outcome in {Outcome.OK, Outcome.DNS_NXDOMAIN}, name
        assert 1 <= outcome.attempts <= 10
        if leaves_home:
            assert outcome.region_served == "r2", name
        await asyncio.sleep(0.2)


def test_every_catalog_strategy_states_its_premise() -> None:
    assert set(catalog.PREMISES) == set(catalog.names())
    assert all(catalog.premise(name) for name in catalog.names())
