"""The subset of DynamoDB's JSON protocol (API 2012-08-10) that the regional endpoints speak.

A request is `POST /` with `X-Amz-Target: DynamoDB_20120810.<Op>` and a JSON body; signatures are
accepted and ignored. Ops: PutItem, GetItem, DeleteItem, UpdateItem (`SET p = :v, ...` and
`REMOVE p, ...`, or legacy AttributeUpdates PUT/DELETE), CreateTable, DescribeTable,
DescribeEndpoints. Tables exist as soon as they are named, except names starting with "missing",
which answer ResourceNotFoundException (so clients can test that error). A table nobody created
is keyed by `pk` (plus `sk` when given). Conditional writes are refused (ValidationException).

Responses carry what botocore checks (`x-amz-crc32` of the body, `x-amzn-RequestId`) plus
`x-harness-region` and, on reads that return an item, `x-harness-version` (loop time of the write
that produced it) so clients can detect stale reads.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from harness.world.dynamo_limits import ITEM_TOO_LARGE, LimitError, item_size
from harness.world.dynamo_update import UpdateError, Updates, apply_updates, parse_updates
from harness.world.store import DEFAULT_HASH_KEY, DEFAULT_RANGE_KEY, Item, Key, Record

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
_DYNAMO = "com.amazonaws.dynamodb.v20120810#"
_CORAL = "com.amazon.coral.service#"
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_KEY_TYPES = frozenset({"S", "N", "B"})
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_DECODE = json.JSONDecoder().decode
_valid_tables: set[str] = set()  # names already checked: skips the regex on the hot path


class DynamoError(Exception):
    """An error answered in DynamoDB's shape: {"__type": "...#Code", "message": "..."}."""

    def __init__(
        self, code: str, message: str, status: int = 400, *, namespace: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.namespace = namespace

    def payload(self) -> dict[str, str]:
        prefix = self.namespace or (
            _CORAL
            if self.code in ("UnknownOperationException", "SerializationException")
            else _DYNAMO
        )
        return {"__type": prefix + self.code, "message": self.message}


def validation(message: str) -> DynamoError:
    return DynamoError("ValidationException", message)


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
        namespace=_CORAL,
    )


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


class Items(Protocol):
    """What an op needs from its region: reads, writes (versioned by the region), key schemas."""

    def read(self, table: str, key: Key) -> Record | None: ...
    def write(self, table: str, key: Key, item: Item | None) -> Record | None:
        """Store `item` (None deletes); returns the record it replaced, if any."""

    def declared_key(self, table: str) -> tuple[str, ...] | None: ...
    def create_table(self, table: str, key_names: tuple[str, ...]) -> None: ...


@dataclass(frozen=True, slots=True)
class Result:
    payload: dict[str, Any]
    version: float | None = None  # write timestamp of the item a read returned


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
    handler = _OPS.get(op)
    if handler is None:
        raise DynamoError("UnknownOperationException", f"unsupported operation {op!r}")
    table = request.get("TableName")
    if not isinstance(table, str):
        raise validation(f"TableName {table!r} must be 3-255 characters of [A-Za-z0-9_.-]")
    if table not in _valid_tables:
        if not _TABLE_NAME.match(table):
            raise validation(f"TableName {table!r} must be 3-255 characters of [A-Za-z0-9_.-]")
        if len(_valid_tables) < 1024:
            _valid_tables.add(table)
    if table.startswith("missing"):
        raise DynamoError(
            "ResourceNotFoundException", f"Requested resource not found: Table: {table} not found"
        )
    if "ConditionExpression" in request or "Expected" in request:
        raise validation("conditional writes are not supported by this endpoint")
    return handler(table, request, items, region)


# ---- items -------------------------------------------------------------------------------------


def _get_item(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    record = items.read(table, _key_from_map(table, request.get("Key"), items))
    if record is None or record.item is None:
        return Result({})
    return Result({"Item": record.item}, record.timestamp)


def _put_item(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    item = request.get("Item")
    if not isinstance(item, dict):
        raise validation("Item must be a map of attribute values")
    _check_size(item, "Item size has exceeded the maximum allowed size")
    returns = _return_values(request, ("NONE", "ALL_OLD"))
    previous = items.write(table, _key_from_item(table, item, items), item)
    return Result(_old_attributes(previous) if returns == "ALL_OLD" else {})


def _delete_item(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    returns = _return_values(request, ("NONE", "ALL_OLD"))
    previous = items.write(table, _key_from_map(table, request.get("Key"), items), None)
    return Result(_old_attributes(previous) if returns == "ALL_OLD" else {})


def _update_item(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    key = _key_from_map(table, request.get("Key"), items)
    returns = _return_values(request, ("NONE", "ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"))
    try:
        updates: Updates = parse_updates(request)
    except UpdateError as exc:
        raise validation(str(exc)) from None
    key_names = {name for name, _, _ in key}
    for name, _ in updates:
        if name in key_names:
            raise validation(f"Cannot update attribute {name}. This attribute is part of the key")
    current = items.read(table, key)
    old = current.item if current is not None and current.item is not None else None
    base = old if old is not None else {name: {kind: value} for name, kind, value in key}
    new = apply_updates(base, updates)
    _check_size(new, "Item size to update has exceeded the maximum allowed size")
    items.write(table, key, new)
    changed = {name for name, _ in updates}
    chosen: Item | None = {
        "NONE": None,
        "ALL_OLD": old,
        "ALL_NEW": new,
        "UPDATED_OLD": {k: v for k, v in (old or {}).items() if k in changed},
        "UPDATED_NEW": {k: v for k, v in new.items() if k in changed},
    }[returns]
    return Result({"Attributes": chosen} if chosen else {})


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


_OPS = {
    "GetItem": _get_item,
    "PutItem": _put_item,
    "DeleteItem": _delete_item,
    "UpdateItem": _update_item,
    "CreateTable": _create_table,
    "DescribeTable": _describe_table,
}


# ---- keys and values ---------------------------------------------------------------------------


def _key_from_map(table: str, key_map: object, items: Items) -> Key:
    if not isinstance(key_map, dict) or not key_map:
        raise validation("The provided key element does not match the schema")
    _check_key_names(table, set(key_map), items)
    return tuple(sorted(_key_part(name, value) for name, value in key_map.items()))


def _key_from_item(table: str, item: Item, items: Items) -> Key:
    names = items.declared_key(table)
    if names is None:
        names = (
            (DEFAULT_HASH_KEY, DEFAULT_RANGE_KEY)
            if DEFAULT_RANGE_KEY in item
            else (DEFAULT_HASH_KEY,)
        )
    for name in names:
        if name not in item:
            raise validation(
                f"One or more parameter values were invalid: Missing the key {name} in the item"
            )
    return tuple(sorted(_key_part(name, item[name]) for name in names))


def _check_key_names(table: str, names: set[str], items: Items) -> None:
    declared = items.declared_key(table)
    if declared is not None:
        ok = names == set(declared)
    else:
        ok = DEFAULT_HASH_KEY in names and names <= {DEFAULT_HASH_KEY, DEFAULT_RANGE_KEY}
    if not ok:
        raise validation("The provided key element does not match the schema")


def _key_part(name: str, value: object) -> tuple[str, str, str]:
    if isinstance(value, dict) and len(value) == 1:
        ((kind, raw),) = value.items()
        if kind in _KEY_TYPES and isinstance(raw, str) and raw:
            return (name, kind, raw)
    raise validation(f"key attribute {name} must be a non-empty S, N or B value, got {value!r}")


def _check_size(item: Item, too_large: str) -> None:
    try:
        item_size(item)
    except LimitError as exc:
        message = str(exc)
        raise validation(too_large if message == ITEM_TOO_LARGE else message) from None


def _return_values(request: dict[str, Any], allowed: tuple[str, ...]) -> str:
    returns = request.get("ReturnValues", "NONE")
    if returns not in allowed:
        raise validation(f"ReturnValues {returns!r} is not one of {', '.join(allowed)}")
    return str(returns)


def _old_attributes(previous: Record | None) -> dict[str, Any]:
    if previous is None or previous.item is None:
        return {}
    return {"Attributes": previous.item}


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
