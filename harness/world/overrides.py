"""The endpoint overrides active in one region, and what they do to one request or connection.

Each override fires per request (per new connection for a partial `down`) with probability
`rate`, drawn from the region's seeded rng only when 0 < rate < 1: rate 0 has no effect at all,
not even on the random stream, and rate 1 always fires. Overrides are visited in the order they
were added; when several injected errors fire, the newest wins.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.world.control import EndpointOverride
from harness.world.dynamo import DynamoError, injected


@dataclass(slots=True)
class Fired:
    """What the overrides that fired do to one request."""

    reset: bool = False
    blackhole: bool = False
    delay: float = 0.0
    error: DynamoError | None = None
    cuts: tuple[int, ...] = ()  # handles of the throttle overrides that apply


NOTHING = Fired()


class Overrides:
    def __init__(self, endpoints: int, rng: random.Random) -> None:
        self._endpoints = endpoints
        self._rng = rng
        self._active: dict[int, EndpointOverride] = {}
        self._next_handle = 0

    def __bool__(self) -> bool:
        return bool(self._active)

    def add(self, override: EndpointOverride) -> int:
        self._next_handle += 1
        self._active[self._next_handle] = override
        return self._next_handle

    def pop(self, handle: int) -> EndpointOverride | None:
        return self._active.pop(handle, None)

    def targets(self, override: EndpointOverride) -> tuple[int, ...]:
        if override.endpoints is None:
            return tuple(range(self._endpoints))
        return tuple(i for i in override.endpoints if 0 <= i < self._endpoints)

    def down_endpoints(self) -> set[int]:
        """Endpoints whose listeners a `down` override (rate 1) keeps closed."""
        down: set[int] = set()
        for override in self._active.values():
            if override.mode == "down" and override.rate >= 1:
                down.update(self.targets(override))
        return down

    def refuse(self, endpoint: int) -> bool:
        """A partial `down` (0 < rate < 1) drops that share of new connections."""
        return any(
            o.mode == "down" and 0 < o.rate < 1 and self._fires(o, endpoint)
            for o in self._active.values()
        )

    def fire(self, endpoint: int) -> Fired:
        fired = Fired()
        cuts: list[int] = []
        for handle, override in self._active.items():
            mode = override.mode
            if mode == "down" or not self._fires(override, endpoint):
                continue
            if mode == "reset":
                fired.reset = True
            elif mode == "blackhole":
                fired.blackhole = True
            elif mode == "latency":
                jitter = self._rng.uniform(0.0, override.jitter) if override.jitter > 0 else 0.0
                fired.delay += override.delay + jitter
            elif mode == "errors":
                fired.error = injected(override.status)
            elif mode == "throttle":
                cuts.append(handle)
        fired.cuts = tuple(cuts)
        return fired

    def _fires(self, override: EndpointOverride, endpoint: int) -> bool:
        if override.endpoints is not None and endpoint not in override.endpoints:
            return False
        rate = override.rate
        return rate >= 1 or (rate > 0 and self._rng.random() < rate)
