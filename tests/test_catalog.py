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


def _blocks(name: str) -> tuple[RetryBlock, QuotaBlock | None]:
    spec = catalog.get(name)
    retry = next(b for b in spec.blocks if isinstance(b, RetryBlock))
    quota = next((b for b in spec.blocks if isinstance(b, QuotaBlock)), None)
    return retry, quota


def test_botocore_2025_defaults() -> None:
    """botocore 1.42.80 standard mode (read from its retries/standard.py)."""
    for name in ("aws-standard-2025", "aws-adaptive-2025"):
        retry, quota = _blocks(name)
        assert (retry.max_attempts, retry.backoff, retry.base, retry.cap) == (
            3,
            "full_jitter",
            1.0,
            20.0,
        )
        assert retry.throttled_base is None
        assert quota is not None
        assert (quota.initial, quota.retry_cost, quota.timeout_cost, quota.throttling_cost) == (
            500,
            5,
            10,
            None,
        )
    dynamo, _ = _blocks("aws-legacy-dynamodb")
    waits = [min(dynamo.cap, dynamo.base * 2 ** (n - 1)) for n in range(1, dynamo.max_attempts)]
    assert waits[-1] == pytest.approx(12.8) and sum(waits) == pytest.approx(25.55)


def test_botocore_2026_defaults_match_the_installed_botocore() -> None:
    """The 2026 entries read their numbers from the botocore the project installs (1.44.8)."""
    from botocore.retries import quota as bquota  # type: ignore[import-untyped]
    from botocore.retries import standard

    for name in ("aws-standard-2026", "aws-adaptive-2026"):
        retry, quota = _blocks(name)
        assert retry.max_attempts == standard._SERVICE_MAX_ATTEMPTS["dynamodb"] == 4
        backoff = standard.ExponentialBackoff
        assert (
            retry.base == backoff._SERVICE_BACKOFF_CONFIG["dynamodb"]["non_throttling_base_scale"]
        )
        assert retry.throttled_base == backoff._DEFAULT_BACKOFF_CONFIG["throttling_base_scale"]
        assert retry.cap == backoff._MAX_BACKOFF and retry.backoff == "full_jitter"
        assert quota is not None
        checker = standard.RetryQuotaChecker
        assert quota.initial == bquota.RetryQuota.INITIAL_CAPACITY
        assert quota.retry_cost == quota.timeout_cost == checker._RETRY_COST == 14
        assert quota.throttling_cost == checker._THROTTLING_RETRY_COST == 5
        assert quota.no_retry_increment == checker._NO_RETRY_INCREMENT


def test_unknown_name_suggests_a_close_match() -> None:
    with pytest.raises(StrategyError, match="did you mean 'aws-adaptive-20"):
        catalog.get("aws-adaptiv-2026")
    with pytest.raises(StrategyError, match="unknown strategy 'zzz'") as info:
        catalog.get("zzz")
    assert "did you mean" not in str(info.value)


def test_old_names_say_what_they_became() -> None:
    with pytest.raises(StrategyError, match=r"renamed: use aws-standard-2025 .* aws-standard-2026"):
        catalog.get("aws-standard")


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
