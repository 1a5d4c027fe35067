"""A region's HTTP listeners: one aiohttp low-level server, one listening socket per endpoint
address (all on one port), and the server side of connection lifetime, as a load balancer
enforces it.

Lifetime (ServerConnectionsSpec), all on the loop clock:
- idle_timeout: a kept-alive connection with no request for this long is closed (ALB's default
  idle timeout is 60 s). aiohttp's own `keepalive_timeout` does read `loop.time()` (checked in
  aiohttp 3.14's web_protocol), but it cannot tell us that *it* closed a connection, so our own
  per-connection timer closes idle connections and counts them (aiohttp's, set later, is a
  backstop).
- max_age (±10 % jitter per connection, as gRPC's MAX_CONNECTION_AGE): a connection older than
  this answers its next request with `Connection: close` and is
  then closed (Envoy's max_connection_duration). It is never closed while idle: closing an idle
  kept-alive connection races the client reusing it, which would add spurious connect errors to
  every steady state (only idle_timeout, normally far above a client's max idle, closes idle ones).
- max_requests: the response to the N-th request on a connection carries `Connection: close`
  (Envoy's max_requests_per_connection). Either makes clients reconnect and resolve DNS again.

A handler learns whether its client went away from `Connection.lost`: aiohttp's server does not
cancel handlers on disconnect (handler_cancellation=False), so work continues unless we check.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from harness.errors import AddressError
from harness.scenario.model import ServerConnectionsSpec
from harness.world.ratelog import quiet_accept_errors

_PORT_TRIES = 5


class Connection:
    """One client connection as the server sees it."""

    __slots__ = (
        "active",
        "closing",
        "endpoint",
        "idle_since",
        "lost",
        "max_age",
        "opened_at",
        "requests",
        "timer",
        "transport",
        "waiters",
    )

    def __init__(self, endpoint: int) -> None:
        self.endpoint = endpoint
        self.transport: asyncio.Transport | None = None
        self.opened_at = 0.0
        self.max_age: float | None = None
        self.idle_since = 0.0
        self.requests = 0
        self.active = 0  # requests inside the handler now (0 or 1: HTTP/1.1 answers in order)
        self.closing = False  # the server decided to close it (lifetime, drain): count once lost
        self.lost = False
        self.timer: asyncio.TimerHandle | None = None
        self.waiters: list[asyncio.Future[None]] = []

    def gone(self) -> bool:
        return self.lost

    async def wait_lost(self) -> None:
        """Return when the client goes away (or the server closes the connection)."""
        if self.lost:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        await future

    def reset(self) -> None:
        """Close at once with a TCP RST, discarding anything unsent (a connection reset fault)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


# The region's request handler: a response, or None when nothing is to be sent (reset, blackhole).
Handler = Callable[[web.BaseRequest, Connection], Awaitable[web.StreamResponse | None]]


class _HttpServer(web.Server):
    """aiohttp's low-level server, telling its owner when connections open and close."""

    def __init__(self, owner: Listeners, **kwargs: object) -> None:
        super().__init__(owner._dispatch, **kwargs)  # type: ignore[arg-type]
        self._owner = owner

    def connection_made(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._owner._opened(handler, transport)

    def connection_lost(
        self, handler: web.RequestHandler, exc: BaseException | None = None
    ) -> None:
        super().connection_lost(handler, exc)
        self._owner._closed(handler)


class Listeners:
    """Serves `handler` on every address; endpoints can be closed (down) and reopened one by one."""

    def __init__(
        self,
        addresses: tuple[str, ...],
        handler: Handler,
        lifetime: ServerConnectionsSpec,
        *,
        refuse: Callable[[int], bool] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.addresses = addresses
        self._rng = rng or random.Random(0)
        self.port = 0
        self._handler = handler
        self._lifetime = lifetime
        self._refuse = refuse  # per new connection: drop it at once (a partial `down`)
        self._http: _HttpServer | None = None
        self._servers: dict[int, asyncio.Server] = {}
        self._conns: dict[web.RequestHandler, Connection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closed_by_server_total = 0

    @property
    def connections_open(self) -> int:
        return sum(1 for conn in self._conns.values() if conn.transport is not None)

    # ---- listening sockets ---------------------------------------------------------------------

    async def start(self, port: int = 0) -> int:
        """Bind every address on one port and return it. With port 0 the first address gets a
        fresh port and the others reuse it; if one of them cannot, all are closed and another
        port is tried. A port given explicitly that is in use is an AddressError."""
        self._http = _HttpServer(
            self,
            handler_cancellation=False,
            access_log=None,
            keepalive_timeout=2 * self._lifetime.idle_timeout + 1.0,  # backstop; see module doc
        )
        quiet_accept_errors(asyncio.get_running_loop())
        tries = _PORT_TRIES if port == 0 else 1
        for attempt in range(tries):
            self.port = port
            try:
                for index in range(len(self.addresses)):
                    await self.open_endpoint(index)
                    self.port = self._bound_port(self._servers[index])
                return self.port
            except AddressError:
                await self._close_listeners()
                if attempt == tries - 1:
                    raise
        raise AssertionError("unreachable")

    async def open_endpoint(self, index: int) -> None:
        if index in self._servers:
            return
        loop = asyncio.get_running_loop()
        address = self.addresses[index]
        try:
            server = await loop.create_server(
                lambda: self._new_protocol(index), address, self.port, reuse_address=True
            )
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise AddressError(f"cannot listen on {address}:{self.port}: {reason}") from None
        self._servers[index] = server

    def close_endpoint(self, index: int) -> None:
        """Stop listening on one endpoint (connections are refused) and drop its connections."""
        server = self._servers.pop(index, None)
        if server is not None:
            server.close()  # the listening socket is closed here; nothing left to wait for
        for conn in list(self._conns.values()):
            if conn.endpoint == index and conn.transport is not None:
                conn.transport.abort()

    def drain(self, endpoints: tuple[int, ...] | None = None) -> int:
        """Close idle kept-alive connections now; returns how many."""
        closed = 0
        for conn in list(self._conns.values()):
            if endpoints is not None and conn.endpoint not in endpoints:
                continue
            if conn.active == 0 and self._close_by_server(conn):
                closed += 1
        return closed

    async def stop(self) -> None:
        """Close every listener, abandon every request in progress, close every connection."""
        servers = list(self._servers.values())
        self._servers.clear()
        for server in servers:
            server.close()
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        for conn in list(self._conns.values()):
            if conn.transport is not None:
                conn.transport.abort()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for server in servers:  # on Python ≥ 3.12 this also waits for the aborted connections
            await server.wait_closed()
        for _ in range(3):  # let aiohttp's per-connection tasks see connection_lost and end
            await asyncio.sleep(0)

    async def _close_listeners(self) -> None:
        servers = list(self._servers.values())
        self._servers.clear()
        for server in servers:
            server.close()
        for server in servers:
            await server.wait_closed()

    @staticmethod
    def _bound_port(server: asyncio.Server) -> int:
        return int(server.sockets[0].getsockname()[1])

    # ---- connections ---------------------------------------------------------------------------

    def _new_protocol(self, index: int) -> web.RequestHandler:
        assert self._http is not None
        protocol = self._http()
        self._conns[protocol] = Connection(index)
        return protocol

    def _opened(self, protocol: web.RequestHandler, transport: asyncio.Transport) -> None:
        conn = self._conns.get(protocol)
        if conn is None:
            return
        now = asyncio.get_running_loop().time()
        conn.transport = transport
        conn.opened_at = conn.idle_since = now
        if self._lifetime.max_age is not None:
            # ±10 % jitter, as gRPC's MAX_CONNECTION_AGE: connections opened together (every
            # client starts at t=0) must not all be recycled at the same instant.
            conn.max_age = self._lifetime.max_age * self._rng.uniform(0.9, 1.1)
        if self._refuse is not None and self._refuse(conn.endpoint):
            # Not at once: aiohttp starts the connection's task after this returns, and that
            # task must see the connection before it is lost.
            asyncio.get_running_loop().call_soon(transport.abort)
            return
        self._arm(conn)

    def _closed(self, protocol: web.RequestHandler) -> None:
        conn = self._conns.pop(protocol, None)
        if conn is None:
            return
        conn.lost = True
        conn.transport = None
        if conn.closing:
            self.closed_by_server_total += 1
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None
        for waiter in conn.waiters:
            if not waiter.done():
                waiter.set_result(None)
        conn.waiters.clear()

    def _close_by_server(self, conn: Connection) -> bool:
        if conn.transport is None or conn.transport.is_closing():
            return False
        conn.closing = True
        conn.transport.close()
        return True

    def _arm(self, conn: Connection) -> None:
        """One timer per connection, at its idle deadline (max age acts at response boundaries)."""
        deadline = conn.idle_since + self._lifetime.idle_timeout
        conn.timer = asyncio.get_running_loop().call_at(deadline, self._check, conn)

    def _check(self, conn: Connection) -> None:
        conn.timer = None
        if conn.lost or conn.active:
            return  # busy: _dispatch re-arms when the request is answered
        now = asyncio.get_running_loop().time()
        if now >= conn.idle_since + self._lifetime.idle_timeout:
            self._close_by_server(conn)
        else:
            self._arm(conn)

    def _expired(self, conn: Connection, now: float) -> bool:
        lifetime = self._lifetime
        if lifetime.max_requests is not None and conn.requests >= lifetime.max_requests:
            return True
        return conn.max_age is not None and now - conn.opened_at >= conn.max_age

    # ---- requests ------------------------------------------------------------------------------

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        conn = self._conns.get(request.protocol)
        if conn is None or conn.transport is None:
            return web.Response(status=500)  # the connection is already gone: nothing is sent
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        conn.requests += 1
        conn.active += 1
        try:
            response = await self._handler(request, conn)
            if response is None or conn.transport is None:
                return web.Response(status=500)  # written to a closed transport: never sent
            if self._expired(conn, asyncio.get_running_loop().time()):
                conn.closing = True
                response.force_close()  # `Connection: close`, and aiohttp closes after writing
            # Write it all now, so that "not active" below means nothing is half-written.
            try:
                await response.prepare(request)
                await response.write_eof()
            except ConnectionError:
                pass
            if not request.content.is_eof():
                # Answered before its body was read (too large, too slow): close now, rather
                # than let aiohttp read and discard the rest for its 10 s lingering time.
                conn.closing = True
                request.protocol.force_close()
            return response
        finally:
            conn.active -= 1
            conn.idle_since = asyncio.get_running_loop().time()
            if task is not None:
                self._tasks.discard(task)
            if conn.timer is None and not conn.lost and not conn.closing:
                self._arm(conn)
