"""The subset of DynamoDB's JSON protocol (API 2012-08-10) that the regional endpoints speak.

A request is `POST /` with `X-Amz-Target: DynamoDB_20120810.<Op>` and a JSON body; signatures are
accepted and ignored. Ops: GetItem, PutItem, DeleteItem, UpdateItem (dynamo_items: condition,
update and projection expressions — dynamo_expr), Query, BatchGetItem, BatchWriteItem
(dynamo_query), CreateTable, DescribeTable, DescribeEndpoints. Anything else answers
UnknownOperationException, as DynamoDB does. Tables exist as soon as they are named, except names
starting with "missing", which answer ResourceNotFoundException (so clients can test that error).
A table nobody created is keyed by `pk` (plus `sk` when given).

Responses carry what botocore checks (`x-amz-crc32` of the body, `x-amzn-RequestId`) plus
`x-harness-region` and, on reads that return an item, `x-harness-version` (loop time of the write
that produced it) so clients can detect stale reads.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from aiohttp import web

from harness.world.dynamo_core import DynamoError, Handler, Items, Result, check_table, validation
from harness.world.dynamo_items import delete_item, get_item, put_item, update_item
from harness.world.dynamo_query import batch_get_item, batch_write_item, query
from harness.world.store import DEFAULT_HASH_KEY

__all__ = [
    "DynamoError",
    "body_timeout",
    "body_too_large",
    "decode",
    "execute",
    "injected",
    "operation",
    "respond",
    "throttled",
]

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_DECODE = json.JSONDecoder().decode


def throttled() -> DynamoError:
    return DynamoError(
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    )


_INJECTED: dict[int | str, tuple[str, str, int]] = {
    500: ("InternalServerError", "Internal server error", 500),
    503: ("ServiceUnavailable", "Service unavailable", 503),
    "throttling": ("ThrottlingException", "Rate of requests exceeds the allowed throughput.", 400),
}


def injected(status: int | str) -> DynamoError:
    """An injected error: 500 InternalServerError, 503 ServiceUnavailable, "throttling" 400
    ThrottlingException; any other status is answered as itself with an InternalServerError body."""
    known = _INJECTED.get(status)
    if known is not None:
        return DynamoError(*known)
    code = status if isinstance(status, int) else 500
    return DynamoError("InternalServerError", f"injected error {status}", code)


def body_too_large(size: int | None, limit: int) -> DynamoError:
    """A request body over the endpoint's limit: a request-validation error (the namespace
    DynamoDB's front end uses for those), with HTTP's own status for it."""
    told = "" if size is None else f" ({size} bytes)"
    return DynamoError(
        "ValidationException",
        f"Request size{told} exceeded the limit of {limit} bytes",
        413,
        namespace="com.amazon.coral.validate#",
    )


def body_timeout(seconds: float) -> DynamoError:
    return DynamoError(
        "RequestTimeoutException",
        f"Your request body was not received within {seconds:g} seconds",
        408,
        namespace="com.amazon.coral.service#",
    )


def operation(target: str | None) -> str:
    if not target or not target.startswith(TARGET_PREFIX):
        raise DynamoError("UnknownOperationException", f"unknown operation target {target!r}")
    return target[len(TARGET_PREFIX) :]


def decode(body: bytes) -> dict[str, Any]:
    try:
        request = _DECODE(body.decode() if body else "{}")
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError alike
        raise DynamoError("SerializationException", f"body is not JSON: {exc}") from None
    except RecursionError:  # nested deeper than the decoder's stack: no item can be
        raise DynamoError("SerializationException", "body is nested too deeply") from None
    if not isinstance(request, dict):
        raise DynamoError("SerializationException", "body must be a JSON object")
    return request


def execute(op: str, request: dict[str, Any], items: Items, *, region: str, address: str) -> Result:
    """Run one op against `items`. Raises DynamoError for anything DynamoDB would refuse."""
    if op == "DescribeEndpoints":
        return Result({"Endpoints": [{"Address": address, "CachePeriodInMinutes": 1440}]})
    if op == "BatchGetItem":
        return batch_get_item(request, items)
    if op == "BatchWriteItem":
        return batch_write_item(request, items)
    handler = _OPS.get(op)
    if handler is None:
        raise DynamoError("UnknownOperationException", f"unsupported operation {op!r}")
    return handler(check_table(request.get("TableName")), request, items, region)


# ---- tables ------------------------------------------------------------------------------------


def _create_table(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    schema = request.get("KeySchema")
    if not isinstance(schema, list) or not 1 <= len(schema) <= 2:
        raise validation("KeySchema must list one HASH and at most one RANGE attribute")
    order = {"HASH": 0, "RANGE": 1}
    try:
        entries = sorted(schema, key=lambda e: order[e["KeyType"]])
        names = tuple(str(entry["AttributeName"]) for entry in entries)
    except (KeyError, TypeError):
        raise validation("KeySchema entries need AttributeName and KeyType HASH|RANGE") from None
    items.create_table(table, names)
    return Result({"TableDescription": _describe(table, names, region)})


def _describe_table(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    names = items.declared_key(table) or (DEFAULT_HASH_KEY,)
    return Result({"Table": _describe(table, names, region)})


def _describe(table: str, names: tuple[str, ...], region: str) -> dict[str, Any]:
    kinds = ("HASH", "RANGE")
    return {
        "TableName": table,
        "TableStatus": "ACTIVE",
        "TableArn": f"arn:aws:dynamodb:{region}:000000000000:table/{table}",
        "KeySchema": [
            {"AttributeName": n, "KeyType": k} for n, k in zip(names, kinds, strict=False)
        ],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in names],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
    }


_OPS: dict[str, Handler] = {
    "GetItem": get_item,
    "PutItem": put_item,
    "DeleteItem": delete_item,
    "UpdateItem": update_item,
    "Query": query,
    "CreateTable": _create_table,
    "DescribeTable": _describe_table,
}


# ---- responses ---------------------------------------------------------------------------------


def respond(
    status: int,
    payload: dict[str, Any],
    *,
    region: str,
    request_id: str,
    version: float | None = None,
) -> web.Response:
    body = _ENCODE(payload).encode()
    headers = {
        "Content-Type": CONTENT_TYPE,
        "x-amzn-RequestId": request_id,
        "x-amz-crc32": str(zlib.crc32(body)),
        "x-harness-region": region,
    }
    if version is not None:
        headers["x-harness-version"] = repr(version)
    return web.Response(status=status, body=body, headers=headers)
