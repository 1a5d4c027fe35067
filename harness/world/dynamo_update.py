"""UpdateItem's update, in the two forms DynamoDB accepts, reduced to update actions.

`UpdateExpression` (SET, REMOVE, ADD, DELETE; `SET a = a + :x`, `if_not_exists`, `list_append`)
is parsed by dynamo_expr; legacy `AttributeUpdates` (Action PUT, DELETE, ADD) maps onto the same
actions. Values are computed from the item as it was before the update, as DynamoDB does.
"""

from __future__ import annotations

from typing import Any

from harness.world.dynamo_expr import ExpressionError, Expressions, UpdateAction

Updates = tuple[UpdateAction, ...]


class UpdateError(ValueError):
    """The update cannot be understood; the message is DynamoDB's."""


def parse_updates(request: dict[str, Any], expressions: Expressions) -> Updates:
    expression = request.get("UpdateExpression")
    legacy = request.get("AttributeUpdates")
    if expression is not None and legacy is not None:
        raise UpdateError(
            "Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {AttributeUpdates} Expression parameters: "
            "{UpdateExpression}"
        )
    if legacy is not None:
        return _legacy(legacy)
    if expression is None:
        return ()  # DynamoDB accepts an UpdateItem without changes (it creates the item)
    try:
        return expressions.update(expression)
    except ExpressionError as exc:
        raise UpdateError(str(exc)) from None


def _legacy(updates: object) -> Updates:
    if not isinstance(updates, dict):
        raise UpdateError("AttributeUpdates must be a map")
    out: list[UpdateAction] = []
    for name, change in updates.items():
        action = change.get("Action", "PUT") if isinstance(change, dict) else None
        value = change.get("Value") if isinstance(change, dict) else None
        if action == "DELETE" and value is None:
            out.append(UpdateAction("REMOVE", (str(name),)))
        elif action in ("PUT", "ADD", "DELETE") and isinstance(value, dict):
            clause = "SET" if action == "PUT" else action
            out.append(UpdateAction(clause, (str(name),), _constant(value)))
        else:
            raise UpdateError(
                f"One or more parameter values were invalid: Action {action!r} for {name!r} "
                "needs a Value"
            )
    return tuple(out)


def _constant(value: dict[str, Any]) -> Any:
    return lambda item: value
