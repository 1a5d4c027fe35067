"""The authoritative zone: names -> IPv4 addresses, its SOA and NS, and stacked overrides.

A `Zone` is the world's DNS state and implements `ZoneControl` (harness.world.control): faults
change it, the `DnsServer` reads it per query through `lookup()` and `decide()`. Every change bumps
the SOA serial and emits `ZoneChanged` with the loop time at which it took effect.

Negative caching (RFC 2308 §5): resolvers cache NXDOMAIN/NODATA for min(SOA TTL, SOA MINIMUM); both
are set to `negative_ttl`, so that is exactly the negative TTL clients see.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from harness.errors import AddressError
from harness.events import EventBus, ZoneChanged
from harness.world.control import DnsOverride

# SOA timers of a typical authoritative zone (BIND's example zone / RIPE-203 recommendations).
SOA_REFRESH = 3600
SOA_RETRY = 600
SOA_EXPIRE = 86400

Verdict = Literal["zone", "nodata", "nxdomain", "servfail", "drop", "addresses"]


@dataclass(frozen=True, slots=True)
class Decision:
    """How the server answers one query. verdict "zone": answer from the zone's data."""

    verdict: Verdict = "zone"
    delay: float = 0.0
    addresses: tuple[str, ...] = ()


NORMAL = Decision()


@dataclass(frozen=True, slots=True)
class Soa:
    mname: str
    rname: str
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int
    ttl: int


def normalize(name: str) -> str:
    """Lower-case, no trailing dot: the form every zone method and counter label uses."""
    return name.rstrip(".").lower()


def _check_addresses(addresses: tuple[str, ...]) -> tuple[str, ...]:
    """Only IPv4 loopback addresses: a record must never send a client off this machine."""
    checked = []
    for address in addresses:
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError as exc:
            raise AddressError(f"zone address {address!r} is not an IPv4 address") from exc
        if not ip.is_loopback:
            raise AddressError(f"zone address {address!r} is not loopback (127.0.0.0/8)")
        checked.append(str(ip))
    return tuple(checked)


class Zone:
    """One authoritative zone. Names are held without the trailing dot, lower-case."""

    def __init__(
        self,
        origin: str,
        *,
        ttl: float,
        negative_ttl: float,
        bus: EventBus | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.origin = normalize(origin)
        if not self.origin:
            raise ValueError("zone origin must not be empty")
        if ttl < 0 or negative_ttl < 0:
            raise ValueError("ttl and negative_ttl must be ≥ 0")
        # DNS TTLs are whole seconds (RFC 1035 §3.2.1).
        self.ttl = round(ttl)
        self.negative_ttl = round(negative_ttl)
        self.ns = f"ns1.{self.origin}"
        self.ns_addresses: tuple[str, ...] = ()  # where `ns` answers: set by serve_from()
        self.serial = 1
        self._suffix = "." + self.origin
        self._bus = bus
        self._clock = clock
        self._records: dict[str, tuple[str, ...]] = {}
        self._nonterminals: frozenset[str] = frozenset()
        self._ever: set[str] = {self.origin}  # names worth their own counter label
        self._overrides: dict[str, list[tuple[int, DnsOverride]]] = {}  # newest first
        self._override_names: dict[int, str] = {}
        self._next_handle = 1

    # ---- reading (the server's hot path) ------------------------------------------------------

    def contains(self, name: str) -> bool:
        """True if `name` (normalized) is the origin or below it."""
        return name == self.origin or name.endswith(self._suffix)

    def lookup(self, name: str) -> tuple[str, ...] | None:
        """Addresses of a normalized in-zone name: () if it exists without any, None if absent."""
        found = self._records.get(name)
        if found is not None:
            return found
        if name == self.origin or name in self._nonterminals:
            return ()
        if name == self.ns and self.ns_addresses:
            return self.ns_addresses  # the zone's own name server (the NS target) resolves
        return None

    def tracked(self, name: str) -> bool:
        """True for names ever set or overridden: they get their own stats label."""
        return name in self._ever

    def decide(self, name: str, rng: random.Random) -> Decision:
        """Which override fires for one query of `name` (normalized), newest first.

        `delay` overrides add up and let the decision fall through to older overrides (a delay
        and an emptied record compose); the first other override that fires decides the answer.
        rate 0 never fires and rate 1 always does, without drawing from `rng`.
        """
        stack = self._overrides.get(name)
        if not stack:
            return NORMAL
        delay = 0.0
        for _, override in stack:
            rate = override.rate
            if rate <= 0.0 or (rate < 1.0 and rng.random() >= rate):
                continue
            if override.mode == "delay":
                extra = rng.uniform(0.0, override.jitter) if override.jitter > 0 else 0.0
                delay += override.delay + extra
                continue
            return Decision(override.mode, delay, override.addresses)
        return Decision("zone", delay) if delay else NORMAL

    def soa(self) -> Soa:
        return Soa(
            mname=self.ns,
            rname=f"hostmaster.{self.origin}",
            serial=self.serial,
            refresh=SOA_REFRESH,
            retry=SOA_RETRY,
            expire=SOA_EXPIRE,
            minimum=self.negative_ttl,
            ttl=self.negative_ttl,
        )

    def serve_from(self, address: str) -> None:
        """The address the zone's name server listens on: `ns` answers it (a record set with
        set_addresses for that name wins). Not a change of the zone's data: no serial bump."""
        self.ns_addresses = _check_addresses((address,))

    # ---- ZoneControl ---------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._records))

    def addresses(self, name: str) -> tuple[str, ...] | None:
        return self._records.get(normalize(name))

    def set_addresses(self, name: str, addresses: tuple[str, ...]) -> None:
        key = self._in_zone(name)
        checked = _check_addresses(tuple(addresses))
        self._records[key] = checked
        self._changed(key, "set", ",".join(checked) or "(none)")

    def empty(self, name: str) -> None:
        key = self._in_zone(name)
        self._records[key] = ()
        self._changed(key, "empty", "")

    def delete(self, name: str) -> None:
        key = self._in_zone(name)
        self._records.pop(key, None)
        self._changed(key, "delete", "")

    def add_override(self, name: str, override: DnsOverride) -> int:
        key = self._in_zone(name)
        if not 0.0 <= override.rate <= 1.0:
            raise ValueError(f"override rate must be within [0, 1], got {override.rate}")
        if override.delay < 0 or override.jitter < 0:
            raise ValueError("override delay and jitter must be ≥ 0")
        if override.mode == "addresses":
            override = replace(override, addresses=_check_addresses(override.addresses))
        handle = self._next_handle
        self._next_handle += 1
        self._overrides.setdefault(key, []).insert(0, (handle, override))
        self._override_names[handle] = key
        self._changed(key, "override_added", _describe(handle, override))
        return handle

    def remove_override(self, handle: int) -> None:
        key = self._override_names.pop(handle, None)
        if key is None:
            return
        stack = self._overrides[key]
        removed = next(o for h, o in stack if h == handle)
        stack[:] = [(h, o) for h, o in stack if h != handle]
        if not stack:
            del self._overrides[key]
        self._changed(key, "override_removed", _describe(handle, removed))

    def overrides(self, name: str) -> tuple[DnsOverride, ...]:
        """Overrides in force on `name`, newest first."""
        return tuple(o for _, o in self._overrides.get(normalize(name), ()))

    # ---- internals -----------------------------------------------------------------------------

    def _in_zone(self, name: str) -> str:
        key = normalize(name)
        if not self.contains(key):
            raise ValueError(f"name {name!r} is outside the zone {self.origin!r}")
        return key

    def _changed(self, name: str, change: str, detail: str) -> None:
        self.serial += 1
        self._ever.add(name)
        self._nonterminals = self._compute_nonterminals()
        if self._bus is not None:
            self._bus.emit(ZoneChanged(name=name, change=change, detail=detail, at=self._now()))

    def _now(self) -> float:
        """The loop's time; 0.0 for set-up changes made before any loop runs."""
        if self._clock is not None:
            return self._clock()
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return 0.0

    def _compute_nonterminals(self) -> frozenset[str]:
        """Empty non-terminals (RFC 8020): parents of existing names answer NODATA, not NXDOMAIN."""
        parents: set[str] = set()
        for name in self._records:
            while name != self.origin and "." in name:
                name = name.split(".", 1)[1]
                if name == self.origin or not self.contains(name):
                    break
                parents.add(name)
        return frozenset(parents)


def _describe(handle: int, override: DnsOverride) -> str:
    parts = [f"#{handle}", override.mode, f"rate={override.rate:g}"]
    if override.mode == "delay":
        parts.append(f"delay={override.delay:g}s jitter={override.jitter:g}s")
    if override.mode == "addresses":
        parts.append(",".join(override.addresses))
    return " ".join(parts)
