"""DNS faults: one DnsOverride on a region's endpoint name (harness.world.control.DnsOverride).

A target's `endpoints` or `az` narrow nothing here: a DNS answer is for the whole name, so the
override covers the region's name as a whole. Only dns.wrong_address uses them, to replace just
those endpoints' addresses in the answer.
"""

from __future__ import annotations

import asyncio
import math
from abc import abstractmethod
from typing import Any, TypeVar

from harness.faults.base import (
    Background,
    FaultContext,
    FaultError,
    FaultUnit,
    Targeted,
    sleep_until,
    target_dns_names,
    target_endpoints,
)
from harness.faults.world_api import FaultWorld
from harness.scenario.fault_spec import (
    DnsFlap,
    DnsNodata,
    DnsNxdomain,
    DnsServfail,
    DnsSlow,
    DnsTimeout,
    DnsWrongAddress,
)
from harness.world.control import DnsMode, DnsOverride

T = TypeVar("T", bound=Targeted)


class _OverrideFault(FaultUnit[T]):
    """Install one override on apply, remove it on revert."""

    def __init__(self, spec: T, ctx: FaultContext) -> None:
        super().__init__(spec, ctx)
        self._handle: int | None = None
        self._more: list[int] = []  # a global service's global name, besides its regional one

    @abstractmethod
    def override(self, world: FaultWorld) -> DnsOverride: ...

    async def apply(self, world: FaultWorld) -> None:
        first, *more = target_dns_names(world, self.spec.target)
        self._handle = world.zone.add_override(first, self.override(world))
        self._more = [world.zone.add_override(name, self.override(world)) for name in more]

    async def revert(self, world: FaultWorld) -> None:
        handle, self._handle = self._handle, None
        more, self._more = self._more, []
        for extra in more:
            world.zone.remove_override(extra)
        if handle is not None:
            world.zone.remove_override(handle)


class DnsNodataFault(_OverrideFault[DnsNodata]):
    spec_type = DnsNodata
    client_sees = (
        "NOERROR with an empty answer (SOA in authority): the name exists but has no address; "
        "negative-cached for the SOA minimum (dns.negative_ttl)"
    )

    def override(self, world: FaultWorld) -> DnsOverride:
        return DnsOverride("nodata", rate=self.spec.rate)


class DnsNxdomainFault(_OverrideFault[DnsNxdomain]):
    spec_type = DnsNxdomain
    client_sees = "NXDOMAIN: the name does not exist; negative-cached like NODATA (RFC 2308)"

    def override(self, world: FaultWorld) -> DnsOverride:
        return DnsOverride("nxdomain", rate=self.spec.rate)


class DnsServfailFault(_OverrideFault[DnsServfail]):
    spec_type = DnsServfail
    client_sees = "SERVFAIL (rcode 2): the lookup fails at once; nothing is cached"

    def override(self, world: FaultWorld) -> DnsOverride:
        return DnsOverride("servfail", rate=self.spec.rate)


class DnsTimeoutFault(_OverrideFault[DnsTimeout]):
    spec_type = DnsTimeout
    client_sees = "no reply at all: every lookup waits for the client's DNS timeout"

    def override(self, world: FaultWorld) -> DnsOverride:
        return DnsOverride("drop", rate=self.spec.rate)


class DnsSlowFault(_OverrideFault[DnsSlow]):
    spec_type = DnsSlow
    client_sees = "the right answer, late: delay + uniform(0, jitter) on every new resolution"
    attribute_docs = {"delay": "Added before the answer.", "jitter": "Plus uniform(0, jitter)."}

    def override(self, world: FaultWorld) -> DnsOverride:
        spec = self.spec
        return DnsOverride("delay", rate=spec.rate, delay=spec.delay, jitter=spec.jitter)


class DnsWrongAddressFault(_OverrideFault[DnsWrongAddress]):
    spec_type = DnsWrongAddress
    client_sees = (
        "a valid answer pointing at a loopback address where nothing listens: connection "
        "refused (with target endpoints/az: only those endpoints' addresses are replaced)"
    )
    attribute_docs = {"address": "Loopback address put in the answer."}

    def override(self, world: FaultWorld) -> DnsOverride:
        spec = self.spec
        if spec.target.endpoints is None and spec.target.az is None:
            return DnsOverride("addresses", rate=spec.rate, addresses=(spec.address,))
        region = world.region(spec.target.region)
        chosen = set(target_endpoints(region, spec.target) or ())
        answer = [
            spec.address if i in chosen else address
            for i, address in enumerate(region.endpoint_addresses())
        ]
        return DnsOverride("addresses", rate=spec.rate, addresses=tuple(dict.fromkeys(answer)))


_FLAP_MODES: dict[str, DnsMode] = {
    "nodata": "nodata",
    "nxdomain": "nxdomain",
    "servfail": "servfail",
    "timeout": "drop",
}


class DnsFlapFault(_OverrideFault[DnsFlap]):
    """`mode` on for period/2 from `at`, off for period/2, and so on, on the loop clock."""

    spec_type = DnsFlap
    client_sees = (
        "`mode` answers for half of each period and normal answers for the other half, "
        "from `at` on: caches and breakers see the name come and go"
    )
    attribute_docs = {"mode": "What the name answers while on.", "period": "One on + off cycle."}

    def __init__(self, spec: DnsFlap, ctx: FaultContext) -> None:
        super().__init__(spec, ctx)
        self._task = Background()
        self.on_phases = 0

    def override(self, world: FaultWorld) -> DnsOverride:
        return DnsOverride(_FLAP_MODES[self.spec.mode], rate=self.spec.rate)

    async def apply(self, world: FaultWorld) -> None:
        if not self.spec.period > 0:
            raise FaultError("dns.flap needs a period > 0")
        name = world.dns_name(self.spec.target.region)
        cycle, on = self._position()
        if on:
            self._on(world, name)  # the first phase is in place when apply returns
        label = f"dns.flap:{self.spec.target.label()}"
        self._task.start(self._alternate(world, name, cycle if on else cycle + 1), name=label)

    def _position(self) -> tuple[int, bool]:
        """Current cycle and whether it is in its `on` half. Phases count from the scheduled
        start, so a late apply does not shift them."""
        period = self.spec.period
        anchor = self.ctx.start + self.spec.at
        now = asyncio.get_running_loop().time()
        cycle = max(0, math.floor((now - anchor) / period))
        return cycle, now < anchor + cycle * period + period / 2

    async def _alternate(self, world: FaultWorld, name: str, cycle: int) -> None:
        period = self.spec.period
        anchor = self.ctx.start + self.spec.at
        while True:
            on_at = anchor + cycle * period
            await sleep_until(on_at)
            self._on(world, name)
            await sleep_until(on_at + period / 2)
            self._off(world)
            cycle += 1

    def _on(self, world: FaultWorld, name: str) -> None:
        if self._handle is None:
            self._handle = world.zone.add_override(name, self.override(world))
            self.on_phases += 1

    def _off(self, world: FaultWorld) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            world.zone.remove_override(handle)

    async def revert(self, world: FaultWorld) -> None:
        await self._task.stop()
        await super().revert(world)

    def details(self) -> dict[str, Any]:
        return {"on_phases": self.on_phases}
