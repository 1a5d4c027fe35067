"""Hostile requests to a region: each gets DynamoDB's own error shape (JSON, `__type`), none leaves
a traceback or holds the loop, and items are held to DynamoDB's limits (400 KB, 32 levels)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import botocore.exceptions
import botocore.session
import pytest
from botocore.config import Config
from world_endpoint_support import TARGET, RawConnection, Reply, region_spec, running_region

from harness.probes import worst_stall
from harness.world import region as region_module
from harness.world.dynamo_limits import MAX_DEPTH, item_size


async def post_raw(conn: RawConnection, body: bytes, *, head_extra: str = "") -> None:
    length = "" if "chunked" in head_extra else f"Content-Length: {len(body)}\r\n"
    head = (
        f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}PutItem\r\n"
        f"Content-Type: application/x-amz-json-1.0\r\n{length}{head_extra}\r\n"
    )
    conn.writer.write(head.encode() + body)
    await conn.writer.drain()


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"S": "leaf"}
    for _ in range(depth - 1):
        value = {"M": {"a": value}}
    return value


def assert_dynamodb_error(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status
    assert reply.headers["content-type"] == "application/x-amz-json-1.0"
    assert reply.error_code == code
    assert reply.headers.get("x-amzn-requestid")


@pytest.mark.looptime
async def test_a_body_that_never_arrives_is_timed_out(caplog: pytest.LogCaptureFixture) -> None:
    async with running_region(region_spec(endpoints=1), octet=81) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        loop = asyncio.get_running_loop()
        conn.writer.write(
            f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}PutItem\r\n"
            'Content-Length: 100\r\n\r\n{"TableName"'.encode()
        )
        start = loop.time()
        async with asyncio.timeout(60):
            reply = await conn.receive()
            answered = loop.time() - start
            assert await conn.wait_closed_by_server()
            closed = loop.time() - start
        assert answered == pytest.approx(region_module.BODY_TIMEOUT, abs=0.05)
        assert closed == pytest.approx(answered, abs=0.05)
        assert_dynamodb_error(reply, 408, "RequestTimeoutException")
        assert reply.headers["connection"] == "close"
        await conn.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.looptime
async def test_json_nested_10000_deep_is_a_serialization_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_region(region_spec(endpoints=1), octet=81) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        for body in (b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
            await post_raw(conn, body)
            assert_dynamodb_error(await conn.receive(), 400, "SerializationException")
        await conn.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.looptime
async def test_attribute_values_nest_at_most_32_levels() -> None:
    async with running_region(region_spec(endpoints=1), octet=81) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        ok = {"TableName": "items", "Item": {"pk": {"S": "k"}, "deep": nested(MAX_DEPTH)}}
        assert (await conn.call("PutItem", ok)).status == 200
        deep = {"TableName": "items", "Item": {"pk": {"S": "k"}, "deep": nested(MAX_DEPTH + 1)}}
        reply = await conn.call("PutItem", deep)
        assert_dynamodb_error(reply, 400, "ValidationException")
        assert reply.json()["message"] == "Nesting Levels have exceeded supported limits"
        await conn.close()


@pytest.mark.looptime
@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_1_mb_is_a_json_error_and_the_connection_closes(chunked: bool) -> None:
    async with running_region(region_spec(endpoints=1), octet=81) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        size = 2 * 1024 * 1024
        if chunked:
            chunk = b" " * 65536
            body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(32)) + b"0\r\n\r\n"
            await post_raw(conn, body, head_extra="Transfer-Encoding: chunked\r\n")
        else:
            await post_raw(conn, b" " * size)
        async with asyncio.timeout(5):
            reply = await conn.receive()
        assert_dynamodb_error(reply, 413, "ValidationException")
        assert reply.json()["__type"] == "com.amazon.coral.validate#ValidationException"
        assert "exceeded the limit of 1048576 bytes" in reply.json()["message"]
        assert reply.headers["connection"] == "close"
        await conn.close()


def botocore_client(address: str, port: int) -> Any:
    return botocore.session.get_session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=f"http://{address}:{port}",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5),
    )


async def test_items_over_400_kb_are_refused_as_dynamodb_refuses_them() -> None:
    """Real botocore: a 900 KB item and an update growing one past 400 KB are ValidationExceptions
    with DynamoDB's messages; a 399 KB item is stored."""
    async with running_region(region_spec(endpoints=1), octet=81) as region:
        client = botocore_client(region.endpoint_addresses()[0], region.port)

        def exercise() -> tuple[list[str], int]:
            errors = []
            near = {"pk": {"S": "near"}, "blob": {"S": "x" * (399 * 1024)}}
            client.put_item(TableName="items", Item=near)
            for call in (
                lambda: client.put_item(
                    TableName="items", Item={"pk": {"S": "big"}, "blob": {"S": "x" * 900_000}}
                ),
                lambda: client.update_item(
                    TableName="items",
                    Key={"pk": {"S": "near"}},
                    UpdateExpression="SET more = :m",
                    ExpressionAttributeValues={":m": {"S": "y" * 2048}},
                ),
            ):
                try:
                    call()
                except botocore.exceptions.ClientError as exc:
                    error = exc.response["Error"]
                    errors.append(f"{error['Code']}: {error['Message']}")
            stored = client.get_item(TableName="items", Key={"pk": {"S": "near"}})["Item"]
            return errors, len(stored["blob"]["S"]) + len(stored)

        errors, stored = await asyncio.to_thread(exercise)
    assert errors == [
        "ValidationException: Item size has exceeded the maximum allowed size",
        "ValidationException: Item size to update has exceeded the maximum allowed size",
    ]
    assert stored == 399 * 1024 + 2  # the update did not apply


def test_item_size_follows_dynamodbs_accounting() -> None:
    assert item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "123.45"}}) == 1 + 4  # 5 significant digits: 3 + 1
    assert item_size({"b": {"B": "AAAA"}}) == 1 + 3  # base64 of 3 bytes
    assert item_size({"t": {"BOOL": True}, "z": {"NULL": True}}) == 4
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + 1 + 1 + 1
    assert item_size({"l": {"L": [{"S": "ab"}, {"S": "c"}]}}) == 1 + 3 + 2 + 3
    assert item_size({"é": {"S": "ü"}}) == 2 + 2  # UTF-8 lengths


async def test_the_loop_stays_responsive_under_hostile_requests() -> None:
    """Real time: a 10,000-deep body, a 2 MB body and a 900 KB item, next to a 1 ms ticker."""
    async with running_region(region_spec(endpoints=1), octet=81) as region:

        async def probe() -> list[int]:
            statuses = []
            for body in (
                b"[" * 10_000 + b"]" * 10_000,
                b" " * (2 * 1024 * 1024),
                json.dumps(
                    {"TableName": "t1x", "Item": {"pk": {"S": "k"}, "b": {"S": "x" * 900_000}}}
                ).encode(),
            ):
                conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
                await post_raw(conn, body)
                async with asyncio.timeout(5):
                    statuses.append((await conn.receive()).status)
                await conn.close()
            return statuses

        stall, statuses = await worst_stall(probe())
    assert statuses == [400, 413, 400]
    assert stall < 0.2


@pytest.mark.looptime
async def test_headers_that_never_finish_are_closed_at_the_idle_timeout() -> None:
    """A slow-loris client that never ends its headers holds its connection only until the
    region's idle timeout (the handler never runs, so no body timeout applies)."""
    spec = region_spec(endpoints=1, connections={"idle_timeout": 5, "max_age": None})
    async with running_region(spec, octet=81) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        loop = asyncio.get_running_loop()
        conn.writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Tar")
        start = loop.time()
        async with asyncio.timeout(60):
            assert await conn.wait_closed_by_server()
        assert loop.time() - start == pytest.approx(5.0, abs=0.05)
        await conn.close()
