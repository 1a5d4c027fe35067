"""The named strategies: real systems' retry, failover and DNS behaviour as StrategySpec data.

One explicit registry (the tuple below); nothing registers itself at import. Values come from
shared/reference/policies.md and the systems' own code and specs, cited per entry.

Attempt timeouts: the SDKs' own defaults (botocore 60 s connect + 60 s read, Envoy's 15 s
route timeout, none in gRPC) are longer than the scenario's whole request deadline (3 s by
default), which would make every strategy's timeout "the deadline". Following the Builders'
Library (time out at an acceptable false-timeout percentile, e.g. p99.9 of downstream latency),
the catalog uses 500 ms per attempt for millisecond-latency endpoints (1 s for the naive
client and the AWS SDK ports). Retries at one layer only: each strategy has one retry block.
"""

from __future__ import annotations

import difflib
from typing import Literal

from harness.errors import StrategyError
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import (
    BreakerBlock,
    BudgetBlock,
    DnsSettings,
    FailoverBlock,
    HedgeBlock,
    LimiterBlock,
    PoolSettings,
    QuotaBlock,
    RetryBlock,
    StrategySpec,
    ThrottlingBlock,
    TimeoutBlock,
)

_NO_CAP = 3600.0  # "no cap" in botocore legacy mode; an hour is beyond any deadline here
_DNS_AND_CONNECT = (
    Outcome.DNS_NXDOMAIN,
    Outcome.DNS_NODATA,
    Outcome.DNS_SERVFAIL,
    Outcome.DNS_TIMEOUT,
    Outcome.CONNECT_ERROR,
)
# gRPC UNAVAILABLE: name resolution and connection failures, HTTP 503 and 429 (A6 example).
_GRPC_UNAVAILABLE = (*_DNS_AND_CONNECT, Outcome.SERVER_ERROR, Outcome.THROTTLED)
# Envoy retry_on "5xx,connect-failure,reset": 5xx, no response / per-try timeout, connect failure.
_ENVOY_RETRY_ON = (*_DNS_AND_CONNECT, Outcome.TIMEOUT, Outcome.SERVER_ERROR)
# Finagle requeues: the request was never written (connection failures) or was NACKed.
_FINAGLE_REQUEUE = (*_DNS_AND_CONNECT, Outcome.THROTTLED)

_Backoff = Literal["fixed", "exponential", "full_jitter", "equal_jitter", "decorrelated"]
_ATTEMPT = TimeoutBlock(attempt=0.5)
_SDK_ATTEMPT = TimeoutBlock(attempt=1.0)


def _brooker(name: str, backoff: _Backoff, description: str) -> StrategySpec:
    return StrategySpec(
        name=name,
        description=description,
        blocks=(
            _ATTEMPT,
            RetryBlock(max_attempts=5, backoff=backoff, base=0.05, multiplier=2.0, cap=1.0),
        ),
        source="Brooker, 'Exponential Backoff And Jitter', AWS Architecture Blog 2015 "
        "(5 attempts, base 50 ms, x2, cap 1 s)",
    )


_CATALOG: tuple[StrategySpec, ...] = (
    StrategySpec(
        name="naive",
        description="One region, no retry, DNS answers cached for their TTL.",
        blocks=(TimeoutBlock(attempt=1.0),),
        dns=DnsSettings(cache="ttl"),
        source="aiohttp ClientSession defaults: no retries; the record's TTL honoured",
    ),
    StrategySpec(
        name="tenacity-fixed",
        description="3 attempts, fixed 1 s between them.",
        blocks=(_ATTEMPT, RetryBlock(max_attempts=3, backoff="fixed", base=1.0)),
        source="tenacity 9.2.1 (installed): @retry(stop=stop_after_attempt(3), "
        "wait=wait_fixed(1)), the usual decorator (tenacity itself defaults to no stop, no wait)",
    ),
    StrategySpec(
        name="polly-default",
        description="Polly v8 retry defaults: 3 retries, constant 2 s.",
        blocks=(_ATTEMPT, RetryBlock(max_attempts=4, backoff="fixed", base=2.0)),
        source="Polly 8.4 (Polly.Core) RetryStrategyOptions: MaxRetryAttempts 3, Delay 2 s, "
        "BackoffType Constant",
    ),
    _brooker("expo-no-jitter", "exponential", "Exponential backoff without jitter (worst case)."),
    _brooker("expo-full-jitter", "full_jitter", "Exponential backoff, full jitter."),
    _brooker("expo-equal-jitter", "equal_jitter", "Exponential backoff, equal jitter."),
    _brooker("expo-decorrelated", "decorrelated", "Decorrelated jitter backoff."),
    StrategySpec(
        name="aws-legacy",
        description="botocore legacy mode, general rule (not DynamoDB): 5 attempts, "
        "rand(0,1)*2**(n-1) s, no cap.",
        blocks=(
            _SDK_ATTEMPT,
            RetryBlock(max_attempts=5, backoff="full_jitter", base=1.0, cap=_NO_CAP),
        ),
        source="botocore 1.42.80 and 1.44.8 data/_retry.json (identical) 'general': "
        "max_attempts 5, base rand, growth factor 2; what a legacy-mode S3/SQS client runs",
    ),
    StrategySpec(
        name="aws-legacy-dynamodb",
        description="DynamoDB legacy: 10 attempts, 50 ms doubling, no jitter (25.55 s waiting).",
        blocks=(
            _SDK_ATTEMPT,
            RetryBlock(max_attempts=10, backoff="exponential", base=0.05, cap=_NO_CAP),
        ),
        source="botocore 1.42.80 data/_retry.json 'dynamodb': max_attempts 10, base 0.05, "
        "growth factor 2; the default of boto3.client('dynamodb') through botocore 1.42 "
        "(retry_mode default 'legacy')",
    ),
    StrategySpec(
        name="aws-standard-2025",
        description="botocore standard mode as shipped until 2025: 3 attempts, full jitter "
        "(1 s base, 20 s cap), quota 500 (5 a retry, 10 after a timeout).",
        blocks=(
            _SDK_ATTEMPT,
            RetryBlock(max_attempts=3, backoff="full_jitter", base=1.0, cap=20.0),
            QuotaBlock(retry_cost=5, timeout_cost=10),
        ),
        source="botocore 1.42.80 retries/standard.py: DEFAULT_MAX_ATTEMPTS 3, "
        "ExponentialBackoff rand*min(2**(n-1), 20) s; RetryQuotaChecker 500, cost 5 / 10 "
        "after a timeout, refund 1 (opt-in then: retry_mode default was 'legacy')",
    ),
    StrategySpec(
        name="aws-standard-2026",
        description="boto3's DynamoDB default today: standard mode, 4 attempts, full jitter on "
        "25 ms (1 s after throttling), quota 500 (14 a retry, 5 after throttling).",
        blocks=(
            _SDK_ATTEMPT,
            RetryBlock(
                max_attempts=4, backoff="full_jitter", base=0.025, throttled_base=1.0, cap=20.0
            ),
            QuotaBlock(retry_cost=14, timeout_cost=14, throttling_cost=5),
        ),
        source="botocore 1.44.8 (installed) retries/standard.py: _SERVICE_MAX_ATTEMPTS "
        "dynamodb 4; ExponentialBackoff non_throttling_base_scale 0.025 (dynamodb), "
        "throttling 1 s, cap 20 s; RetryQuotaChecker _RETRY_COST 14, "
        "_THROTTLING_RETRY_COST 5; args.py retry_mode default 'standard'",
    ),
    StrategySpec(
        name="aws-adaptive-2025",
        description="botocore adaptive mode until 2025: aws-standard-2025 + CUBIC client "
        "rate limiter.",
        blocks=(
            _SDK_ATTEMPT,
            RetryBlock(max_attempts=3, backoff="full_jitter", base=1.0, cap=20.0),
            QuotaBlock(retry_cost=5, timeout_cost=10),
            LimiterBlock(),
        ),
        source="botocore 1.42.80 retries/adaptive.py + throttling.py + bucket.py: C 0.4, "
        "beta 0.7, min rate 0.5/s, EWMA 0.8 over 0.5 s, cap 2x measured; standard as 2025",
    ),
    StrategySpec(
        name="aws-adaptive-2026",
        description="botocore adaptive mode today: aws-standard-2026 + CUBIC client rate limiter.",
        blocks=(
            _SDK_ATTEMPT,
            RetryBlock(
                max_attempts=4, backoff="full_jitter", base=0.025, throttled_base=1.0, cap=20.0
            ),
            QuotaBlock(retry_cost=14, timeout_cost=14, throttling_cost=5),
            LimiterBlock(),
        ),
        source="botocore 1.44.8 retries/adaptive.py (limiter unchanged since 1.42.80) over "
        "1.44.8 standard mode for DynamoDB",
    ),
    StrategySpec(
        name="grpc-throttled",
        description="gRPC A6 retry policy with retry throttling (10 tokens, ratio 0.1).",
        blocks=(
            _ATTEMPT,
            RetryBlock(
                max_attempts=4,
                backoff="full_jitter",
                base=0.1,
                multiplier=2.0,
                cap=1.0,
                retry_on=_GRPC_UNAVAILABLE,
            ),
            ThrottlingBlock(max_tokens=10, token_ratio=0.1),
        ),
        source="gRFC A6 (final; grpc-java 1.x clamps maxAttempts to 5). gRPC has no default "
        "policy; A6's example: maxAttempts 4, initialBackoff 0.1 s, maxBackoff 1 s, "
        "multiplier 2, [UNAVAILABLE]; retryThrottling maxTokens 10, tokenRatio 0.1",
    ),
    StrategySpec(
        name="finagle-budget",
        description="Finagle requeues (no backoff) limited by the default RetryBudget.",
        blocks=(
            _ATTEMPT,
            RetryBlock(max_attempts=5, backoff="fixed", base=0.0, retry_on=_FINAGLE_REQUEUE),
            BudgetBlock(ttl=10.0, min_retries_per_sec=10.0, percent_can_retry=0.2),
        ),
        source="finagle-core 24.2.0 RetryBudget() (unchanged since 6.x): ttl 10 s, "
        "minRetriesPerSec 10, percentCanRetry 0.2; "
        "requeue backoff default none; 5 attempts per request is ours",
    ),
    StrategySpec(
        name="envoy-retry",
        description="Envoy route retries: 1 retry, full jitter 25 ms..250 ms, 20 % budget.",
        blocks=(
            _ATTEMPT,
            RetryBlock(
                max_attempts=2,
                backoff="full_jitter",
                base=0.025,
                cap=0.25,
                retry_on=_ENVOY_RETRY_ON,
            ),
            BudgetBlock(ttl=1.0, min_retries_per_sec=3.0, percent_can_retry=0.2),
        ),
        source="Envoy v1.31 route.v3.RetryPolicy defaults: num_retries 1, base_interval 25 ms, "
        "max_interval 10x base = 250 ms; "
        "retry_budget 20 % (min_retry_concurrency 3) approximated as a 1 s rate budget",
    ),
    StrategySpec(
        name="breaker-failover",
        description="Per-region circuit breaker (Polly v8 defaults) driving regional failover.",
        blocks=(
            _ATTEMPT,
            RetryBlock(max_attempts=2, backoff="full_jitter", base=0.05, cap=1.0),
            FailoverBlock(health="breaker", failback_after=10.0, probe_interval=5.0),
            BreakerBlock(
                window="time",
                sampling_duration=30.0,
                failure_ratio=0.1,
                min_throughput=100,
                break_duration=5.0,
                half_open_probes=1,
            ),
        ),
        source="Polly 8.4 CircuitBreakerStrategyOptions: FailureRatio 0.1, MinimumThroughput "
        "100, SamplingDuration 30 s, BreakDuration 5 s",
    ),
    StrategySpec(
        name="r4j-breaker-failover",
        description="resilience4j count-based breaker defaults driving regional failover.",
        blocks=(
            _ATTEMPT,
            FailoverBlock(health="breaker", failback_after=10.0, probe_interval=5.0),
            BreakerBlock(
                window="count",
                window_size=100,
                failure_ratio=0.5,
                min_throughput=100,
                break_duration=60.0,
                half_open_probes=10,
            ),
        ),
        source="resilience4j 2.2.0 CircuitBreakerConfig: failureRateThreshold 50, COUNT_BASED 100, "
        "minimumNumberOfCalls 100, waitDurationInOpenState 60 s, half-open calls 10",
    ),
    StrategySpec(
        name="hedged-cross-region",
        description="Hedge to the next region after 50 ms without an answer.",
        blocks=(_ATTEMPT, HedgeBlock(delay=0.05, max_extra=1, target="next-region")),
        source="gRFC A6 hedgingPolicy (maxAttempts 2); Polly 8.4 hedging: 1 extra attempt "
        "(Delay 2 s, scaled to the scenario's ms latencies); Dean & Barroso, Tail at Scale",
    ),
    StrategySpec(
        name="serve-stale-dns",
        description="RFC 8767 serve-stale DNS cache plus a modest retry.",
        blocks=(
            _ATTEMPT,
            RetryBlock(max_attempts=3, backoff="full_jitter", base=0.05, cap=1.0),
        ),
        dns=DnsSettings(
            cache="serve-stale",
            max_stale=86400.0,
            stale_ttl=30.0,
            recheck=30.0,
            response_timer=1.8,
        ),
        source="RFC 8767: client response timer 1.8 s, stale TTL 30 s, recheck 30 s, "
        "max stale 1-3 days",
    ),
    StrategySpec(
        name="pinned-dns",
        description="Static stability: addresses pinned at start, long-lived connections.",
        blocks=(
            _ATTEMPT,
            RetryBlock(max_attempts=3, backoff="full_jitter", base=0.05, cap=1.0),
        ),
        dns=DnsSettings(cache="pinned"),
        pool=PoolSettings(keep_alive=True, max_idle=60.0),
        source="AWS Builders' Library, 'Static stability using Availability Zones'; "
        "Route 53 data plane vs control plane guidance",
    ),
    StrategySpec(
        name="active-active",
        description="Requests spread over healthy regions (weighted to low RTT), with failover.",
        blocks=(
            _ATTEMPT,
            RetryBlock(max_attempts=3, backoff="full_jitter", base=0.05, cap=1.0),
            FailoverBlock(mode="active-active", health="errors"),
        ),
        source="Multi-region active-active (AWS Well-Architected REL10); DynamoDB global tables",
    ),
)

_BY_NAME: dict[str, StrategySpec] = {spec.name: spec for spec in _CATALOG}


def names() -> tuple[str, ...]:
    """Catalog names, in catalog order."""
    return tuple(_BY_NAME)


# Names before the catalog carried botocore versions: say what they became, not "unknown".
RENAMED: dict[str, str] = {
    "aws-standard": "aws-standard-2025 (botocore <= 1.42) or aws-standard-2026 (1.44, today)",
    "aws-adaptive": "aws-adaptive-2025 (botocore <= 1.42) or aws-adaptive-2026 (1.44, today)",
}


def get(name: str) -> StrategySpec:
    """The named strategy; StrategyError (with a close match, if any) for an unknown name."""
    spec = _BY_NAME.get(name)
    if spec is None and name in RENAMED:
        raise StrategyError(f"strategy {name!r} was renamed: use {RENAMED[name]}")
    if spec is None:
        close = difflib.get_close_matches(name, _BY_NAME, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise StrategyError(f"unknown strategy {name!r}{hint} (see `harness strategies`)")
    return spec


# The bet each strategy makes: what its authors assumed about failures (README's "premise").
PREMISES: dict[str, str] = {
    "naive": "Failures are rare; the caller handles them.",
    "tenacity-fixed": "A failure is a blip: wait a moment and try again.",
    "polly-default": "A failure is a blip lasting a couple of seconds.",
    "expo-no-jitter": "Back off harder as failures persist.",
    "expo-full-jitter": "Back off, and spread retries so clients do not retry in lockstep.",
    "expo-equal-jitter": "Back off with a guaranteed minimum wait, spread over the rest.",
    "expo-decorrelated": "Back off from the previous wait, spread widely.",
    "aws-legacy": "Retry connection errors a lot, with long waits (legacy mode, non-DynamoDB).",
    "aws-legacy-dynamodb": "DynamoDB is fast: many quick retries hide brief failures "
    "(boto3's DynamoDB default until 2025).",
    "aws-standard-2025": "Retry transient errors, but stop when most of them fail (retry quota).",
    "aws-standard-2026": "Retries should be quick and few; throttling alone deserves a long "
    "wait (boto3's default today).",
    "aws-adaptive-2025": "When the server throttles, slow the whole client down (CUBIC).",
    "aws-adaptive-2026": "When the server throttles, slow the whole client down (CUBIC), "
    "over today's quick retries.",
    "grpc-throttled": "Retries are fine while most calls succeed; stop at ~10 % failures.",
    "finagle-budget": "Retries may add at most 20 % load on top of the requests.",
    "envoy-retry": "One quick retry, bounded by a budget, is enough at the proxy.",
    "breaker-failover": "A failing region should be skipped quickly and another used.",
    "r4j-breaker-failover": "Only a mostly failing region (50 % of 100 calls) should be skipped.",
    "hedged-cross-region": "Tail latency and regional failure are both solved by racing.",
    "serve-stale-dns": "An old answer beats no answer when DNS fails (RFC 8767).",
    "pinned-dns": "Endpoints rarely change: do not depend on DNS at run time.",
    "active-active": "Every region serves all the time; losing one is routine.",
}


def premise(name: str) -> str:
    return PREMISES.get(name, "")


def describe() -> list[tuple[str, str, str]]:
    """(name, description, source) for every strategy, in catalog order."""
    return [(spec.name, spec.description, spec.source) for spec in _CATALOG]
