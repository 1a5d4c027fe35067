"""In-memory fakes of the world's control protocols (harness.world.control), for fault and
automation tests. They follow the contracts (newest override that fires wins, idempotent removal)
and log every change with the loop time, so tests can check *when* things happened."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from harness.world.control import DnsOverride, EndpointOverride


def _now() -> float:
    return asyncio.get_running_loop().time()


class FakeZone:
    def __init__(self, records: dict[str, tuple[str, ...]] | None = None) -> None:
        self.records: dict[str, tuple[str, ...]] = dict(records or {})
        self.overrides: dict[int, tuple[str, DnsOverride]] = {}
        self.changes: list[tuple[float, str, str]] = []  # (loop time, change, name)
        self._next = 1

    def names(self) -> tuple[str, ...]:
        return tuple(self.records)

    def addresses(self, name: str) -> tuple[str, ...] | None:
        return self.records.get(name)

    def set_addresses(self, name: str, addresses: tuple[str, ...]) -> None:
        self.records[name] = addresses
        self.changes.append((_now(), "set", name))

    def empty(self, name: str) -> None:
        self.records[name] = ()
        self.changes.append((_now(), "empty", name))

    def delete(self, name: str) -> None:
        self.records.pop(name, None)
        self.changes.append((_now(), "delete", name))

    def add_override(self, name: str, override: DnsOverride) -> int:
        handle, self._next = self._next, self._next + 1
        self.overrides[handle] = (name, override)
        self.changes.append((_now(), f"override_added:{override.mode}", name))
        return handle

    def remove_override(self, handle: int) -> None:
        entry = self.overrides.pop(handle, None)
        if entry is not None:
            self.changes.append((_now(), f"override_removed:{entry[1].mode}", entry[0]))

    def active(self, name: str) -> list[DnsOverride]:
        return [o for n, o in self.overrides.values() if n == name]

    def answer(self, name: str, rng: random.Random) -> tuple[str, tuple[str, ...]]:
        """What a query would get: newest override that fires wins, else the record."""
        for handle in sorted(self.overrides, reverse=True):
            target, override = self.overrides[handle]
            if target == name and rng.random() < override.rate:
                return override.mode, override.addresses
        addresses = self.records.get(name)
        if addresses is None:
            return "nxdomain", ()
        return ("ok", addresses) if addresses else ("nodata", ())


class FakeRegion:
    def __init__(self, name: str, endpoints: int = 3, azs: tuple[str, ...] = ()) -> None:
        self.name = name
        self._addresses = tuple(f"127.0.10.{i + 1}" for i in range(endpoints))
        self._azs = azs or tuple(f"{name}-az{i + 1}" for i in range(min(3, endpoints)))
        self.overrides: dict[int, EndpointOverride] = {}
        self.drains: list[tuple[int, ...] | None] = []
        self.idle_connections = 5
        self.block_drain: asyncio.Event | None = None  # set: drain waits for it
        self._next = 1

    def endpoint_addresses(self) -> tuple[str, ...]:
        return self._addresses

    def endpoints_in_az(self, az: str) -> tuple[int, ...]:
        azs = self._azs
        return tuple(i for i in range(len(self._addresses)) if azs[i % len(azs)] == az)

    def add_override(self, override: EndpointOverride) -> int:
        handle, self._next = self._next, self._next + 1
        self.overrides[handle] = override
        return handle

    async def remove_override(self, handle: int) -> None:
        await asyncio.sleep(0)  # the real one may re-bind listeners
        self.overrides.pop(handle, None)

    async def drain(self, endpoints: tuple[int, ...] | None = None) -> int:
        if self.block_drain is not None:
            await self.block_drain.wait()
        self.drains.append(endpoints)
        closed, self.idle_connections = self.idle_connections, 0
        return closed


class FakeReplication:
    def __init__(self) -> None:
        self.pauses: dict[int, tuple[str | None, str | None]] = {}
        self._next = 1

    def pause(self, source: str | None, destination: str | None) -> int:
        handle, self._next = self._next, self._next + 1
        self.pauses[handle] = (source, destination)
        return handle

    def resume(self, handle: int) -> None:
        self.pauses.pop(handle, None)


@dataclass
class FakeAutomation:
    """AutomationControl without a Planner: records what the race fault asks of it."""

    region: str = "us-east-1"
    enactors: tuple[str, ...] = ("enactor-a", "enactor-b", "enactor-c")
    inconsistent: bool = False
    stalls: list[tuple[str, float, float]] = field(default_factory=list)
    cleared: int = 0
    fixes: list[float] = field(default_factory=list)

    def stall(self, enactor: str, at: float, duration: float) -> None:
        self.stalls.append((enactor, at, duration))

    def clear_stall(self) -> None:
        self.cleared += 1

    def manual_fix(self) -> bool:
        self.fixes.append(_now())
        was, self.inconsistent = self.inconsistent, False
        return was

    def race_report(self, origin: float = 0.0) -> dict[str, Any]:
        return {"fixes": [t - origin for t in self.fixes]}


class FakeWorld:
    def __init__(
        self,
        regions: tuple[str, ...] = ("us-east-1", "us-west-2"),
        *,
        replication: bool = True,
        automation: Any = None,
    ) -> None:
        self.regions = {name: FakeRegion(name) for name in regions}
        self.zone = FakeZone(
            {self.dns_name(n): r.endpoint_addresses() for n, r in self.regions.items()}
        )
        self.replication = FakeReplication() if replication else None
        self.automation = automation

    def dns_name(self, region: str) -> str:
        return f"dynamodb.{region}.aws.test"

    def region(self, name: str) -> FakeRegion:
        return self.regions[name]
