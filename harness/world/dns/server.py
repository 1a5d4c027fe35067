"""Authoritative DNS server for a `Zone`: UDP and TCP on one loopback port (wire: answers.py).

Everything runs in the event loop (a DatagramProtocol for UDP, asyncio.start_server for TCP with
RFC 1035 §4.2.2 two-byte length framing), so it works unchanged under a virtual clock. Delayed
answers are tracked tasks sleeping on the loop; `stop()` cancels them and closes every socket.
Query counters are pulled with `stats()`: no metric calls on the hot path.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from harness.errors import AddressError
from harness.netguard import require_loopback
from harness.world.dns import answers
from harness.world.dns.zone import Verdict, Zone
from harness.world.ratelog import RateLimitedLog, quiet_accept_errors
from harness.world.stats import DnsQueryCount

log = logging.getLogger(__name__)

_BIND_ATTEMPTS = 20
TCP_CONNECTION_LIMIT = 128  # concurrent DNS-over-TCP connections (BIND's tcp-clients: 150)
TCP_IDLE_TIMEOUT = 10.0  # seconds (loop clock) a TCP connection may wait for its next query
_CACHE_LIMIT = 4096
K = TypeVar("K")
V = TypeVar("V")
Reply = tuple[bytes | None, float]  # (wire answer, or None to drop; delay before sending it)


class DnsServer:
    """Serves `zone` on `host:port` over UDP and TCP. Use `async with DnsServer(...)`."""

    def __init__(
        self, zone: Zone, host: str = "127.0.0.1", port: int = 0, *, rng: random.Random
    ) -> None:
        require_loopback(host, "DNS server host")
        self.zone = zone
        self._host = "127.0.0.1" if host == "localhost" else host
        self._requested_port = port
        self._port = 0
        self._rng = rng
        self._udp: asyncio.DatagramTransport | None = None
        self._udp_closed: asyncio.Future[None] | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._counts: dict[tuple[str, str, str], int] = {}
        self._questions: dict[bytes, answers.Question] = {}
        self._answers: dict[tuple[bytes, bool, Verdict, tuple[str, ...]], tuple[bytes, str]] = {}
        self._answers_serial = -1
        self._ratelog = RateLimitedLog(log)

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port (UDP and TCP share it); 0 before start()."""
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        return (self._host, self._port)

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind TCP first, then UDP on the same port. The kernel picks a TCP port free of every
        TCP conflict (TIME_WAIT sockets included), which a port picked for UDP is not: on a busy
        machine, thousands of TIME_WAIT ports make "UDP first" fail. If the UDP port turns out
        taken, a fresh pair is tried (a bounded number of times)."""
        if self._udp is not None:
            return
        loop = asyncio.get_running_loop()
        quiet_accept_errors(loop)
        attempts = _BIND_ATTEMPTS if self._requested_port == 0 else 1
        for attempt in range(1, attempts + 1):
            tcp = await self._bind_tcp(self._requested_port)
            port = int(tcp.sockets[0].getsockname()[1])
            try:
                await self._bind_udp(loop, port)
            except AddressError:
                tcp.close()
                await tcp.wait_closed()
                if attempt == attempts:
                    raise
                continue
            self._tcp = tcp
            self._port = port
            self.zone.serve_from(self._host)
            log.debug("DNS server for %s on %s:%d", self.zone.origin, self._host, port)
            return

    async def stop(self) -> None:
        """Close every socket and cancel pending delayed answers. Idempotent."""
        if self._tcp is not None:
            self._tcp.close()
        for writer in list(self._writers):
            writer.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await self._close_udp()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._tcp is not None:
            await self._tcp.wait_closed()
            self._tcp = None

    async def __aenter__(self) -> DnsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ---- statistics ----------------------------------------------------------------------------

    def stats(self) -> list[DnsQueryCount]:
        return [DnsQueryCount(n, t, r, c) for (n, t, r), c in sorted(self._counts.items())]

    def query_count(
        self, name: str | None = None, qtype: str | None = None, rcode: str | None = None
    ) -> int:
        """Queries received matching every given label (None matches anything)."""
        return sum(
            count
            for (n, t, r), count in self._counts.items()
            if name in (None, n) and qtype in (None, t) and rcode in (None, r)
        )

    # ---- transports ----------------------------------------------------------------------------

    async def _bind_tcp(self, port: int) -> asyncio.Server:
        try:
            return await asyncio.start_server(
                self._on_tcp_connection, self._host, port, reuse_address=True
            )
        except OSError as exc:
            raise AddressError(_bind_message(self._host, port, "tcp", exc)) from exc

    async def _bind_udp(self, loop: asyncio.AbstractEventLoop, port: int) -> None:
        self._udp_closed = loop.create_future()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self._host, port)
            )
        except OSError as exc:
            self._udp_closed = None
            raise AddressError(_bind_message(self._host, port, "udp", exc)) from exc
        self._udp = transport

    async def _close_udp(self) -> None:
        if self._udp is None:
            return
        self._udp.close()
        self._udp = None
        if self._udp_closed is not None:
            await self._udp_closed  # the socket is really closed only once connection_lost ran

    def _on_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        response, delay = self.respond(data, udp=True)
        if response is None or self._udp is None:
            return
        if delay > 0:
            self._spawn(self._send_later(response, addr, delay))
        else:
            self._udp.sendto(response, addr)

    async def _send_later(self, response: bytes, addr: tuple[str, int], delay: float) -> None:
        await asyncio.sleep(delay)
        if self._udp is not None:
            self._udp.sendto(response, addr)

    def _on_tcp_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        # A plain callback, not a coroutine: the connection task is ours, so stop() can cancel it.
        if len(self._writers) >= TCP_CONNECTION_LIMIT:
            # Over the cap (BIND's tcp-clients): close at once rather than let held connections
            # use up the process's file descriptors, which would also stop HTTP accepting.
            self._ratelog.log(
                "tcp-limit",
                "DNS server: %d TCP connections open, closing new ones",
                TCP_CONNECTION_LIMIT,
            )
            writer.transport.abort()
            return
        self._writers.add(writer)
        self._spawn(self._serve_tcp(reader, writer))

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                # RFC 7766 §6.2.3: the server closes connections idle (or sending a message
                # too slowly) for too long; one deadline covers the length and the message.
                async with asyncio.timeout(TCP_IDLE_TIMEOUT):
                    head = await reader.readexactly(2)
                    data = await reader.readexactly(int.from_bytes(head, "big"))
                response, delay = self.respond(data, udp=False)
                if response is None:
                    continue
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(len(response).to_bytes(2, "big") + response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass  # the client closed the connection, or left it idle too long
        finally:
            self._writers.discard(writer)
            writer.close()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._ratelog.log("task", "DNS server task failed: %r", task.exception())

    # ---- answering -----------------------------------------------------------------------------

    def respond(self, data: bytes, *, udp: bool) -> Reply:
        """The wire answer to one query (None: send nothing) and the delay before sending it.

        Hot path: answers are cached by the query's bytes after its ID (and the zone serial and
        override verdict), so a repeated query costs two dict lookups instead of a dnslib parse.
        """
        try:
            return self._respond(data, udp)
        except Exception as exc:  # a bug must cost one SERVFAIL and one line, not the server
            self._ratelog.log("respond", "DNS server could not answer a query: %r", exc)
            self._count("other", "other", "SERVFAIL")
            return answers.servfail(data), 0.0

    def _respond(self, data: bytes, udp: bool) -> Reply:
        body = data[2:]
        question = self._questions.get(body)
        if question is None:
            parsed = answers.parse_query(data, udp=udp)
            if isinstance(parsed, answers.Rejection):
                if parsed.rcode is not None:
                    self._count("other", parsed.qtype_label, parsed.rcode)
                return parsed.wire, 0.0
            question = parsed
            _bounded_put(self._questions, body, question)
        zone = self.zone
        name = question.name
        if answers.refused(zone, question):
            self._count("other", question.qtype_label, "REFUSED")
            return answers.refuse(question, udp=udp), 0.0
        label = name if zone.tracked(name) else "other"
        decision = zone.decide(name, self._rng)
        if decision.verdict == "drop":
            self._count(label, question.qtype_label, "DROPPED")
            return None, 0.0
        if self._answers_serial != zone.serial:
            self._answers.clear()
            self._answers_serial = zone.serial
        key = (body, udp, decision.verdict, decision.addresses)
        cached = self._answers.get(key)
        if cached is None:
            wire, rcode = answers.answer(zone, question, decision, udp=udp)
            cached = (wire[2:], rcode)
            _bounded_put(self._answers, key, cached)
        self._count(label, question.qtype_label, cached[1])
        return data[:2] + cached[0], decision.delay

    def _count(self, name: str, qtype: str, rcode: str) -> None:
        key = (name, qtype, rcode)
        self._counts[key] = self._counts.get(key, 0) + 1


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self._server = server
        self._closed = server._udp_closed

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._server._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP "port unreachable" from a client that went away: nothing to do

    def connection_lost(self, exc: Exception | None) -> None:
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)


def _bounded_put(cache: dict[K, V], key: K, value: V) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()  # crude but O(1) amortised; a working set this large is not expected
    cache[key] = value


def _bind_message(host: str, port: int, proto: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"DNS server cannot bind {host}:{port}/{proto}: address already in use"
    return f"DNS server cannot bind {host}:{port}/{proto}: {exc.strerror or exc}"
