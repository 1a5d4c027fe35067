"""harness.client.exchange checked against aiohttp's ClientSession, the system it replaces on the
hot path: the same request bytes on the wire, and, for every way a server can answer or fail, the
same response or an error that classify_exception maps to the same outcome."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from harness.client.exchange import Exchange, RequestHead, Response
from harness.client.pool import LoopClockConnector
from harness.client.transport import _headers, classify_exception
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import PoolSettings

BODY = b'{"TableName":"harness","Key":{"pk":{"S":"k1"}}}'
SERVICE_HEADERS = {
    "Host": "svc.test",
    "Content-Type": "application/json",
    "Accept": "*/*",
    "Accept-Encoding": "identity",
    "User-Agent": "u/1",
}

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


@asynccontextmanager
async def raw_server(answer: Answer) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A loopback TCP server: every request's bytes are kept (b"" marks a new connection),
    `answer` writes the response."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(b"")
        try:
            while True:
                seen.append(await read_request(reader))
                await answer(reader, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], seen
    finally:
        server.close()
        await server.wait_closed()


def replying(raw: bytes, *, then: str = "keep") -> Answer:
    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()
        if then == "close":
            writer.close()
        elif then == "reset":  # RST instead of FIN
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    return answer


def connector(keep_alive: bool = True) -> LoopClockConnector:
    return LoopClockConnector(PoolSettings(keep_alive=keep_alive), resolver=ThreadedResolver())


async def via_session(port: int, path: str, headers: dict[str, str], keep_alive: bool) -> Response:
    async with (
        aiohttp.ClientSession(connector=connector(keep_alive), auto_decompress=False) as session,
        session.post(f"http://127.0.0.1:{port}{path}", data=BODY, headers=headers) as response,
    ):
        return Response(response.status, response.headers, await response.read())


async def via_exchange(
    port: int, path: str, headers: dict[str, str], keep_alive: bool, pool: LoopClockConnector
) -> Response:
    exchange = Exchange(pool, URL(f"http://127.0.0.1:{port}"), connect_timeout=1.0)
    head = exchange.head(path, headers)
    assert head == RequestHead.build(path, headers, keep_alive=keep_alive)  # from the pool
    return await exchange.post(head, BODY)


@pytest.mark.parametrize("keep_alive", [True, False])
@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/", _headers("dynamodb.r1.aws.test", "DynamoDB_20120810.GetItem", None)),
        ("/", _headers("dynamodb.r1.aws.test", "DynamoDB_20120810.PutItem", "eu-west-1")),
        ("/lookup", SERVICE_HEADERS),
    ],
)
async def test_request_bytes_are_the_ones_client_session_sends(
    path: str, headers: dict[str, str], keep_alive: bool
) -> None:
    async with raw_server(replying(OK_2)) as (port, seen):
        await via_session(port, path, headers, keep_alive)
        pool = connector(keep_alive)
        try:
            await via_exchange(port, path, headers, keep_alive, pool)
        finally:
            await pool.close()
    requests = [raw for raw in seen if raw]
    assert len(requests) == 2
    assert requests[1] == requests[0]
    assert requests[1].startswith(f"POST {path} HTTP/1.1\r\nHost: ".encode())
    assert requests[1].endswith(b"\r\n\r\n" + BODY)
    assert (b"\r\nConnection: close\r\n" in requests[1]) is not keep_alive


OK_2 = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

# Each way a server can answer: (raw response, what the server does after writing it).
ANSWERS = {
    "ok": (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\n{}", "keep"),
    "throttled": (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\n{\"\"}", "keep"),
    "continue first": (b"HTTP/1.1 100 Continue\r\n\r\n" + OK_2, "keep"),
    "no content": (b"HTTP/1.1 204 No Content\r\n\r\n", "keep"),
    "connection close": (b"HTTP/1.1 503 No\r\nConnection: close\r\n" + OK_2[17:], "close"),
    "body until eof": (b"HTTP/1.1 200 OK\r\n\r\n{\"until\":\"eof\"}", "close"),
    "truncated body": (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"half", "close"),
    "closed, no answer": (b"", "close"),
    "reset, no answer": (b"", "reset"),
    "reset mid-headers": (b"HTTP/1.1 200 OK\r\nContent-Le", "reset"),
    "not http": (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "keep"),
    "bad header": (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}", "keep"),
}  # fmt: skip


async def both_ways(port: int) -> tuple[tuple[str, object], tuple[str, object]]:
    """(what ClientSession made of a POST to `port`, what Exchange made of it)"""
    expected = await outcome_of(lambda: via_session(port, "/", SERVICE_HEADERS, True))
    pool = connector()
    try:
        got = await outcome_of(lambda: via_exchange(port, "/", SERVICE_HEADERS, True, pool))
    finally:
        await pool.close()
    return expected, got


async def outcome_of(call: Callable[[], Awaitable[Response]]) -> tuple[str, object]:
    """(the error's outcome or "answered", the response or the error's type)"""
    try:
        response = await call()
    except Exception as exc:
        return classify_exception(exc, "r1").outcome.value, type(exc)
    return "answered", (response.status, dict(response.headers), response.body)


@pytest.mark.parametrize("case", ANSWERS)
async def test_every_answer_or_failure_reads_as_client_session_reads_it(case: str) -> None:
    raw, then = ANSWERS[case]
    async with raw_server(replying(raw, then=then)) as (port, _seen):
        expected, got = await both_ways(port)
    assert got[0] == expected[0]
    if got[0] == "answered":
        assert got == expected
    elif case not in ("not http", "bad header"):
        # A response aiohttp cannot parse: ClientSession wraps the parser's HttpProcessingError
        # in ClientResponseError; both are unclassified (client_error), the rest is identical.
        assert got[1] is expected[1]


async def test_refused_connect_is_the_same_connect_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    expected, got = await both_ways(port)
    assert got == expected == (Outcome.CONNECT_ERROR.value, aiohttp.ClientConnectorError)


async def test_connection_is_reused_unless_the_server_closes_it() -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
    for raw, then, connections in ((OK_2, "keep", 1), (closing, "close", 3)):
        pool = connector()
        try:
            async with raw_server(replying(raw, then=then)) as (port, seen):
                for _ in range(3):
                    await via_exchange(port, "/", SERVICE_HEADERS, True, pool)
                    await asyncio.sleep(0.01)  # let a close be seen
                assert len([raw for raw in seen if raw]) == 3
                assert seen.count(b"") == connections
                assert pool.open_count == (1 if then == "keep" else 0)
        finally:
            await pool.close()


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"HTTP/1.1 100 Continue\r\n\r\n",  # the 1xx's empty body must not pass for the answer's
        b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{"a',
    ],
)
async def test_a_cancelled_exchange_closes_its_connection(sent: bytes) -> None:
    """Cancelled before any answer, after a 100 Continue, or mid-body: the connection is
    closed, not put back."""
    reached = asyncio.Event()

    async def then_nothing(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(sent)
        await writer.drain()
        reached.set()
        await asyncio.sleep(3600)

    pool = connector()
    try:
        async with raw_server(then_nothing) as (port, _seen):
            call = asyncio.ensure_future(via_exchange(port, "/", SERVICE_HEADERS, True, pool))
            await reached.wait()
            await asyncio.sleep(0.01)  # what was sent is read
            assert pool.open_count == 1
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            await asyncio.sleep(0)
            assert pool.open_count == 0
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("path", "headers", "error"),
    [
        ("/", {**SERVICE_HEADERS, "X-Evil": "a\r\nInjected: 1"}, "not a valid HTTP header"),
        ("/", {k: v for k, v in SERVICE_HEADERS.items() if k != "Accept"}, "lacks Accept"),
        ("/a b", SERVICE_HEADERS, "not a plain origin-form target"),
        ("relative", SERVICE_HEADERS, "not a plain origin-form target"),
        ("/a?b=1", SERVICE_HEADERS, "not a plain origin-form target"),
        ("/", {**SERVICE_HEADERS, "Content-Length": "3"}, "sets one the exchange writes"),
        ("/", {**SERVICE_HEADERS, "connection": "close"}, "sets one the exchange writes"),
        ("/", {**SERVICE_HEADERS, "host": "other"}, "repeats a header"),
    ],
)
def test_a_head_that_client_session_would_send_differently_is_refused(
    path: str, headers: dict[str, str], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        RequestHead.build(path, headers, keep_alive=True)


@pytest.mark.looptime
async def test_a_connect_timeout_is_the_same_connect_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def never_connects(*_args: object) -> None:
        await asyncio.sleep(3600)

    monkeypatch.setattr(asyncio.get_running_loop(), "sock_connect", never_connects)
    async with raw_server(replying(OK_2)) as (port, seen):
        expected, got = await both_ways(port)
    assert not seen
    assert got == expected == (Outcome.CONNECT_ERROR.value, aiohttp.ConnectionTimeoutError)


async def test_a_redirect_is_returned_not_followed() -> None:
    moved = b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
    pool = connector()
    try:
        async with raw_server(replying(moved)) as (port, seen):
            response = await via_exchange(port, "/", SERVICE_HEADERS, True, pool)
    finally:
        await pool.close()
    assert (response.status, response.headers["Location"], len(seen)) == (307, "/elsewhere", 2)


async def test_without_keep_alive_every_connection_closes_after_its_answer() -> None:
    pool = connector(keep_alive=False)
    try:
        async with raw_server(replying(OK_2)) as (port, seen):
            for _ in range(3):
                response = await via_exchange(port, "/", SERVICE_HEADERS, False, pool)
                assert response.status == 200
                await asyncio.sleep(0.01)  # let the close be seen
                assert pool.open_count == 0
        assert seen.count(b"") == 3  # a new connection per request
    finally:
        await pool.close()
