"""The DynamoDB JSON codec and the exception map, without sockets (the wire: other test files)."""

from __future__ import annotations

import json
import socket

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from hypothesis import given
from hypothesis import strategies as st

from harness.client.api import Request
from harness.client.dynamo_client import decode, encode, error_code
from harness.client.resolver import DnsLookupError
from harness.client.transport import classify_exception
from harness.outcomes import Outcome

KEY = ConnectionKey("dynamodb.r1.aws.test", 80, False, True, None, None, None)


def body_of(op: str) -> dict[str, object]:
    request = Request(id=1, op=op, key="user#7", intended_start=0.0, deadline=1.0, value="v1")
    parsed: dict[str, object] = json.loads(encode(request, "t1"))
    return parsed


def test_encode_each_op() -> None:
    key = {"pk": {"S": "user#7"}}
    assert body_of("get") == {"TableName": "t1", "Key": key, "ConsistentRead": False}
    assert body_of("put") == {"TableName": "t1", "Item": {**key, "value": {"S": "v1"}}}
    assert body_of("delete") == {"TableName": "t1", "Key": key}
    update = body_of("update")
    assert update["UpdateExpression"] == "SET #v = :v"
    assert update["ExpressionAttributeNames"] == {"#v": "value"}
    assert update["ExpressionAttributeValues"] == {":v": {"S": "v1"}}
    with pytest.raises(ValueError, match="scan"):
        body_of("scan")


@given(key=st.text(), value=st.text(), table=st.sampled_from(["t1", "100%", "a%sb", "x\\y"]))
def test_encode_escapes_anything(key: str, value: str, table: str) -> None:
    for op in ("get", "put", "update", "delete"):
        request = Request(id=1, op=op, key=key, intended_start=0.0, deadline=1.0, value=value)
        body = json.loads(encode(request, table))
        assert body["TableName"] == table
        assert (body.get("Key") or body["Item"])["pk"] == {"S": key}
        if op == "put":
            assert body["Item"]["value"] == {"S": value}
        if op == "update":
            assert body["ExpressionAttributeValues"] == {":v": {"S": value}}


def _error(code: str) -> bytes:
    return json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "m"}
    ).encode()


@pytest.mark.parametrize(
    ("status", "headers", "body", "outcome", "detail"),
    [
        (400, {}, _error("ThrottlingException"), Outcome.THROTTLED, "ThrottlingException"),
        (400, {}, _error("RequestLimitExceeded"), Outcome.THROTTLED, "RequestLimitExceeded"),
        (
            400,
            {},
            _error("ResourceNotFoundException"),
            Outcome.CLIENT_ERROR,
            "ResourceNotFoundException",
        ),
        (
            400,
            {"x-amzn-ErrorType": "ThrottlingException:http://x/"},
            b"",
            Outcome.THROTTLED,
            "ThrottlingException",
        ),
        (429, {}, b"not json", Outcome.THROTTLED, ""),
        (404, {}, b"<html>", Outcome.CLIENT_ERROR, ""),
        (500, {}, _error("InternalServerError"), Outcome.SERVER_ERROR, "InternalServerError"),
        (503, {}, b"", Outcome.SERVER_ERROR, ""),
    ],
)
def test_decode_errors(
    status: int, headers: dict[str, str], body: bytes, outcome: Outcome, detail: str
) -> None:
    result = decode(status, headers, body, "r1")
    assert (result.outcome, result.status, result.detail, result.region) == (
        outcome,
        status,
        detail,
        "r1",
    )


def test_decode_ok_reads_our_headers() -> None:
    served = decode(200, {"x-harness-region": "r2", "x-harness-version": "12.5"}, b"{}", "r1")
    assert (served.outcome, served.region, served.version) == (Outcome.OK, "r2", 12.5)
    bare = decode(200, {"x-harness-version": "garbage"}, b"{}", "r1")
    assert (bare.region, bare.version) == ("r1", None)


def test_error_code_of_coral_type() -> None:
    body = json.dumps({"__type": "com.amazon.coral.service#UnknownOperationException"}).encode()
    assert error_code({}, body) == "UnknownOperationException"


def _dns_wrapped(inner: OSError) -> aiohttp.ClientConnectorDNSError:
    try:
        try:
            raise inner
        except OSError as exc:
            raise aiohttp.ClientConnectorDNSError(KEY, exc) from exc
    except aiohttp.ClientConnectorDNSError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    "outcome",
    [Outcome.DNS_NXDOMAIN, Outcome.DNS_NODATA, Outcome.DNS_SERVFAIL, Outcome.DNS_TIMEOUT],
)
def test_our_dns_error_inside_aiohttps_wrapper(outcome: Outcome) -> None:
    wrapped = _dns_wrapped(DnsLookupError(outcome, "dynamodb.r1.aws.test"))
    assert classify_exception(wrapped, "r1").outcome is outcome


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (socket.EAI_NONAME, Outcome.DNS_NXDOMAIN),
        (socket.EAI_AGAIN, Outcome.DNS_SERVFAIL),
        (socket.EAI_FAIL, Outcome.DNS_SERVFAIL),
    ],
)
def test_system_resolver_gaierror(code: int, outcome: Outcome) -> None:
    wrapped = _dns_wrapped(socket.gaierror(code, "lookup failed"))
    assert classify_exception(wrapped, "r1").outcome is outcome


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (aiohttp.ConnectionTimeoutError("connect"), Outcome.CONNECT_ERROR),
        (aiohttp.SocketTimeoutError("read"), Outcome.TIMEOUT),
        (
            aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "refused")),
            Outcome.CONNECT_ERROR,
        ),
        (aiohttp.ServerDisconnectedError(), Outcome.CONNECT_ERROR),
        (aiohttp.ClientOSError(104, "reset"), Outcome.CONNECT_ERROR),
        (aiohttp.ClientPayloadError("truncated"), Outcome.CONNECT_ERROR),
        (ConnectionResetError(104, "reset"), Outcome.CONNECT_ERROR),
        (TimeoutError(), Outcome.TIMEOUT),
        (RuntimeError("a bug"), Outcome.CLIENT_ERROR),
    ],
)
def test_exception_map(exc: Exception, outcome: Outcome) -> None:
    result = classify_exception(exc, "r1")
    assert (result.outcome, result.region, result.status) == (outcome, "r1", None)
    assert type(exc).__name__ in result.detail
