"""The single source of truth for metric names (Toxiproxy's METRICS.md idea, as code).

Every Prometheus metric the harness exports is one `MetricDef` here; `metrics.py` creates the
metrics from these definitions, the dashboards build their queries from them, and the README table
is rendered from them (`python -m harness.telemetry.catalog`). Conventions (Prometheus naming
guide): `harness_` prefix, base units (seconds), `_total` on counters and only there, and labels
from one small fixed set — never a key, an id or an address.

World and generator metrics carry `strategy` = the owner of the world (one world per strategy
under `run.isolation: per-strategy`), so every panel can be filtered by strategy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class MetricType(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    SUMMARY = "summary"


LABELS: frozenset[str] = frozenset(
    {
        "strategy", "region", "outcome", "fault", "target", "rcode", "op", "reason", "state",
        "gate", "result", "source", "name", "qtype", "phase", "kind", "service",
    }
)  # fmt: skip

# 1 ms … 30 s, roughly 1-2.5-5 log spacing: DNS timeouts (~2-5 s) and SDK backoff tails (12.8 s of
# DynamoDB legacy doubling) land in distinct buckets.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip

# Circuit-breaker state as a gauge value (resilience4j / Polly states).
BREAKER_STATE_VALUES: dict[str, float] = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


@dataclass(frozen=True, slots=True)
class MetricDef:
    name: str
    type: MetricType
    labels: tuple[str, ...]
    help: str
    unit: str  # documentation unit: "seconds", "requests", "1" (ratio / flag), ...
    group: str  # "client" | "world" | "generator" | "service" | "run": who produces it
    buckets: tuple[float, ...] = ()


def _d(
    name: str,
    type_: MetricType,
    labels: str,
    unit: str,
    group: str,
    help_: str,
    *,
    buckets: tuple[float, ...] = (),
) -> MetricDef:
    return MetricDef(name, type_, tuple(labels.split()), help_, unit, group, buckets)


# fmt: off
_C, _G, _H, _S = MetricType.COUNTER, MetricType.GAUGE, MetricType.HISTOGRAM, MetricType.SUMMARY

# ---- client side, pushed from events ------------------------------------------------------------
REQUESTS = _d("harness_requests_total", _C, "strategy outcome region", "requests", "client",
    "Logical requests finished, by outcome class and the region that served them "
    '("none" if none did).')
REQUEST_DURATION = _d("harness_request_duration_seconds", _H, "strategy result", "seconds",
    "client",
    "Request latency measured from the intended send time (no coordinated omission); result "
    '"ok" or "failed", so a fast failure never passes for a fast success.',
    buckets=LATENCY_BUCKETS)
ATTEMPTS = _d("harness_attempts_total", _C, "strategy region outcome kind", "attempts", "client",
    "Attempts on the wire, by region tried, outcome and kind (first / retry / hedge).")
ATTEMPT_DURATION = _d("harness_attempt_duration_seconds", _H, "strategy region", "seconds",
    "client",
    "Duration of one attempt (DNS, connect and response included).", buckets=LATENCY_BUCKETS)
RETRIES = _d("harness_retries_total", _C, "strategy reason", "retries", "client",
    "Retries scheduled, by the outcome that caused them.")
RETRIES_SUPPRESSED = _d("harness_retries_suppressed_total", _C, "strategy gate reason", "retries",
    "client", "Retries wanted but refused by a gate (quota, budget, throttling, max attempts).")
HEDGES = _d("harness_hedges_total", _C, "strategy region", "attempts", "client",
    "Hedged attempts launched, by the region they went to.")
FAILOVERS = _d("harness_failovers_total", _C, "strategy source region", "events", "client",
    "Failovers from region `source` to region `region`.")
FAILBACKS = _d("harness_failbacks_total", _C, "strategy region", "events", "client",
    "Failbacks to the home region `region`.")
BREAKER_STATE = _d("harness_breaker_state", _G, "strategy region", "1", "client",
    "Circuit-breaker state: 0 closed, 1 half-open, 2 open; the worst of the fleet's hosts.")
BREAKER_TRANSITIONS = _d("harness_breaker_transitions_total", _C, "strategy region state", "events",
    "client", "Circuit-breaker transitions, by the state entered (catches flaps between scrapes).")
TOKENS = _d("harness_retry_tokens", _G, "strategy gate", "tokens", "client",
    "Tokens left in a retry gate: SDK retry quota (starts 500), gRPC throttling, retry budget; "
    "the fewest of the fleet's hosts.")
RATE_LIMIT = _d("harness_rate_limiter_requests_per_second", _G, "strategy", "requests/s", "client",
    "Rate the client-side limiter lets through (no sample until the first throttling error "
    "enables it, as in botocore adaptive mode); the lowest of the fleet's hosts.")
DNS_LOOKUPS = _d("harness_client_dns_lookups_total", _C, "strategy result source", "lookups",
    "client", "Client name resolutions by result (ok or outcome) and source "
    "(wire, cache, stale, pinned, negative_cache).")
CONNECTIONS = _d("harness_client_connections_open", _G, "strategy region", "connections", "client",
    "Connections the client's pool holds open (kept-alive ones survive a DNS deletion).")

# ---- the world, pulled at scrape time -----------------------------------------------------------
DNS_QUERIES = _d("harness_dns_queries_total", _C, "strategy name qtype rcode", "queries", "world",
    "Queries answered by the harness DNS server (rcode DROPPED: no reply sent).")
ENDPOINT_CAPACITY = _d("harness_endpoint_capacity", _G, "strategy region", "requests", "world",
    "Requests a region can serve at once (after any throttle fault).")
ENDPOINT_QUEUE_LIMIT = _d("harness_endpoint_queue_limit", _G, "strategy region", "requests",
    "world",
    "Requests a region lets wait before throttling.")
ENDPOINT_IN_FLIGHT = _d("harness_endpoint_in_flight", _G, "strategy region", "requests", "world",
    "Requests in service now.")
ENDPOINT_QUEUED = _d("harness_endpoint_queued", _G, "strategy region", "requests", "world",
    "Requests waiting for capacity now (queue depth).")
ENDPOINT_SERVED = _d("harness_endpoint_served_total", _C, "strategy region", "requests", "world",
    "Requests answered 200 by a region.")
ENDPOINT_THROTTLED = _d("harness_endpoint_throttled_total", _C, "strategy region", "requests",
    "world", "Requests a region refused for capacity (throttling).")
ENDPOINT_ERRORS = _d("harness_endpoint_errors_total", _C, "strategy region", "requests", "world",
    "5xx answers (injected or real).")
ENDPOINT_ABANDONED = _d("harness_endpoint_abandoned_total", _C, "strategy region", "requests",
    "world", "Requests whose client went away before the answer (work done for nobody).")
ENDPOINT_DROPPED = _d("harness_endpoint_dropped_abandoned_total", _C, "strategy region", "requests",
    "world", "Queued requests skipped because their client had gone.")
ENDPOINT_CONNECTIONS = _d("harness_endpoint_connections_open", _G, "strategy region", "connections",
    "world", "Connections open at a region's endpoints.")
ENDPOINT_CONNECTIONS_CLOSED = _d("harness_endpoint_connections_closed_total", _C, "strategy region",
    "connections", "world",
    "Connections closed by the server (idle, max age, max requests, drain).")
REPLICATION_LAG = _d("harness_replication_lag_seconds", _G, "strategy source region", "seconds",
    "world", "Age of the oldest undelivered write from `source` to `region` (0 when caught up).")
REPLICATION_PENDING = _d("harness_replication_pending", _G, "strategy source region", "writes",
    "world", "Writes waiting to be applied at `region`.")
REPLICATION_APPLIED = _d("harness_replication_applied_total", _C, "strategy source region",
    "writes", "world", "Replicated writes applied at `region`.")
LOST_WRITES = _d("harness_replication_lost_writes_total", _C, "strategy source region", "writes",
    "world", "Writes lost to last-writer-wins conflict resolution.")
STALE_READS = _d("harness_stale_reads_total", _C, "strategy region", "reads", "world",
    "Reads that returned an older version than the newest write anywhere.")

# ---- the load generator, pulled at scrape time --------------------------------------------------
SEND_LAG = _d("harness_generator_send_lag_seconds", _S, "strategy", "seconds", "generator",
    "Open-loop send lag (actual minus intended send time); quantile 0.99 over the generator's "
    "window.")
SEND_LAG_MAX = _d("harness_generator_send_lag_max_seconds", _G, "strategy", "seconds", "generator",
    "Largest send lag seen.")
GENERATOR_IN_FLIGHT = _d("harness_generator_in_flight", _G, "strategy", "requests", "generator",
    "Requests started and not finished.")
SATURATED = _d("harness_generator_saturated", _G, "strategy", "1", "generator",
    "1 while the generator cannot keep up (its numbers are not to be trusted).")

# ---- the client fleet, pulled at scrape time (no host label: cardinality) ----------------------
FLEET_HOSTS = _d("harness_fleet_hosts", _G, "strategy", "hosts", "client",
    "Simulated client hosts the strategy runs as (scenario clients.hosts).")
FLEET_HOSTS_FAILING = _d("harness_fleet_hosts_failing", _G, "strategy", "hosts", "client",
    "Hosts whose most recently finished request failed: how far an outage has spread through "
    "the fleet.")
# ---- dependent services (harness.services), pulled at scrape time ------------------------------
# `service` takes its values from the scenario's `services:` (a fixed, declared set); `target` is
# the callee: "dynamodb" or another service's name.
SERVICE_REQUESTS = _d("harness_service_requests_total", _C, "strategy service region outcome",
    "requests", "service", "Requests a service answered, by outcome (ok, Throttled, "
    "DependencyFailed, LeaseExpired).")
SERVICE_CALLS = _d("harness_service_calls_total", _C, "strategy service region target outcome",
    "calls", "service", "Calls a service made to a dependency, by the call's outcome class.")
SERVICE_IN_FLIGHT = _d("harness_service_in_flight", _G, "strategy service region", "requests",
    "service", "Requests in service at a service instance.")
SERVICE_QUEUED = _d("harness_service_queued", _G, "strategy service region", "requests",
    "service", "Requests waiting for a slot at a service instance.")
SERVICE_HEALTHY = _d("harness_service_healthy", _G, "strategy service region", "1", "service",
    "1 while the service's latest scheduled calls succeeded; for a lease service the share of "
    "leases held.")
SERVICE_LEASES_HELD = _d("harness_service_leases_held", _G, "strategy service region", "leases",
    "service", "Leases held (valid) by a lease service.")
SERVICE_LEASE_JOBS = _d("harness_service_lease_jobs_total", _C, "strategy service region result",
    "jobs", "service", "Lease jobs finished: renewed, established, timed_out (thrown away and "
    "re-queued), failed (the DynamoDB call failed).")
SERVICE_LEASE_BACKLOG = _d("harness_service_lease_backlog", _G, "strategy service region state",
    "jobs", "service", "Lease jobs queued, and held outside the queue by the throttle lever.")
SERVICE_LEASE_THROTTLE = _d("harness_service_lease_throttle", _G, "strategy service region",
    "jobs", "service", "The throttle lever's queue limit while it is on, else 0.")

# ---- the run ------------------------------------------------------------------------------------
FAULT_ACTIVE = _d("harness_fault_active", _G, "fault target", "1", "run",
    "1 while a fault is applied, 0 after it is reverted.")
FAULT_APPLY_DELAY = _d("harness_fault_apply_delay_seconds", _G, "fault target", "seconds", "run",
    "How late the fault was applied relative to its schedule.")
PHASE = _d("harness_phase", _G, "phase", "1", "run",
    "1 for the scenario phase in progress, else 0.")
RUN_ELAPSED = _d("harness_run_elapsed_seconds", _G, "", "seconds", "run",
    "Time since the run started, on the run's clock.")

CATALOG: tuple[MetricDef, ...] = (
    REQUESTS, REQUEST_DURATION, ATTEMPTS, ATTEMPT_DURATION, RETRIES, RETRIES_SUPPRESSED, HEDGES,
    FAILOVERS, FAILBACKS, BREAKER_STATE, BREAKER_TRANSITIONS, TOKENS, RATE_LIMIT, DNS_LOOKUPS,
    CONNECTIONS,
    DNS_QUERIES, ENDPOINT_CAPACITY, ENDPOINT_QUEUE_LIMIT, ENDPOINT_IN_FLIGHT, ENDPOINT_QUEUED,
    ENDPOINT_SERVED, ENDPOINT_THROTTLED, ENDPOINT_ERRORS, ENDPOINT_ABANDONED, ENDPOINT_DROPPED,
    ENDPOINT_CONNECTIONS, ENDPOINT_CONNECTIONS_CLOSED, REPLICATION_LAG, REPLICATION_PENDING,
    REPLICATION_APPLIED, LOST_WRITES, STALE_READS,
    SEND_LAG, SEND_LAG_MAX, GENERATOR_IN_FLIGHT, SATURATED,
    FLEET_HOSTS, FLEET_HOSTS_FAILING,
    SERVICE_REQUESTS, SERVICE_CALLS, SERVICE_IN_FLIGHT, SERVICE_QUEUED, SERVICE_HEALTHY,
    SERVICE_LEASES_HELD, SERVICE_LEASE_JOBS, SERVICE_LEASE_BACKLOG, SERVICE_LEASE_THROTTLE,
    FAULT_ACTIVE, FAULT_APPLY_DELAY, PHASE, RUN_ELAPSED,
)
# fmt: on

BY_NAME: dict[str, MetricDef] = {d.name: d for d in CATALOG}

# Series names Prometheus sees besides the family name itself.
_SUFFIXES = {
    MetricType.COUNTER: ("_created",),
    MetricType.HISTOGRAM: ("_bucket", "_sum", "_count", "_created"),
    MetricType.SUMMARY: ("_sum", "_count", "_created"),
    MetricType.GAUGE: (),
}
_NAME = re.compile(r"^harness_[a-z][a-z0-9_]*$")


def series_names(d: MetricDef) -> tuple[str, ...]:
    """Names of the series a metric family exposes (a counter's `_created` included)."""
    base = d.name.removesuffix("_total") if d.type is MetricType.COUNTER else d.name
    own = (d.name,) if d.type is not MetricType.HISTOGRAM else ()
    return own + tuple(base + suffix for suffix in _SUFFIXES[d.type])


def lookup_series(series: str) -> MetricDef | None:
    """The catalog entry a series name belongs to (`x_bucket` -> histogram `x`), or None."""
    for d in CATALOG:
        if series in series_names(d) or series == d.name:
            return d
    return None


def catalog_problems(defs: Iterable[MetricDef] = CATALOG) -> list[str]:
    """Violations of the naming rules; empty when the catalog is sound."""
    problems: list[str] = []
    seen: set[str] = set()
    for d in defs:
        if d.name in seen:
            problems.append(f"{d.name}: defined twice")
        seen.add(d.name)
        if not _NAME.match(d.name):
            problems.append(f"{d.name}: must match {_NAME.pattern}")
        if (d.type is MetricType.COUNTER) != d.name.endswith("_total"):
            problems.append(f"{d.name}: `_total` belongs on counters and only on counters")
        if d.unit == "seconds" and not d.name.endswith("_seconds"):
            problems.append(f"{d.name}: a metric in seconds must end with `_seconds`")
        if bad := set(d.labels) - LABELS:
            problems.append(f"{d.name}: labels outside the fixed set: {sorted(bad)}")
        if len(set(d.labels)) != len(d.labels):
            problems.append(f"{d.name}: repeated label")
        if (d.type is MetricType.HISTOGRAM) != bool(d.buckets):
            problems.append(f"{d.name}: buckets belong on histograms and only on histograms")
        if list(d.buckets) != sorted(set(d.buckets)):
            problems.append(f"{d.name}: buckets must increase strictly")
        if not d.help.strip():
            problems.append(f"{d.name}: no help text")
    return problems


def catalog_markdown(defs: Iterable[MetricDef] = CATALOG) -> str:
    """The catalog as a Markdown table for the README (name, type, labels, unit, meaning)."""
    lines = ["| metric | type | labels | unit | meaning |", "|---|---|---|---|---|"]
    for d in defs:
        labels = ", ".join(f"`{label}`" for label in d.labels) or "—"
        meaning = d.help.replace("|", "\\|")
        lines.append(f"| `{d.name}` | {d.type.value} | {labels} | {d.unit} | {meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(catalog_markdown(), end="")
