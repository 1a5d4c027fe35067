"""Outcome classes of a request or an attempt: one vocabulary in code, YAML, metrics, docs."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    OK = "ok"
    DNS_NXDOMAIN = "dns_nxdomain"
    DNS_NODATA = "dns_nodata"
    DNS_SERVFAIL = "dns_servfail"
    DNS_TIMEOUT = "dns_timeout"
    CONNECT_ERROR = "connect_error"
    TIMEOUT = "timeout"
    THROTTLED = "throttled"
    SERVER_ERROR = "server_error"
    CLIENT_ERROR = "client_error"
    CIRCUIT_OPEN = "circuit_open"
    BUDGET_EXHAUSTED = "budget_exhausted"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    SHED = "shed"

    @property
    def is_dns(self) -> bool:
        return self in _DNS

    @property
    def is_success(self) -> bool:
        return self is Outcome.OK


_DNS = frozenset(
    {Outcome.DNS_NXDOMAIN, Outcome.DNS_NODATA, Outcome.DNS_SERVFAIL, Outcome.DNS_TIMEOUT}
)

# What the AWS SDK (and most clients) consider transient: DNS/connection failures surface as
# endpoint connection errors, plus timeouts, throttling and 5xx. A 4xx validation error is not.
RETRYABLE: frozenset[Outcome] = frozenset(
    {
        Outcome.DNS_NXDOMAIN,
        Outcome.DNS_NODATA,
        Outcome.DNS_SERVFAIL,
        Outcome.DNS_TIMEOUT,
        Outcome.CONNECT_ERROR,
        Outcome.TIMEOUT,
        Outcome.THROTTLED,
        Outcome.SERVER_ERROR,
    }
)

# Failures that say "this region cannot be reached" rather than "this request failed".
REGIONAL_FAILURES: frozenset[Outcome] = _DNS | {Outcome.CONNECT_ERROR}
