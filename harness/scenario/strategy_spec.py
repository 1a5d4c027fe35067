"""Options of the client policy blocks and of a strategy (a named pipeline of blocks).

Plain validated data with documented defaults (Polly v8's options); the behaviour lives in
harness/client/policies/. Defaults here are neutral; the catalog sets real systems' values.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from harness.outcomes import RETRYABLE, Outcome
from harness.scenario.service_spec import TokenSettings
from harness.scenario.types import Duration, Name, Probability, Spec

_DEFAULT_RETRYABLE: tuple[Outcome, ...] = tuple(sorted(RETRYABLE))


class TimeoutBlock(Spec):
    """Per-attempt timeout; the request's overall deadline is `clients.deadline` unless set."""

    kind: Literal["timeout"] = "timeout"
    attempt: Duration | None = Field(
        default=None, description="Timeout of one attempt on the wire."
    )
    deadline: Duration | Literal["none"] | None = Field(
        default=None,
        description="This strategy's caller deadline (retries included), replacing "
        "`clients.deadline`; `none`: no deadline; unset: the scenario's.",
    )


class RetryBlock(Spec):
    """Retries driven by tenacity. delay(n) for the n-th retry (n = 1, 2, …):
    fixed: base; exponential: min(cap, base·multiplier^(n-1)); full_jitter: uniform(0, that);
    equal_jitter: that/2 + uniform(0, that/2); decorrelated: min(cap, uniform(base, 3·previous)).
    """

    kind: Literal["retry"] = "retry"
    max_attempts: int = Field(default=3, ge=1, le=100, description="Attempts including the first.")
    backoff: Literal["fixed", "exponential", "full_jitter", "equal_jitter", "decorrelated"] = (
        "full_jitter"
    )
    base: Duration = 0.05
    throttled_base: Duration | None = Field(
        default=None,
        description="Base of the delay after a throttled attempt (botocore 1.44: 1 s); "
        "default: base.",
    )
    multiplier: float = Field(default=2.0, ge=1.0)
    cap: Duration = 20.0
    max_elapsed: Duration | None = Field(
        default=None, description="Stop retrying once this much loop time has passed."
    )
    retry_on: tuple[Outcome, ...] = Field(default=_DEFAULT_RETRYABLE)


class QuotaBlock(Spec):
    """AWS SDK standard-mode retry quota (botocore defaults)."""

    kind: Literal["quota"] = "quota"
    initial: int = Field(default=500, ge=1)
    retry_cost: int = Field(default=5, ge=0)
    timeout_cost: int = Field(default=10, ge=0)
    throttling_cost: int | None = Field(
        default=None, description="Cost of a retry after throttling (botocore 1.44: 5)."
    )
    no_retry_increment: int = Field(default=1, ge=0)


class LimiterBlock(Spec):
    """AWS SDK adaptive-mode client rate limiter: CUBIC, enabled by the first throttling error."""

    kind: Literal["limiter"] = "limiter"
    beta: float = Field(default=0.7, gt=0, lt=1)
    scale_constant: float = Field(default=0.4, gt=0)
    min_fill_rate: float = Field(default=0.5, gt=0)
    smoothing: float = Field(default=0.8, gt=0, lt=1)
    bucket: Duration = 0.5
    max_wait: Duration | None = Field(
        default=None, description="Shed a request that would wait longer than this for a token."
    )


class BudgetBlock(Spec):
    """Finagle RetryBudget: retries ≤ percent_can_retry * requests in the last ttl + reserve."""

    kind: Literal["budget"] = "budget"
    ttl: Duration = 10.0
    min_retries_per_sec: float = Field(default=10.0, ge=0)
    percent_can_retry: float = Field(default=0.2, ge=0, le=1000)


class ThrottlingBlock(Spec):
    """gRPC retryThrottling (proposal A6): retries and hedges stop while tokens ≤ max_tokens / 2."""

    kind: Literal["throttling"] = "throttling"
    max_tokens: float = Field(default=10.0, gt=0, le=1000)
    token_ratio: float = Field(default=0.1, gt=0)


class BreakerBlock(Spec):
    """Circuit breaker, one per region."""

    kind: Literal["breaker"] = "breaker"
    window: Literal["count", "time"] = "time"
    window_size: int = Field(default=100, ge=1, description="Calls in a count window.")
    sampling_duration: Duration = Field(default=30.0, description="Length of a time window.")
    failure_ratio: Probability = 0.1
    min_throughput: int = Field(default=100, ge=1)
    break_duration: Duration = 5.0
    half_open_probes: int = Field(default=1, ge=1)
    failure_on: tuple[Outcome, ...] = Field(default=_DEFAULT_RETRYABLE)


class HedgeBlock(Spec):
    """Hedged requests: after `delay` without an answer, send another attempt."""

    kind: Literal["hedge"] = "hedge"
    delay: Duration = 2.0
    max_extra: int = Field(default=1, ge=1, le=4)
    target: Literal["same", "next-region"] = "same"


class FailoverBlock(Spec):
    """Regional failover: ordered regions, health from the breaker or from probes, failback."""

    kind: Literal["failover"] = "failover"
    regions: tuple[Name, ...] | None = Field(
        default=None, description="Order to try; default: home region, then others by RTT."
    )
    mode: Literal["active-passive", "active-active"] = "active-passive"
    health: Literal["breaker", "probe", "errors"] = "errors"
    probe_interval: Duration = 5.0
    failback_after: Duration = Field(
        default=10.0, description="Home region must look healthy this long before failback."
    )
    on: tuple[Outcome, ...] = Field(
        default=(
            Outcome.DNS_NXDOMAIN,
            Outcome.DNS_NODATA,
            Outcome.DNS_SERVFAIL,
            Outcome.DNS_TIMEOUT,
            Outcome.CONNECT_ERROR,
            Outcome.CIRCUIT_OPEN,
        ),
        description="Outcomes that send the request to the next region at once.",
    )


Block = Annotated[
    TimeoutBlock
    | RetryBlock
    | QuotaBlock
    | LimiterBlock
    | BudgetBlock
    | ThrottlingBlock
    | BreakerBlock
    | HedgeBlock
    | FailoverBlock,
    Field(discriminator="kind"),
]


class DnsSettings(Spec):
    """How the client resolves names. aiohttp's own DNS cache is always off: we own caching."""

    cache: Literal["none", "ttl", "serve-stale", "pinned"] = "ttl"
    max_stale: Duration = Field(default=86400.0, description="RFC 8767: 1 to 3 days recommended.")
    stale_ttl: Duration = Field(default=30.0, description="TTL of a stale answer (RFC 8767: 30 s).")
    recheck: Duration = Field(default=30.0, description="After a failure, re-query no more often.")
    response_timer: Duration = Field(
        default=1.8, description="RFC 8767 client response timer: answer stale after this long."
    )
    query_timeout: Duration = Field(default=1.0, description="Timeout of one DNS query.")
    query_attempts: int = Field(default=2, ge=1, le=10)
    min_ttl: Duration = 0.0


class PoolSettings(Spec):
    """Connection pooling. Pooled connections survive a DNS failure; new ones need DNS."""

    keep_alive: bool = True
    max_idle: Duration = Field(
        default=15.0, description="Close a kept-alive connection idle this long."
    )
    max_age: Duration | None = Field(default=None, description="Close connections older than this.")
    limit: int = Field(default=256, ge=1, le=10000, description="Max open connections per pool.")
    connect_timeout: Duration = 1.0


class StrategySpec(Spec):
    """A named strategy: blocks outermost first, plus DNS and pool settings."""

    name: Name
    description: str = ""
    blocks: tuple[Block, ...] = ()
    dns: DnsSettings = DnsSettings()
    pool: PoolSettings = PoolSettings()
    tokens: TokenSettings | None = Field(
        default=None, description="Each request first needs a token from this auth service."
    )
    source: str = Field(default="", description="Where the defaults come from (citation).")

    @field_validator("blocks")
    @classmethod
    def _one_of_each(cls, blocks: tuple[Block, ...]) -> tuple[Block, ...]:
        # a field validator, so the error points at `blocks`, not at the whole strategy
        kinds = [block.kind for block in blocks]
        duplicates = sorted({k for k in kinds if kinds.count(k) > 1})
        if duplicates:
            raise ValueError(f"block kind(s) used more than once: {', '.join(duplicates)}")
        return blocks


class FactoryStrategy(Spec):
    """A strategy built by user code: `package.module:factory`, called with (name, scenario)."""

    name: Name
    factory: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    description: str = ""
