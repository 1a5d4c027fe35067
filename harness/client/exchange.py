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
on any error or cancellation unless the response had been read whole).

One deliberate difference: redirects are not followed (ClientSession follows 3xx by default; an
SDK's DynamoDB client does not, and the world never sends one): a 3xx is returned as it came.

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
from aiohttp import StreamReader
from aiohttp.client_exceptions import ClientConnectionResetError
from multidict import CIMultiDictProxy
from yarl import URL

# Headers ClientSession adds when they are missing (and where it adds them in the head): a head
# that carries them all is sent by ClientSession exactly as given, then Content-Length, then
# "Connection: close" on a pool without keep-alive.
REQUIRED_HEADERS = ("Host", "Content-Type", "Accept", "Accept-Encoding", "User-Agent")
# Headers the exchange writes or implies itself: given twice they would contradict the framing.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "expect"})
PATH_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")
READ_BUFSIZE = 2**16  # ClientSession's default read_bufsize


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A POST's request line and headers, built once: `render(body)` adds Content-Length."""

    prefix: bytes  # up to and including "Content-Length: "
    suffix: bytes  # after the length's digits, through the blank line

    @classmethod
    def build(cls, path: str, headers: Mapping[str, str], *, keep_alive: bool) -> RequestHead:
        names = [name.lower() for name in headers]
        missing = [name for name in REQUIRED_HEADERS if name.lower() not in names]
        if missing:
            raise ValueError(f"request head lacks {', '.join(missing)}")
        if len(set(names)) != len(names) or FRAMING_HEADERS.intersection(names):
            raise ValueError("request head repeats a header or sets one the exchange writes")
        if not path.startswith("/") or not PATH_CHARACTERS.issuperset(path):
            raise ValueError(f"request path {path!r} is not a plain origin-form target")
        lines = [f"POST {path} HTTP/1.1"]
        for name, value in headers.items():
            if any(c in f"{name}{value}" for c in "\r\n\0") or ":" in name or not name:
                raise ValueError(f"header {name!r} is not a valid HTTP header line")
            lines.append(f"{name}: {value}")
        prefix = ("\r\n".join(lines) + "\r\nContent-Length: ").encode()  # UTF-8, as aiohttp
        suffix = b"\r\n" if keep_alive else b"\r\nConnection: close\r\n"
        return cls(prefix, suffix + b"\r\n")

    def render(self, body: bytes) -> bytes:
        return b"%s%d%s%s" % (self.prefix, len(body), self.suffix, body)


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
        # ceil_threshold inf: aiohttp would round connect timeouts >= 5 s up to whole seconds.
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, ceil_threshold=math.inf
        )
        self._origin = url

    def head(self, path: str, headers: Mapping[str, str]) -> RequestHead:
        """A head for this origin's pool: "Connection: close" exactly when the pool closes."""
        return RequestHead.build(path, headers, keep_alive=not self._connector.force_close)

    async def post(self, head: RequestHead, body: bytes) -> Response:
        try:
            conn = await self._connector.connect(self._template, [], self._timeout)
        except TimeoutError as exc:  # the socket connect timeout, as ClientSession reports it
            raise aiohttp.ConnectionTimeoutError(
                f"Connection timeout to host {self._origin}"
            ) from exc
        payload: StreamReader | None = None
        try:
            protocol = conn.protocol
            assert protocol is not None
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
                message, answer = await protocol.read()
                if not 100 <= message.code <= 199 or message.code == 101:
                    break  # informational answers (100 Continue) are skipped, as aiohttp does
            payload = answer  # only the final answer's body says whether the stream is clean
            data = await payload.read()
        except BaseException:
            if _read_whole(payload):
                conn.release()  # cancelled after the last byte arrived: the connection is clean
            else:
                conn.close()  # a half-read or unknown state is never put back in the pool
            raise
        conn.release()  # closes instead if the server asked to or the stream is not clean
        return Response(message.code, message.headers, data)


def _read_whole(payload: StreamReader | None) -> bool:
    return payload is not None and payload.is_eof() and payload.exception() is None
