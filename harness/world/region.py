"""One region: its endpoints (listeners), capacity, items, and the faults acting on them.

A request's life, all on the loop clock:
    rtt/2 (+ injected latency)  ->  admission (capacity)  ->  service time  ->  op on the store  ->
    rtt/2  ->  response
The rtt is the caller region's (harness.world.network). Half the round trip is spent before
admission and half after service, so the latency a client sees is rtt + queueing + service
time, and the queue holds only work that has reached the server. With `rtt_jitter`, each half is
drawn per trip (network.py): real networks desynchronize clients.
Faults (EndpointOverride) are drawn once per request, in the order they were added: reset and
blackhole act first (the request never reaches capacity), injected errors answer after the first
half of the rtt without using capacity, throttle cuts apply at admission.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from harness.errors import HarnessError
from harness.events import EventBus
from harness.netguard import require_loopback
from harness.scenario.model import RegionSpec
from harness.world.capacity import Admission, Capacity
from harness.world.control import EndpointOverride
from harness.world.dynamo import (
    DynamoError,
    body_timeout,
    body_too_large,
    decode,
    execute,
    operation,
    respond,
    throttled,
)
from harness.world.endpoint import Connection, Listeners
from harness.world.network import CALLER_HEADER, OneWayDelay
from harness.world.overrides import NOTHING, Overrides
from harness.world.replication import Replicator
from harness.world.stats import RegionStats
from harness.world.store import Item, Key, Record, Store


@dataclass(frozen=True, slots=True)
class EndpointChanged:
    """An override was added or removed, or connections were drained, at loop time `at`."""

    region: str
    change: str  # "override_added" | "override_removed" | "drained"
    detail: str
    at: float


class Region:
    """Implements harness.world.control.RegionControl."""

    def __init__(
        self,
        spec: RegionSpec,
        addresses: tuple[str, ...],
        *,
        rng: random.Random,
        replicator: Replicator | None = None,
        bus: EventBus | None = None,
        rtt_from: Mapping[str, float] | None = None,
    ) -> None:
        """`rtt_from`: caller region -> round trip (harness.world.network); default `spec.rtt`."""
        if len(addresses) != spec.endpoints:
            raise HarnessError(
                f"region {spec.name}: {spec.endpoints} endpoints, {len(addresses)} addresses"
            )
        for address in addresses:
            require_loopback(address, f"endpoint address of region {spec.name}")
        self.spec = spec
        self.name = spec.name
        self._rng = rng
        self._bus = bus
        self.store = Store(spec.name)
        self._items = _RegionItems(spec.name, self.store, replicator)
        if replicator is not None:
            replicator.attach(spec.name, self.store)
        self.capacity = Capacity(
            spec.capacity.concurrency,
            spec.capacity.queue,
            discipline=spec.queue_discipline,
            drop_abandoned=spec.drop_abandoned,
        )
        self._overrides = Overrides(spec.endpoints, rng)
        self._listeners = Listeners(
            addresses,
            self._handle,
            spec.connections,
            refuse=self._overrides.refuse,
            rng=random.Random(rng.getrandbits(64)),
        )
        self._one_way = OneWayDelay(
            spec.rtt,
            spec.rtt_jitter,
            # drawn only when used, so regions without jitter keep their random streams
            random.Random(rng.getrandbits(64)) if spec.rtt_jitter > 0 else None,
            rtt_from,
        ).sample
        self._running = False
        self._requests = 0
        self._served = 0
        self._errors = 0
        self._throttled_injected = 0
        self._abandoned = 0

    # ---- lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._listeners.port

    async def start(self, port: int = 0) -> int:
        """Listen on every endpoint address, all on one port; returns the port."""
        if self._running:
            return self.port
        bound = await self._listeners.start(port)
        self._running = True
        for index in self._overrides.down_endpoints():
            self._listeners.close_endpoint(index)
        return bound

    async def stop(self) -> None:
        """Close listeners and connections, abandon requests in progress. Idempotent."""
        self._running = False
        await self._listeners.stop()

    async def __aenter__(self) -> Region:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- RegionControl -------------------------------------------------------------------------

    def endpoint_addresses(self) -> tuple[str, ...]:
        return self._listeners.addresses

    def endpoints_in_az(self, az: str) -> tuple[int, ...]:
        return tuple(i for i in range(self.spec.endpoints) if self.spec.az_of(i) == az)

    def add_override(self, override: EndpointOverride) -> int:
        handle = self._overrides.add(override)
        if override.mode == "throttle" and override.rate > 0:
            self.capacity.add_cut(handle, override.fraction)
        if override.mode == "down" and override.rate >= 1 and self._running:
            for index in self._overrides.targets(override):
                self._listeners.close_endpoint(index)
        self._emit(
            "override_added", f"{override.mode} handle={handle} endpoints={override.endpoints}"
        )
        return handle

    async def remove_override(self, handle: int) -> None:
        override = self._overrides.pop(handle)
        if override is None:
            return
        if override.mode == "throttle":
            self.capacity.remove_cut(handle)
        if override.mode == "down" and self._running:
            still_down = self._overrides.down_endpoints()
            for index in self._overrides.targets(override):
                if index not in still_down:
                    await self._listeners.open_endpoint(index)
        self._emit("override_removed", f"{override.mode} handle={handle}")

    async def drain(self, endpoints: tuple[int, ...] | None = None) -> int:
        closed = self._listeners.drain(endpoints)
        self._emit("drained", f"{closed} connections endpoints={endpoints}")
        return closed

    def stats(self) -> RegionStats:
        concurrency, queue_limit = self.capacity.limits()
        return RegionStats(
            region=self.name,
            concurrency=concurrency,
            queue_limit=queue_limit,
            in_flight=self.capacity.in_service,
            queued=self.capacity.queued,
            served_total=self._served,
            throttled_total=self.capacity.throttled_total + self._throttled_injected,
            errors_total=self._errors,
            abandoned_total=self._abandoned,
            dropped_abandoned_total=self.capacity.dropped_total,
            connections_open=self._listeners.connections_open,
            connections_closed_by_server_total=self._listeners.closed_by_server_total,
        )

    def _emit(self, change: str, detail: str) -> None:
        if self._bus is not None and self._bus.wants(EndpointChanged):
            now = asyncio.get_running_loop().time()
            self._bus.emit(EndpointChanged(self.name, change, detail, now))

    # ---- requests ------------------------------------------------------------------------------

    async def _handle(
        self, request: web.BaseRequest, conn: Connection
    ) -> web.StreamResponse | None:
        self._requests += 1
        request_id = f"{self.name}-{self._requests:010d}"
        try:
            body = await _read_body(request)
        except DynamoError as error:
            # Answered at once, before any fault or capacity: the front end refuses it. The
            # connection is closed after it: what is left of the body cannot be trusted.
            response = respond(
                error.status, error.payload(), region=self.name, request_id=request_id
            )
            response.force_close()
            return response
        fired = self._overrides.fire(conn.endpoint) if self._overrides else NOTHING
        if fired.reset:
            conn.reset()
            return None
        if fired.blackhole:
            await conn.wait_lost()  # or until stop() cancels us
            self._abandoned += 1
            return None
        caller = request.headers.get(CALLER_HEADER)
        delay = self._one_way(caller) + fired.delay
        if delay > 0:
            await asyncio.sleep(delay)
        version: float | None = None
        payload: dict[str, Any]
        try:
            if fired.error is not None:
                raise fired.error
            if request.method == "GET" and request.path == "/health":
                status, payload = 200, {"status": "ok", "region": self.name}
            else:
                status, payload, version = await self._serve(request, body, conn, fired.cuts)
        except DynamoError as error:
            status, payload = error.status, error.payload()
            if error.code == "ThrottlingException":
                self._throttled_injected += 1
        except _Abandoned:
            self._abandoned += 1
            return None
        back = self._one_way(caller)
        if back > 0:
            await asyncio.sleep(back)
        if conn.lost:
            self._abandoned += 1
            return None
        if status == 200:
            self._served += 1
        elif status >= 500:
            self._errors += 1
        return respond(status, payload, region=self.name, request_id=request_id, version=version)

    async def _serve(
        self, request: web.BaseRequest, body: bytes, conn: Connection, cuts: tuple[int, ...]
    ) -> tuple[int, dict[str, Any], float | None]:
        op = operation(request.headers.get("X-Amz-Target"))
        payload = decode(body)
        admission = await self.capacity.acquire(conn.gone, cuts)
        if admission is Admission.THROTTLED:
            raise throttled()
        if admission is Admission.DROPPED:
            raise _Abandoned
        try:
            service = self.spec.service_time.sample(self._rng)
            if service > 0:
                await asyncio.sleep(service)
            address = f"{self._listeners.addresses[conn.endpoint]}:{self.port}"
            result = execute(op, payload, self._items, region=self.name, address=address)
        finally:
            self.capacity.release()
        return 200, result.payload, result.version


MAX_BODY_BYTES = 1024 * 1024  # aiohttp's client_max_size: bounds the memory one request holds
BODY_TIMEOUT = 10.0  # seconds (loop clock) for a request's body to arrive once its headers have


async def _read_body(request: web.BaseRequest) -> bytes:
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        raise body_too_large(declared, MAX_BODY_BYTES)  # refused unread
    try:
        if request.content.is_eof():  # the whole body is here: reading it never waits
            return await request.read()
        async with asyncio.timeout(BODY_TIMEOUT):
            return await request.read()
    except TimeoutError:
        raise body_timeout(BODY_TIMEOUT) from None
    except web.HTTPRequestEntityTooLarge:  # chunked: no length declared, over the limit read
        raise body_too_large(None, MAX_BODY_BYTES) from None


class _Abandoned(Exception):
    """Queued work skipped because its client had gone (drop_abandoned)."""


class _RegionItems:
    """The store as ops see it: writes get this region's versions and are replicated; reads are
    checked for staleness against the newest write anywhere."""

    def __init__(self, region: str, store: Store, replicator: Replicator | None) -> None:
        self._region = region
        self._store = store
        self._replicator = replicator
        self._seq = 0

    def read(self, table: str, key: Key) -> Record | None:
        record = self._store.get(table, key)
        if self._replicator is not None:
            self._replicator.on_read(self._region, table, key, record)
        return record

    def write(self, table: str, key: Key, item: Item | None) -> Record | None:
        now = asyncio.get_running_loop().time()
        self._seq += 1
        record = Record(item, (now, self._region, self._seq))
        record.seen_at[self._region] = record.stamp
        _, other = self._store.apply(table, key, record)
        if self._replicator is not None:
            self._replicator.on_write(self._region, table, key, record)
        return other

    def keys_with(self, table: str, part: tuple[str, str, str]) -> list[Key]:
        return self._store.keys_with(table, part)

    def declared_key(self, table: str) -> tuple[str, ...] | None:
        return self._store.declared_key(table)

    def create_table(self, table: str, key_names: tuple[str, ...]) -> None:
        self._store.create_table(table, key_names)
