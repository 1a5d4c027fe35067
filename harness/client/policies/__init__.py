"""Policy blocks, one small module each, and the one explicit registry: block kind → class.

A new block is one module here, one entry in BLOCK_TYPES (and, if it decides on retries,
in GATE_KINDS), its options class in harness/scenario/strategy_spec.py, and its test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.client.api import Policy
from harness.client.policies.base import BlockEnv
from harness.client.policies.breaker import BreakerPolicy
from harness.client.policies.budget import RetryBudgetPolicy
from harness.client.policies.failover import FailoverPolicy
from harness.client.policies.hedge import HedgePolicy
from harness.client.policies.limiter import ClientRateLimiterPolicy
from harness.client.policies.quota import RetryQuotaPolicy
from harness.client.policies.retry import RetryPolicy
from harness.client.policies.throttling import RetryThrottlingPolicy
from harness.client.policies.timeout import TimeoutPolicy

BLOCK_TYPES: dict[str, Callable[[Any, BlockEnv], Policy]] = {
    "timeout": TimeoutPolicy,
    "retry": RetryPolicy,
    "quota": RetryQuotaPolicy,
    "limiter": ClientRateLimiterPolicy,
    "budget": RetryBudgetPolicy,
    "throttling": RetryThrottlingPolicy,
    "breaker": BreakerPolicy,
    "hedge": HedgePolicy,
    "failover": FailoverPolicy,
}

# Blocks that are also RetryGates: the retry and hedge blocks ask them before sending more.
GATE_KINDS: frozenset[str] = frozenset({"quota", "budget", "throttling"})

__all__ = [
    "BLOCK_TYPES",
    "GATE_KINDS",
    "BlockEnv",
    "BreakerPolicy",
    "ClientRateLimiterPolicy",
    "FailoverPolicy",
    "HedgePolicy",
    "RetryBudgetPolicy",
    "RetryPolicy",
    "RetryQuotaPolicy",
    "RetryThrottlingPolicy",
    "TimeoutPolicy",
]
