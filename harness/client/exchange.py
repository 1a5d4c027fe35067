"""One HTTP/1.1 POST on aiohttp's connection pool and response parser, without a ClientSession.

Why: `ClientSession.post` builds, per call, a ClientRequest (headers merged and validated again),
a StreamWriter, a body-writer task (one more task per request on Python 3.11) and a
ClientResponse. The harness sends small POSTs whose headers are fixed per route and operation, so
it builds the request head once and writes head and body in one call. Measured on one client core
(bench/client_rps.py): a closed loop of POSTs costs ~150 µs of client CPU per request through
`ClientSession.post` and ~65 µs here.

What stays aiohttp's: the connector (its pool and limit, DNS through our resolver, the connect
timeout, our loop-clock keep-alive in harness.client.pool), the `ResponseHandler` protocol and its
C HTTP parser, the payload stream and every exception, so `classify_exception` sees the errors it
saw before. What is ours: the request bytes (checked byte for byte against what ClientSession
sends, tests/test_exchange.py), waiting for the response, and handing the connection back as
ClientResponse does (released when the body is read and the server did not ask to close, closed
on any error or cancellation).

aiohttp internals used (3.14): `BaseConnector.connect(req, traces, timeout)` with a template
`ClientRequest` (it reads the connection key, host, port and TLS settings), `Connection.protocol`,
`ResponseHandler.set_response_params` and `read()`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp.client_exceptions import ClientConnectionResetError
from multidict import CIMultiDictProxy
from yarl import URL

# Headers ClientSession adds when they are missing (and where it adds them in the head): a head
# that carries them all is sent by ClientSession exactly as given, then Content-Length, then
# "Connection: close" on a pool without keep-alive.
REQUIRED_HEADERS = ("Host", "Content-Type", "Accept", "Accept-Encoding", "User-Agent")
READ_BUFSIZE = 2**16  # ClientSession's default read_bufsize


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A POST's request line and headers, built once: `render(body)` adds Content-Length."""

    prefix: bytes  # up to and including "Content-Length: "
    suffix: bytes  # after the length's digits, through the blank line

    @classmethod
    def build(cls, path: str, headers: Mapping[str, str], *, keep_alive: bool) -> RequestHead:
        missing = [name for name in REQUIRED_HEADERS if not _has(headers, name)]
        if missing:
            raise ValueError(f"request head lacks {', '.join(missing)}")
        if not path.startswith("/") or any(c.isspace() or not c.isprintable() for c in path):
            raise ValueError(f"request path {path!r} is not an origin-form target")
        lines = [f"POST {path} HTTP/1.1"]
        for name, value in headers.items():
            if any(c in f"{name}{value}" for c in "\r\n\0") or ":" in name:
                raise ValueError(f"header {name!r} is not a valid HTTP header line")
            lines.append(f"{name}: {value}")
        prefix = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        suffix = b"\r\n" if keep_alive else b"\r\nConnection: close\r\n"
        return cls(prefix, suffix + b"\r\n")

    def render(self, body: bytes) -> bytes:
        return b"%s%d%s%s" % (self.prefix, len(body), self.suffix, body)


def _has(headers: Mapping[str, str], name: str) -> bool:
    lowered = name.lower()
    return any(key.lower() == lowered for key in headers)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class Exchange:
    """POSTs to one origin (`url`: scheme, host and port) over `connector`'s pool.

    Create it inside the running loop (the template request binds the loop)."""

    def __init__(
        self, connector: aiohttp.BaseConnector, url: URL, *, connect_timeout: float | None
    ) -> None:
        self._connector = connector
        self._template = aiohttp.ClientRequest("POST", url, loop=asyncio.get_running_loop())
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout)
        self._origin = url

    async def post(self, head: RequestHead, body: bytes) -> Response:
        try:
            conn = await self._connector.connect(self._template, [], self._timeout)
        except TimeoutError as exc:  # the socket connect timeout, as ClientSession reports it
            raise aiohttp.ConnectionTimeoutError(
                f"Connection timeout to host {self._origin}"
            ) from exc
        protocol = conn.protocol
        assert protocol is not None
        try:
            protocol.set_response_params(
                read_until_eof=True,
                auto_decompress=False,
                read_bufsize=READ_BUFSIZE,
                timeout_ceil_threshold=math.inf,  # no read timeout: ours bounds the attempt
            )
            transport = protocol.transport
            if transport is None or transport.is_closing():
                raise ClientConnectionResetError("Cannot write to closing transport")
            # One small write: the transport buffers it whole (one request per connection at a
            # time, so no flow control to wait for).
            transport.write(head.render(body))
            while True:
                message, payload = await protocol.read()
                if not 100 <= message.code <= 199 or message.code == 101:
                    break  # informational answers (100 Continue) are skipped, as aiohttp does
            data = await payload.read()
        except BaseException:
            conn.close()  # a half-read or unknown state is never put back in the pool
            raise
        conn.release()  # closes instead if the server asked to or the stream is not clean
        return Response(message.code, message.headers, data)
