"""Single-item ops: GetItem, PutItem, DeleteItem, UpdateItem, with DynamoDB's condition
expressions (ConditionalCheckFailedException when one does not hold), projections and
ReturnValues. Legacy `Expected`/`ConditionalOperator` are refused with a ValidationException."""

from __future__ import annotations

from typing import Any

from harness.world.dynamo_core import (
    Items,
    Result,
    check_item,
    condition_failed,
    key_from_item,
    key_from_map,
    key_map,
    live,
    return_values,
    validation,
)
from harness.world.dynamo_expr import ExpressionError, Expressions, apply_update, project
from harness.world.dynamo_update import UpdateError, parse_updates
from harness.world.store import Item, Key


def _expressions(request: dict[str, Any]) -> Expressions:
    if "Expected" in request or "ConditionalOperator" in request:
        raise validation(
            "legacy conditional parameters (Expected, ConditionalOperator) are not supported by "
            "this endpoint: use ConditionExpression"
        )
    try:
        return Expressions(request)
    except ExpressionError as exc:
        raise validation(str(exc)) from None


def _check_condition(request: dict[str, Any], expressions: Expressions, old: Item | None) -> None:
    text = request.get("ConditionExpression")
    if text is None:
        return
    try:
        holds = expressions.condition(text)(old if old is not None else {})
    except ExpressionError as exc:
        raise validation(str(exc)) from None
    if not holds:
        raise condition_failed(old, request)


def _finish(expressions: Expressions) -> None:
    try:
        expressions.finish()
    except ExpressionError as exc:
        raise validation(str(exc)) from None


def get_item(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    expressions = _expressions(request)
    key = key_from_map(table, request.get("Key"), items)
    paths = None
    try:
        if request.get("ProjectionExpression") is not None:
            paths = expressions.projection(request["ProjectionExpression"])
        elif request.get("AttributesToGet") is not None:
            paths = tuple((str(name),) for name in request["AttributesToGet"])
    except ExpressionError as exc:
        raise validation(str(exc)) from None
    _finish(expressions)
    record = items.read(table, key)
    if record is None or record.item is None:
        return Result({})
    item = project(record.item, paths) if paths is not None else record.item
    return Result({"Item": item}, record.timestamp)


def put_item(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    item = request.get("Item")
    if not isinstance(item, dict):
        raise validation("Item must be a map of attribute values")
    check_item(item)
    returns = return_values(request, ("NONE", "ALL_OLD"))
    expressions = _expressions(request)
    key = key_from_item(table, item, items)
    old = _conditional(table, key, request, expressions, items)
    previous = items.write(table, key, item)
    return _old(live(previous) if old is None else old, returns)


def delete_item(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    returns = return_values(request, ("NONE", "ALL_OLD"))
    expressions = _expressions(request)
    key = key_from_map(table, request.get("Key"), items)
    old = _conditional(table, key, request, expressions, items)
    previous = items.write(table, key, None)
    return _old(live(previous) if old is None else old, returns)


def _conditional(
    table: str, key: Key, request: dict[str, Any], expressions: Expressions, items: Items
) -> Item | None:
    """Check the write's condition against the current item (read only when there is one)."""
    if request.get("ConditionExpression") is None:
        _finish(expressions)
        return None
    old = live(items.read(table, key))
    _check_condition(request, expressions, old)
    _finish(expressions)
    return old


def _old(old: Item | None, returns: str) -> Result:
    return Result({"Attributes": old} if returns == "ALL_OLD" and old else {})


def update_item(table: str, request: dict[str, Any], items: Items, region: str) -> Result:
    key = key_from_map(table, request.get("Key"), items)
    returns = return_values(request, ("NONE", "ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"))
    expressions = _expressions(request)
    try:
        updates = parse_updates(request, expressions)
    except UpdateError as exc:
        raise validation(str(exc)) from None
    key_attributes = {name for name, _, _ in key}
    for action in updates:
        if action.attribute in key_attributes:
            raise validation(
                f"One or more parameter values were invalid: Cannot update attribute "
                f"{action.attribute}. This attribute is part of the key"
            )
    old = live(items.read(table, key))
    _check_condition(request, expressions, old)
    _finish(expressions)
    base = old if old is not None else key_map(key)
    try:
        new = apply_update(base, updates)
    except ExpressionError as exc:
        raise validation(str(exc)) from None
    check_item(new, "Item size to update has exceeded the maximum allowed size")
    items.write(table, key, new)
    changed = {action.attribute for action in updates}
    chosen: Item | None = {
        "NONE": None,
        "ALL_OLD": old,
        "ALL_NEW": new,
        "UPDATED_OLD": {k: v for k, v in (old or {}).items() if k in changed},
        "UPDATED_NEW": {k: v for k, v in new.items() if k in changed},
    }[returns]
    return Result({"Attributes": chosen} if chosen else {})
