"""Multi-item ops: Query on the hash key (with a range-key condition, FilterExpression,
ProjectionExpression, Limit, pagination, Select COUNT), BatchGetItem and BatchWriteItem.

Query finds the hash key's items through the store's key-part index, so its cost is the number of
items under that hash key, not the table's size. Batches are processed whole (never
`Unprocessed*`): capacity is modelled per request by the region, not per item.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harness.world.dynamo_core import (
    DynamoError,
    Items,
    Result,
    check_item,
    check_table,
    key_from_item,
    key_from_map,
    key_map,
    key_names,
    key_part,
    live,
    validation,
)
from harness.world.dynamo_expr import ExpressionError, Expressions, project
from harness.world.store import Item, Key

MAX_BATCH_GET = 100
MAX_BATCH_WRITE = 25
MAX_QUERY_PAGE = 1 << 20  # DynamoDB stops a page at 1 MB; we stop at this many items


def query(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    if "KeyConditions" in request or "QueryFilter" in request:
        raise validation("legacy KeyConditions/QueryFilter are not supported: use expressions")
    names = key_names(table, items)
    hash_name = names[0]
    try:
        expressions = Expressions(request)
        key_condition = expressions.key_condition(request.get("KeyConditionExpression"))
        filter_condition = (
            expressions.condition(request["FilterExpression"], "FilterExpression")
            if request.get("FilterExpression") is not None
            else None
        )
        paths = (
            expressions.projection(request["ProjectionExpression"])
            if request.get("ProjectionExpression") is not None
            else None
        )
        expressions.finish()
    except ExpressionError as exc:
        raise validation(str(exc)) from None
    hash_value = _hash_value(request, expressions, hash_name)
    limit = _limit(request.get("Limit"))
    forward = request.get("ScanIndexForward", True) is not False
    start = request.get("ExclusiveStartKey")
    start_key = key_from_map(table, start, items) if start is not None else None

    keys = sorted(items.keys_with(table, (hash_name, *hash_value)), key=_range_order(names))
    if not forward:
        keys.reverse()
    if start_key is not None:
        keys = keys[keys.index(start_key) + 1 :] if start_key in keys else []
    found: list[Item] = []
    scanned = 0
    last: Key | None = None
    for key in keys:
        item = live(items.read(table, key))
        if item is None or not key_condition(item):
            continue
        scanned += 1
        if filter_condition is None or filter_condition(item):
            found.append(project(item, paths) if paths is not None else item)
        if scanned >= limit:
            last = key
            break
    payload: dict[str, Any] = {"Count": len(found), "ScannedCount": scanned}
    if request.get("Select") != "COUNT":
        payload["Items"] = found
    if last is not None and last != keys[-1]:
        payload["LastEvaluatedKey"] = key_map(last)
    return Result(payload)


def _hash_value(
    request: dict[str, Any], expressions: Expressions, hash_name: str
) -> tuple[str, str]:
    """The hash key's value: the key condition must test `hash = :v` (DynamoDB's rule)."""
    value = expressions.equality_on(request.get("KeyConditionExpression"), hash_name)
    if value is None:
        raise validation(f"Query condition missed key schema element: {hash_name}")
    _, kind, raw = key_part(hash_name, value)
    return kind, raw


def _range_order(names: tuple[str, ...]) -> Any:
    if len(names) < 2:
        return lambda key: 0
    range_name = names[1]

    def order(key: Key) -> Any:
        for name, kind, raw in key:
            if name == range_name:
                return (0, Decimal(raw)) if kind == "N" else (1, raw)
        return (2, "")

    return order


def _limit(value: object) -> int:
    if value is None:
        return MAX_QUERY_PAGE
    if not isinstance(value, int) or value < 1:
        raise validation(
            "1 validation error detected: Value at 'limit' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1"
        )
    return min(value, MAX_QUERY_PAGE)


def batch_get_item(request: dict[str, Any], items: Items) -> Result:
    requested = request.get("RequestItems")
    if not isinstance(requested, dict) or not requested:
        raise validation("The requestItems parameter is required for BatchGetItem")
    total = sum(
        len(spec.get("Keys") or []) for spec in requested.values() if isinstance(spec, dict)
    )
    if total > MAX_BATCH_GET:
        raise validation("Too many items requested for the BatchGetItem call")
    responses: dict[str, list[Item]] = {}
    for table, spec in requested.items():
        check_table(table)
        if not isinstance(spec, dict) or not isinstance(spec.get("Keys"), list) or not spec["Keys"]:
            raise validation(f"Keys for table {table} must be a non-empty list")
        try:
            expressions = Expressions(spec)
            paths = (
                expressions.projection(spec["ProjectionExpression"])
                if spec.get("ProjectionExpression") is not None
                else None
            )
            expressions.finish()
        except ExpressionError as exc:
            raise validation(str(exc)) from None
        keys = [key_from_map(table, key, items) for key in spec["Keys"]]
        if len(set(keys)) != len(keys):
            raise validation("Provided list of item keys contains duplicates")
        found = [live(items.read(table, key)) for key in keys]
        responses[table] = [
            project(item, paths) if paths is not None else item for item in found if item
        ]
    return Result({"Responses": responses, "UnprocessedKeys": {}})


def batch_write_item(request: dict[str, Any], items: Items) -> Result:
    requested = request.get("RequestItems")
    if not isinstance(requested, dict) or not requested:
        raise validation("The requestItems parameter is required for BatchWriteItem")
    writes: list[tuple[str, Key, Item | None]] = []
    for table, entries in requested.items():
        check_table(table)
        if not isinstance(entries, list) or not entries:
            raise validation(f"RequestItems for table {table} must be a non-empty list")
        for entry in entries:
            writes.append(_write(table, entry, items))
    if len(writes) > MAX_BATCH_WRITE:
        raise validation(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: "
            f"Map value must satisfy constraint: [Member must have length less than or equal to "
            f"{MAX_BATCH_WRITE}]"
        )
    seen = [(table, key) for table, key, _ in writes]
    if len(set(seen)) != len(seen):
        raise validation("Provided list of item keys contains duplicates")
    for table, key, item in writes:  # validated whole before anything is written
        items.write(table, key, item)
    return Result({"UnprocessedItems": {}})


def _write(table: str, entry: object, items: Items) -> tuple[str, Key, Item | None]:
    if isinstance(entry, dict) and len(entry) == 1:
        if isinstance(put := entry.get("PutRequest"), dict) and isinstance(put.get("Item"), dict):
            item: Item = put["Item"]
            check_item(item)
            return table, key_from_item(table, item, items), item
        if isinstance(delete := entry.get("DeleteRequest"), dict):
            return table, key_from_map(table, delete.get("Key"), items), None
    raise DynamoError(
        "ValidationException",
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of "
        "the supported datatypes: PutRequest or DeleteRequest",
    )
