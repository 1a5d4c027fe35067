"""The world's public control API: the only way faults (and tests) change the world.

Faults never reach into servers: they add an *override* and get a handle back; reverting is
removing the handle. Overrides stack, so overlapping faults compose and revert independently.
Every change is emitted as an event with the loop time at which it took effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

DnsMode = Literal["nodata", "nxdomain", "servfail", "drop", "delay", "addresses"]


@dataclass(frozen=True, slots=True)
class DnsOverride:
    """How the DNS server answers queries for `name` while the override is in place.

    mode: nodata (NOERROR, no A records, SOA), nxdomain, servfail, drop (no reply at all),
    delay (normal answer after delay + uniform(0, jitter)), addresses (answer with `addresses`).
    rate: probability per query that the override applies (0: never; the query is answered
    normally). Newest override that fires wins.
    """

    mode: DnsMode
    rate: float = 1.0
    delay: float = 0.0
    jitter: float = 0.0
    addresses: tuple[str, ...] = ()


class ZoneControl(Protocol):
    """Control of the authoritative DNS zone (implemented by harness.world.dns.zone.Zone)."""

    def names(self) -> tuple[str, ...]: ...
    def addresses(self, name: str) -> tuple[str, ...] | None:
        """Current base addresses of `name`; None if the name does not exist (NXDOMAIN)."""

    def set_addresses(self, name: str, addresses: tuple[str, ...]) -> None: ...
    def empty(self, name: str) -> None:
        """Keep the name, remove every address (NODATA)."""

    def delete(self, name: str) -> None:
        """Remove the name (NXDOMAIN)."""

    def add_override(self, name: str, override: DnsOverride) -> int:
        """Install an override; returns a handle for remove_override."""

    def remove_override(self, handle: int) -> None:
        """Idempotent: removing twice, or a handle never issued, does nothing."""


EndpointMode = Literal["latency", "errors", "throttle", "blackhole", "reset", "down"]


@dataclass(frozen=True, slots=True)
class EndpointOverride:
    """A behaviour change on some endpoints of a region.

    endpoints: indexes within the region (None = all). rate: probability per request (per
    connection for `down`). latency: + delay + uniform(0, jitter). errors: status 500, 503 or
    "throttling" (400 ThrottlingException). throttle: capacity × fraction. blackhole: never answer.
    reset: close the connection mid-request. down: refuse connections (listeners closed).
    """

    mode: EndpointMode
    endpoints: tuple[int, ...] | None = None
    rate: float = 1.0
    delay: float = 0.0
    jitter: float = 0.0
    status: int | str = 500
    fraction: float = 1.0


class RegionControl(Protocol):
    """Control of one region's endpoints (implemented by harness.world.region.Region)."""

    name: str

    def endpoint_addresses(self) -> tuple[str, ...]: ...
    def endpoints_in_az(self, az: str) -> tuple[int, ...]: ...
    def add_override(self, override: EndpointOverride) -> int: ...
    async def remove_override(self, handle: int) -> None:
        """Idempotent. Async because reverting `down` re-binds listeners."""

    async def drain(self, endpoints: tuple[int, ...] | None = None) -> int:
        """Close idle kept-alive connections now; returns how many were closed."""


class ReplicationControl(Protocol):
    def pause(self, source: str | None, destination: str | None) -> int: ...
    def resume(self, handle: int) -> None:
        """Idempotent. Writes queued while paused are then delivered."""


class ServiceControl(Protocol):
    """The world's dependent services (harness.services.tier.ServiceTier), when it has some."""

    def dns_names(self, service: str, region: str) -> tuple[str, ...]:
        """The names of `service` in `region` (its global name too when region is its home)."""

    def set_throttle(self, service: str, region: str, max_queue: int) -> int:
        """Admit lease jobs only while fewer than `max_queue` wait; returns a handle."""

    def clear_throttle(self, handle: int) -> None: ...

    def info(self) -> dict[str, object]:
        """Where each service answers (names, addresses, port), for `harness world`'s line."""
