"""A region speaks enough DynamoDB JSON for botocore, with DynamoDB's error shapes and headers."""

from __future__ import annotations

import asyncio
import random
import socket
import zlib
from typing import Any

import aiohttp
import botocore.session
import pytest
from botocore.config import Config
from world_endpoint_support import RawConnection, get, put, region_spec, running_region

from harness.errors import AddressError, HarnessError
from harness.world.region import Region


def botocore_client(address: str, port: int) -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=f"http://{address}:{port}",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=2),
    )


async def test_real_botocore_client_puts_and_gets_an_item() -> None:
    spec = region_spec(rtt=0.001, service_time=0.001)
    async with running_region(spec, octet=78) as region:
        client = botocore_client(region.endpoint_addresses()[1], region.port)

        def exercise() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
            client.put_item(TableName="items", Item={"pk": {"S": "k1"}, "n": {"N": "7"}})
            got = client.get_item(TableName="items", Key={"pk": {"S": "k1"}})
            updated = client.update_item(
                TableName="items",
                Key={"pk": {"S": "k1"}},
                UpdateExpression="SET #n = :n",
                ExpressionAttributeNames={"#n": "n"},
                ExpressionAttributeValues={":n": {"N": "8"}},
                ReturnValues="ALL_NEW",
            )
            try:
                client.get_item(TableName="missing-table", Key={"pk": {"S": "k1"}})
            except client.exceptions.ResourceNotFoundException as exc:
                missing = exc.response
            return got, updated, missing

        got, updated, missing = await asyncio.to_thread(exercise)
        client.close()
    assert got["Item"] == {"pk": {"S": "k1"}, "n": {"N": "7"}}
    assert got["ResponseMetadata"]["HTTPHeaders"]["x-harness-region"] == "us-east-1"
    assert updated["Attributes"]["n"] == {"N": "8"}
    assert missing["Error"]["Code"] == "ResourceNotFoundException"
    assert missing["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.looptime
async def test_items_round_trip_with_headers_botocore_checks() -> None:
    async with running_region(region_spec()) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        empty = await conn.call("GetItem", get("k1"))
        await conn.call("PutItem", put("k1", "a"))
        got = await conn.call("GetItem", get("k1"))
        old = await conn.call("PutItem", {**put("k1", "b"), "ReturnValues": "ALL_OLD"})
        deleted = await conn.call("DeleteItem", {**get("k1"), "ReturnValues": "ALL_OLD"})
        after = await conn.call("GetItem", get("k1"))
        await conn.close()
    assert empty.status == 200 and empty.json() == {}
    assert "x-harness-version" not in empty.headers
    assert got.json() == {"Item": {"pk": {"S": "k1"}, "val": {"S": "a"}}}
    assert float(got.headers["x-harness-version"]) >= 0
    assert got.headers["x-amz-crc32"] == str(zlib.crc32(got.body))
    assert got.headers["x-harness-region"] == "us-east-1"
    assert got.headers["x-amzn-requestid"] != empty.headers["x-amzn-requestid"]
    assert got.headers["content-type"].startswith("application/x-amz-json-1.0")
    assert old.json()["Attributes"]["val"] == {"S": "a"}
    assert deleted.json()["Attributes"]["val"] == {"S": "b"}
    assert after.json() == {}


@pytest.mark.looptime
async def test_update_item_expression_forms() -> None:
    async with running_region(region_spec()) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        created = await conn.call(
            "UpdateItem",
            {
                **get("k2"),
                "UpdateExpression": "SET #a = :a, b = :b",
                "ExpressionAttributeNames": {"#a": "a"},
                "ExpressionAttributeValues": {":a": {"S": "x"}, ":b": {"N": "1"}},
                "ReturnValues": "ALL_NEW",
            },
        )
        removed = await conn.call(
            "UpdateItem", {**get("k2"), "UpdateExpression": "REMOVE b", "ReturnValues": "ALL_NEW"}
        )
        legacy = await conn.call(
            "UpdateItem",
            {
                **get("k2"),
                "AttributeUpdates": {
                    "c": {"Action": "PUT", "Value": {"S": "z"}},
                    "a": {"Action": "DELETE"},
                },
                "ReturnValues": "UPDATED_NEW",
            },
        )
        key_update = await conn.call(
            "UpdateItem",
            {
                **get("k2"),
                "UpdateExpression": "SET pk = :v",
                "ExpressionAttributeValues": {":v": {"S": "n"}},
            },
        )
        nested = await conn.call(
            "UpdateItem",
            {
                **get("k2"),
                "UpdateExpression": "SET a.b = :v",
                "ExpressionAttributeValues": {":v": {"S": "n"}},
            },
        )
        final = await conn.call("GetItem", get("k2"))
        await conn.close()
    assert created.json()["Attributes"] == {"pk": {"S": "k2"}, "a": {"S": "x"}, "b": {"N": "1"}}
    assert removed.json()["Attributes"] == {"pk": {"S": "k2"}, "a": {"S": "x"}}
    assert legacy.json()["Attributes"] == {"c": {"S": "z"}}
    assert (key_update.status, key_update.error_code) == (400, "ValidationException")
    assert (nested.status, nested.error_code) == (400, "ValidationException")
    assert final.json()["Item"] == {"pk": {"S": "k2"}, "c": {"S": "z"}}


@pytest.mark.looptime
@pytest.mark.parametrize(
    ("op", "payload", "code"),
    [
        ("GetItem", get("k", table="missing-one"), "ResourceNotFoundException"),
        ("PutItem", {"TableName": "items", "Item": {"other": {"S": "x"}}}, "ValidationException"),
        ("GetItem", {"TableName": "items", "Key": {"pk": {"S": ""}}}, "ValidationException"),
        ("GetItem", {"TableName": "items", "Key": {"id": {"S": "k"}}}, "ValidationException"),
        ("GetItem", {"TableName": "x", "Key": {"pk": {"S": "k"}}}, "ValidationException"),
        ("GetItem", {"TableName": ["items"], "Key": {"pk": {"S": "k"}}}, "ValidationException"),
        (
            "PutItem",
            {**put("k"), "Expected": {"pk": {"Exists": False}}},
            "ValidationException",
        ),
        (
            "PutItem",
            {**put("k"), "ConditionExpression": "attribute_not_exists(pk) AND"},
            "ValidationException",
        ),
        ("Scan", {"TableName": "items"}, "UnknownOperationException"),
    ],
)
async def test_errors_have_dynamodb_shape(op: str, payload: dict[str, Any], code: str) -> None:
    async with running_region(region_spec(endpoints=1)) as region:
        conn = await RawConnection.open(region.endpoint_addresses()[0], region.port)
        reply = await conn.call(op, payload)
        await conn.close()
    assert reply.status == 400
    assert reply.error_code == code
    assert reply.json()["__type"].startswith("com.amaz")
    assert reply.json()["message"]


@pytest.mark.looptime
async def test_bad_json_and_missing_target() -> None:
    async with running_region(region_spec(endpoints=1)) as region:
        url = f"http://{region.endpoint_addresses()[0]}:{region.port}/"
        async with aiohttp.ClientSession() as session:
            target = {"X-Amz-Target": "DynamoDB_20120810.GetItem"}
            async with session.post(url, data=b"{nope", headers=target) as bad_json:
                bad = (bad_json.status, await bad_json.json(content_type=None))
            async with session.post(url, data=b"\xff\xfe", headers=target) as not_utf8:
                assert (await not_utf8.json(content_type=None))["__type"].endswith(
                    "#SerializationException"
                )
            async with session.post(url, data=b"{}") as no_target:
                untargeted = (no_target.status, await no_target.json(content_type=None))
            async with session.get(url + "health") as health:
                healthy = (health.status, await health.json(content_type=None))
    assert bad[0] == 400 and bad[1]["__type"].endswith("#SerializationException")
    assert untargeted[0] == 400 and untargeted[1]["__type"].endswith("#UnknownOperationException")
    assert healthy == (200, {"status": "ok", "region": "us-east-1"})


@pytest.mark.looptime
async def test_tables_and_endpoint_discovery() -> None:
    async with running_region(region_spec()) as region:
        port = region.port
        schema = {"TableName": "people", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}
        first = await RawConnection.open(region.endpoint_addresses()[0], port)
        third = await RawConnection.open(region.endpoint_addresses()[2], port)
        created = await first.call("CreateTable", schema)
        await third.call("PutItem", {"TableName": "people", "Item": {"id": {"S": "7"}}})
        got = await first.call("GetItem", {"TableName": "people", "Key": {"id": {"S": "7"}}})
        described = await first.call("DescribeTable", {"TableName": "people"})
        endpoints = [await c.call("DescribeEndpoints", {}) for c in (first, third)]
        await first.close()
        await third.close()
    assert created.json()["TableDescription"]["TableStatus"] == "ACTIVE"
    assert got.json()["Item"] == {"id": {"S": "7"}}
    assert described.json()["Table"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    addresses = [e.json()["Endpoints"][0]["Address"] for e in endpoints]
    assert addresses == [f"127.0.77.1:{port}", f"127.0.77.3:{port}"]


@pytest.mark.looptime
async def test_every_endpoint_listens_on_one_port() -> None:
    spec = region_spec(endpoints=4, azs=("a", "b"))
    async with running_region(spec) as region:
        assert region.port > 0
        assert region.endpoint_addresses() == (
            "127.0.77.1",
            "127.0.77.2",
            "127.0.77.3",
            "127.0.77.4",
        )
        assert region.endpoints_in_az("a") == (0, 2)
        assert region.endpoints_in_az("b") == (1, 3)
        for address in region.endpoint_addresses():
            conn = await RawConnection.open(address, region.port)
            assert (await conn.call("GetItem", get("k"))).status == 200
            await conn.close()


def test_non_loopback_address_is_refused() -> None:
    with pytest.raises(AddressError, match="not a loopback"):
        Region(region_spec(endpoints=1), ("10.0.0.1",), rng=random.Random(1))
    with pytest.raises(HarnessError, match="3 endpoints, 1 addresses"):
        Region(region_spec(), ("127.0.77.1",), rng=random.Random(1))


@pytest.mark.looptime
async def test_explicit_port_in_use_is_an_address_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.77.2", 0))
        busy.listen()
        port = busy.getsockname()[1]
        region = Region(
            region_spec(), ("127.0.77.1", "127.0.77.2", "127.0.77.3"), rng=random.Random(1)
        )
        with pytest.raises(AddressError, match=f"127.0.77.2:{port}"):
            await region.start(port)
        await region.stop()
        # With port 0 the same clash is avoided by trying another port.
        fresh = await region.start(0)
        assert fresh != port
        await region.stop()
        await region.stop()  # idempotent
