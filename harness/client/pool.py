"""Connection lifetime on the loop clock: keep-alive, max idle, max age, open-connection count.

aiohttp's own keep-alive expiry stamps connections with `time.monotonic` and ignores the loop clock
(reference/libraries.md), so under a virtual clock kept-alive connections would never expire. We
switch it off (`keepalive_timeout=None`: aiohttp then never expires a connection for idling, see
`BaseConnector._cleanup`/`_get`) and decide ourselves, on `loop.time()`:

- a connection idle for `max_idle` (default 15 s, aiohttp's and botocore/urllib3-style pools' usual
  keep-alive) or older than `max_age` is closed: exactly when the pool is next consulted
  (`_get`), and proactively by a `Sweeper` at the first 0.25 s grid point after it expires, so
  the open count and the server see it;
- a connection that reaches `max_age` while in use is retired when released (HikariCP's
  maxLifetime, Go's `SetConnMaxLifetime`): a request is never cut for age.

Private aiohttp (3.14) internals relied on, all in aiohttp/connector.py:
- `BaseConnector._conns`: dict ConnectionKey -> deque[(ResponseHandler, monotonic stamp)] of idle
  connections; we drop expired entries from it (only ever between awaits).
- `BaseConnector._get(key, traces)`: takes an idle connection; we prune before it runs.
- `BaseConnector._release(key, protocol, *, should_close=False)`: returns a connection to the pool.
- `TCPConnector._create_connection(req, traces, timeout)`: opens a new connection.
- `BaseConnector._loop`.
Public-ish: `ResponseHandler.closed`, a future resolved by `connection_lost`: it counts connections
down exactly, however they close (us, aiohttp, the server, the connector's close()).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.client_proto import ResponseHandler

from harness.scenario.strategy_spec import PoolSettings

if TYPE_CHECKING:
    from aiohttp.client_reqrep import ClientRequest, ConnectionKey
    from aiohttp.connector import Connection
    from aiohttp.tracing import Trace

SWEEP_INTERVAL = 0.25

OpenCountHandler = Callable[[int], None]


class LoopClockConnector(aiohttp.TCPConnector):
    """A TCPConnector whose connection lifetime runs on the loop clock (see module docstring).

    `on_change(open)` is called whenever the number of open connections changes.
    """

    def __init__(
        self,
        settings: PoolSettings,
        *,
        resolver: AbstractResolver,
        on_change: OpenCountHandler | None = None,
    ) -> None:
        super().__init__(
            resolver=resolver,
            use_dns_cache=False,  # DNS caching is ours (harness.client.resolver)
            limit=settings.limit,
            force_close=not settings.keep_alive,
            keepalive_timeout=None,  # aiohttp's monotonic expiry off: ours decides
            # Off: it only aborts closed TLS transports (we speak plain HTTP), and its 2 s timer
            # per connector was half a loop wake-up per attempt in a 16-host virtual run.
            enable_cleanup_closed=False,
            # aiohttp rounds timeouts >= this up to whole seconds of loop time; keep them exact.
            timeout_ceil_threshold=math.inf,
        )
        self._max_idle = settings.max_idle
        self._max_age = settings.max_age
        self._on_change = on_change
        self._born: dict[ResponseHandler, float] = {}  # open connections -> loop time opened
        self._idle_since: dict[ResponseHandler, float] = {}
        self._next_expiry = math.inf  # earliest deadline among idle connections
        self.on_expiry: Callable[[float], None] | None = None  # told when _next_expiry drops

    @property
    def open_count(self) -> int:
        """Connections whose socket is open (idle or in use)."""
        return len(self._born)

    @property
    def idle_count(self) -> int:
        return sum(len(conns) for conns in self._conns.values())

    @property
    def next_expiry(self) -> float:
        """Loop time before which no idle connection can expire (inf: none idle); may be early."""
        return self._next_expiry

    def sweep(self) -> int:
        """Close idle connections past max_idle or max_age now; returns how many were closed."""
        return self._prune(self._loop.time())

    async def _create_connection(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        proto = await super()._create_connection(req, traces, timeout)
        closed = proto.closed
        if closed is not None:  # None: already lost, aiohttp will find out and drop it
            self._born[proto] = self._loop.time()
            closed.add_done_callback(partial(self._lost, proto))
            self._changed()
        return proto

    async def _get(self, key: ConnectionKey, traces: list[Trace]) -> Connection | None:
        self._prune(self._loop.time())
        return await super()._get(key, traces)

    def _release(
        self, key: ConnectionKey, protocol: ResponseHandler, *, should_close: bool = False
    ) -> None:
        now = self._loop.time()
        born = self._born.get(protocol, now)
        if self._max_age is not None and now - born >= self._max_age:
            should_close = True
        elif not should_close:
            self._idle_since[protocol] = now
            deadline = self._deadline(born, now)
            if deadline < self._next_expiry:
                self._next_expiry = deadline
                if self.on_expiry is not None:
                    self.on_expiry(deadline)
        super()._release(key, protocol, should_close=should_close)

    def _deadline(self, born: float, idle_since: float) -> float:
        deadline = idle_since + self._max_idle
        if self._max_age is not None:
            deadline = min(deadline, born + self._max_age)
        return deadline

    def _prune(self, now: float) -> int:
        if now < self._next_expiry:
            return 0
        closed = 0
        next_expiry = math.inf
        for key in list(self._conns):
            keep: deque[tuple[ResponseHandler, float]] = deque()
            for proto, stamp in self._conns[key]:
                deadline = self._deadline(
                    self._born.get(proto, now), self._idle_since.get(proto, now)
                )
                if deadline <= now or not proto.is_connected():
                    proto.close()
                    closed += 1
                else:
                    keep.append((proto, stamp))
                    next_expiry = min(next_expiry, deadline)
            if keep:
                self._conns[key] = keep
            else:
                del self._conns[key]
        self._next_expiry = next_expiry
        return closed

    def _lost(self, proto: ResponseHandler, closed: asyncio.Future[None]) -> None:
        if not closed.cancelled():
            closed.exception()  # mark retrieved: a reset is normal here, not a loop error
        self._idle_since.pop(proto, None)
        if self._born.pop(proto, None) is not None:
            self._changed()

    def forget_closed(self) -> None:
        """Drop connections whose socket is gone but whose close callback has not run yet."""
        gone = [proto for proto in self._born if not proto.is_connected()]
        for proto in gone:
            self._idle_since.pop(proto, None)
            del self._born[proto]
        if gone:
            self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(len(self._born))


class Sweeper:
    """Sweeps connectors at the points of a grid of `interval` s of loop time from its start: one
    tracked task, stopped on close.

    It wakes only at grid points where an idle connection may have expired (each connector keeps
    its earliest idle deadline and reports a release that brings it forward), not at every
    point: in a virtual-clock run of a 16-host fleet a wake-up every 0.25 s per host was more
    loop wake-ups than attempts. Connections close at the same grid points as with a sweep at
    every point, since a sweep before a connector's earliest deadline does nothing.
    """

    def __init__(
        self, connectors: Sequence[LoopClockConnector], interval: float = SWEEP_INTERVAL
    ) -> None:
        self._connectors = tuple(connectors)
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._origin = 0.0
        self._swept = 0  # grid index of the last sweep
        self._due = 0  # grid index of the next wake-up (when _wake is pending)
        self._wake: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._origin = loop.time()
            for connector in self._connectors:
                connector.on_expiry = self._expiry_changed
            self._task = loop.create_task(self._run(), name="pool-sweeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        for connector in self._connectors:
            connector.on_expiry = None
        if self._timer is not None:
            self._timer.cancel()
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # we are being cancelled ourselves: never swallow that

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake = loop.create_future()
            self._schedule(min(c.next_expiry for c in self._connectors))
            await self._wake
            self._swept, self._timer = self._due, None
            for connector in self._connectors:
                connector.sweep()

    def _expiry_changed(self, deadline: float) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            self._schedule(deadline)

    def _schedule(self, deadline: float) -> None:
        """Wake at the grid point at or just before `deadline` (a wasted wake-up rather than a
        late sweep when float rounding straddles a point), after the last sweep; never later
        than a wake-up already set."""
        if math.isinf(deadline):
            return  # nothing idle: a release will say when
        due = max(self._swept + 1, math.floor((deadline - self._origin) / self._interval))
        timer = self._timer
        if timer is not None and not timer.cancelled() and self._due <= due:
            return
        if timer is not None:
            timer.cancel()
        wake = self._wake
        assert wake is not None
        self._due = due
        self._timer = asyncio.get_running_loop().call_at(
            self._origin + due * self._interval, _set_unless_done, wake
        )


def _set_unless_done(future: asyncio.Future[None]) -> None:
    """What asyncio.sleep's timer does: the sweeper task resumes on the next loop iteration."""
    if not future.done():
        future.set_result(None)
