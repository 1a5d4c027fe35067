"""One service in one region: its HTTP listeners, capacity and service time (as a region has), its
dependencies, and its behaviour by kind.

A request's life, on the loop clock: rtt/2 -> admission (capacity; full: 429) -> service time ->
each per-request call in order, through the service's own client (a failed one: 503 naming it) ->
the kind's answer -> rtt/2, the rtt between the caller's region and this one (world.network).
`plain` answers 200; `token` issues a token valid for `token.ttl`; `lease` answers 200 for the
lease a key maps to while it is held, 503 `LeaseExpired` otherwise.
A scheduled call (`every: <duration>`) runs in the background; while the latest one failed, the
service answers 503 too (it serves from what that call refreshes).
"""

from __future__ import annotations

import asyncio
import json
import random
import zlib
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from harness.client.api import AttemptResult
from harness.client.service_transport import REGION_HEADER
from harness.clock import Clock
from harness.outcomes import Outcome
from harness.scenario.model import RegionSpec, ServerConnectionsSpec
from harness.scenario.service_spec import DYNAMODB, CallSpec, ServiceSpec
from harness.services.caller import Caller
from harness.services.leases import LeaseManager
from harness.world.capacity import Admission, Capacity
from harness.world.endpoint import Connection, Listeners
from harness.world.network import CALLER_HEADER, OneWayDelay

LEASE_RENEWAL = CallSpec(to=DYNAMODB, op="put")


class ServiceInstance:
    def __init__(
        self,
        spec: ServiceSpec,
        region: RegionSpec,
        addresses: tuple[str, ...],
        *,
        clock: Clock,
        rng: random.Random,
        rtt_from: Mapping[str, float] | None = None,
    ) -> None:
        """`rtt_from`: caller region -> round trip (harness.world.network); default `region.rtt`."""
        self.spec = spec
        self.region = region.name
        self.addresses = addresses
        self._caller: Caller | None = None
        self._clock = clock
        self._rng = rng
        self._one_way = OneWayDelay(region.rtt, 0.0, None, rtt_from).sample
        self.capacity = Capacity(spec.capacity.concurrency, spec.capacity.queue)
        self._listeners = Listeners(
            addresses,
            self._handle,
            ServerConnectionsSpec(),
            rng=random.Random(rng.getrandbits(64)),
        )
        self._per_request = tuple(c for c in spec.calls if not c.scheduled)
        self._scheduled = tuple(c for c in spec.calls if c.scheduled)
        self.leases = (
            LeaseManager(
                spec.lease, self._renew_lease, clock=clock, rng=random.Random(rng.random())
            )
            if spec.kind == "lease"
            else None
        )
        self._stale: dict[int, str] = {}  # scheduled call index -> why its latest run failed
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests: Counter[str] = Counter()  # outcome -> count
        self.calls: Counter[tuple[str, str]] = Counter()  # (target, outcome) -> count
        self.bins: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])  # second -> [n, ok]
        self.samples: dict[int, float] = {}  # second -> leases held, or 1/0 healthy (see _sample)
        # callee node ("dynamodb@us-east-1", "auth@global") -> second -> [calls, ok]
        self.call_bins: defaultdict[str, defaultdict[int, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0])
        )

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def port(self) -> int:
        return self._listeners.port

    # ---- lifecycle -----------------------------------------------------------------------------

    async def listen(self, port: int) -> int:
        """Listen on every endpoint address on `port` (0: a free one); returns the port."""
        return await self._listeners.start(port)

    async def begin(self, caller: Caller) -> None:
        """Start its own client and its background work (scheduled calls, leases)."""
        self._caller = caller
        calls = (*self.spec.calls, *((LEASE_RENEWAL,) if self.leases is not None else ()))
        await caller.start(calls)
        loop = asyncio.get_running_loop()
        for index, call in enumerate(self._scheduled):
            self._spawn(loop, self._schedule(index, call))
        if self.leases is not None:
            self._spawn(loop, self.leases.run())
        if self.leases is not None or self._scheduled:
            self._spawn(loop, self._sample())

    def _spawn(self, loop: asyncio.AbstractEventLoop, coro: Any) -> None:
        task = loop.create_task(coro, name=f"service {self.name}@{self.region}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._listeners.stop()
        if self._caller is not None:
            await self._caller.close()

    # ---- background work -----------------------------------------------------------------------

    async def _schedule(self, index: int, call: CallSpec) -> None:
        assert not isinstance(call.every, str)
        # Spread the first run over one period: instances started together must not beat in step.
        await asyncio.sleep(self._rng.uniform(0, call.every))
        assert self._caller is not None
        while True:
            done = await self._caller.call(call, f"{self.name}:refresh")
            self._count_call(call.to, done.result)
            if done.result.outcome is Outcome.OK:
                self._stale.pop(index, None)
            else:
                self._stale[index] = f"{call.to}: {done.result.outcome.value}"
            await asyncio.sleep(call.every)

    async def _renew_lease(self, lease: int) -> bool:
        assert self._caller is not None
        done = await self._caller.call(LEASE_RENEWAL, f"{self.name}:lease:{lease}")
        self._count_call(DYNAMODB, done.result)
        return done.result.outcome is Outcome.OK

    def _count_call(self, target: str, result: AttemptResult) -> None:
        self.calls[(target, result.outcome.value)] += 1
        tally = self.call_bins[f"{target}@{result.region}"][int(self._clock.now())]
        tally[0] += 1
        tally[1] += result.outcome is Outcome.OK

    async def _sample(self) -> None:
        """Once a second: the share of leases held, or 1/0 for whether the latest scheduled
        calls succeeded (what the service would answer with, asked or not)."""
        while True:
            self.samples[int(self._clock.now())] = self.health()
            await asyncio.sleep(1.0)

    def health(self) -> float:
        if self.leases is not None:
            stats = self.leases.stats()
            return stats.valid / stats.count
        return 0.0 if self._stale else 1.0

    # ---- requests ------------------------------------------------------------------------------

    async def _handle(
        self, request: web.BaseRequest, conn: Connection
    ) -> web.StreamResponse | None:
        key = _key(await request.read())
        half_rtt = self._one_way(request.headers.get(CALLER_HEADER))
        if half_rtt > 0:
            await asyncio.sleep(half_rtt)
        status, payload = await self._serve(key, conn)
        if half_rtt > 0:
            await asyncio.sleep(half_rtt)
        if conn.lost:
            return None
        outcome = "ok" if status == 200 else str(payload.get("error", "error"))
        self.requests[outcome] += 1
        tally = self.bins[int(self._clock.now())]
        tally[0] += 1
        tally[1] += status == 200
        return web.json_response(payload, status=status, headers={REGION_HEADER: self.region})

    async def _serve(self, key: str, conn: Connection) -> tuple[int, dict[str, Any]]:
        admission = await self.capacity.acquire(conn.gone)
        if admission is not Admission.ADMITTED:
            return 429, {"error": "Throttled", "detail": f"{self.name} over capacity"}
        try:
            service = self.spec.service_time.sample(self._rng)
            if service > 0:
                await asyncio.sleep(service)
            for call in self._per_request:
                assert self._caller is not None
                done = await self._caller.call(call, key)
                outcome = done.result.outcome
                self._count_call(call.to, done.result)
                if outcome is not Outcome.OK:
                    return 503, _failed(f"{call.to}: {outcome.value}")
        finally:
            self.capacity.release()
        if self._stale:
            return 503, _failed(next(iter(self._stale.values())))
        if self.leases is not None:
            lease = zlib.crc32(key.encode()) % self.spec.lease.count
            if not self.leases.valid(lease):
                return 503, {"error": "LeaseExpired", "detail": f"lease {lease} is not held"}
        if self.spec.kind == "token":
            return 200, {"token": f"{self.name}-{self.region}", "expires_in": self.spec.token.ttl}
        return 200, {"ok": True}


def _failed(detail: str) -> dict[str, Any]:
    return {"error": "DependencyFailed", "detail": detail}


def _key(body: bytes) -> str:
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        return ""
    return str(parsed.get("key", "")) if isinstance(parsed, dict) else ""
