"""Client-side DNS caching policies, on the loop clock (times are passed in by the resolver).

- "none": nothing is kept; every lookup goes to the wire.
- "ttl": positive answers for max(record TTL, min_ttl); NXDOMAIN/NODATA for the negative TTL
  (RFC 2308 §5: min(SOA TTL, SOA MINIMUM)); SERVFAIL and timeouts are never cached (RFC 2308 §7
  allows it, glibc/Java do not).
- "serve-stale" (RFC 8767): as "ttl", plus the last good answer stays usable for `max_stale` after
  it expired; after a failed refresh (any kind, NXDOMAIN/NODATA included: an emptied record is a
  failure here) the name is re-queried no more often than `recheck`, and stale answers are
  served with TTL `stale_ttl` (RFC 8767 §4 / §5: 30 s each, max stale 1 to 3 days).
- "pinned": the first good answer is kept forever (a client that resolves once at start-up).

Nothing here touches the network or reads a clock: `DnsResolver` drives it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from harness.scenario.strategy_spec import DnsSettings

if TYPE_CHECKING:
    from harness.client.resolver import Answer


@dataclass(slots=True)
class _Entry:
    good: Answer | None = None  # last positive answer
    expires: float = float("-inf")  # end of its freshness
    negative: Answer | None = None  # last NXDOMAIN/NODATA
    negative_expires: float = float("-inf")
    failed_at: float | None = None  # last failed refresh (serve-stale's recheck timer)


class DnsCache:
    def __init__(self, settings: DnsSettings) -> None:
        self.settings = settings
        self.mode = settings.cache
        self._entries: dict[str, _Entry] = {}

    def fresh(self, name: str, now: float) -> Answer | None:
        """A positive answer that may be used without asking (pinned: forever)."""
        entry = self._entries.get(name)
        if entry is None or entry.good is None:
            return None
        if self.mode == "pinned" or now < entry.expires:
            return entry.good
        return None

    def negative(self, name: str, now: float) -> Answer | None:
        """A cached NXDOMAIN/NODATA still within its negative TTL."""
        entry = self._entries.get(name)
        if entry is None or entry.negative is None or now >= entry.negative_expires:
            return None
        return entry.negative

    def stale(self, name: str, now: float) -> Answer | None:
        """serve-stale only: the expired last good answer, if within max_stale, with stale_ttl."""
        if self.mode != "serve-stale":
            return None
        entry = self._entries.get(name)
        if entry is None or entry.good is None:
            return None
        if now >= entry.expires + self.settings.max_stale:
            return None
        return replace(entry.good, ttl=self.settings.stale_ttl)

    def may_refresh(self, name: str, now: float) -> bool:
        """False while a failed refresh is younger than `recheck` (RFC 8767 §5 failure timer)."""
        entry = self._entries.get(name)
        if entry is None or entry.failed_at is None:
            return True
        return now >= entry.failed_at + self.settings.recheck

    def store(self, answer: Answer, now: float) -> None:
        """Keep an answer from the wire (positive, or NXDOMAIN/NODATA) as the mode says."""
        if self.mode == "none":
            return
        if answer.ok:
            entry = self._entries.setdefault(answer.name, _Entry())
            entry.good = answer
            entry.expires = now + max(answer.ttl, self.settings.min_ttl)
            entry.negative = None
            entry.failed_at = None
            return
        if self.mode == "pinned":
            return  # nothing pinned yet: ask again next time
        entry = self._entries.setdefault(answer.name, _Entry())
        entry.failed_at = now
        if answer.ttl > 0:  # RFC 2308 §5: no SOA in authority, no negative caching
            entry.negative = answer
            entry.negative_expires = now + answer.ttl

    def failed(self, name: str, now: float) -> None:
        """A lookup got no usable answer (SERVFAIL, timeout): start the recheck timer."""
        if self.mode == "serve-stale":
            self._entries.setdefault(name, _Entry()).failed_at = now

    def forget(self, name: str | None = None) -> None:
        """Flush one name, or everything ("flush your DNS caches", AWS Health, 2025-10-20 03:35)."""
        if name is None:
            self._entries.clear()
        else:
            self._entries.pop(name, None)
