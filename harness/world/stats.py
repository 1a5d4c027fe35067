"""Read-only counters the world keeps for telemetry (pulled by a Prometheus collector, not pushed:
the DNS server and endpoints stay free of metric calls on their hot paths)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DnsQueryCount:
    name: str  # the query name, lower-case, no trailing dot; "other" for names outside the zone
    qtype: str  # "A", "AAAA", "SOA", "NS", ... ; "other" for rare types
    rcode: str  # NOERROR NXDOMAIN SERVFAIL REFUSED FORMERR NOTIMP BADVERS DROPPED
    count: int


@dataclass(frozen=True, slots=True)
class RegionStats:
    region: str
    concurrency: int  # current capacity (after any throttle fault)
    queue_limit: int
    in_flight: int  # requests in service now
    queued: int  # requests waiting now
    served_total: int  # requests answered 200
    throttled_total: int  # requests refused for capacity
    errors_total: int  # 5xx answered (injected or real)
    abandoned_total: int  # requests whose client went away before the answer
    dropped_abandoned_total: int  # queued work skipped because its client had gone
    connections_open: int
    connections_closed_by_server_total: int  # idle timeout, max age, max requests, drain


@dataclass(frozen=True, slots=True)
class ReplicationStats:
    source: str
    destination: str
    lag_seconds: float  # age of the oldest undelivered write (0 when caught up)
    pending: int  # writes waiting to be applied at destination
    applied_total: int
    lost_writes_total: int  # replicated writes discarded by last-writer-wins (or overwritten ones)


@dataclass(frozen=True, slots=True)
class ConsistencyStats:
    region: str
    stale_reads_total: int  # reads that returned an older version than the newest write anywhere
