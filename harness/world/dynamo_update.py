"""UpdateItem's update, in the two forms DynamoDB accepts, reduced to (attribute, value|None) pairs.

Supported: `UpdateExpression` with `SET p = :v, ...` and `REMOVE p, ...` clauses, where p is a
top-level attribute name or a `#name` token from ExpressionAttributeNames and :v a token from
ExpressionAttributeValues (DynamoDB calls both substitution tokens); and legacy
`AttributeUpdates` with Action PUT or DELETE. Nested paths,
functions (if_not_exists, list_append), arithmetic, ADD and DELETE clauses are refused with a
ValidationException that says so (dynamo.py turns UpdateError into one).
"""

from __future__ import annotations

import re
from typing import Any

from harness.world.store import Item

Updates = tuple[tuple[str, Any | None], ...]  # (attribute, new value) ; None removes it

_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UpdateError(ValueError):
    """The update cannot be understood; the message is DynamoDB's (or says what is supported)."""


_SUPPORTED = "this endpoint supports `SET name = :value, ...` and `REMOVE name, ...`"


def parse_updates(request: dict[str, Any]) -> Updates:
    expression = request.get("UpdateExpression")
    legacy = request.get("AttributeUpdates")
    if expression is not None and legacy is not None:
        raise UpdateError("Can not use both expression and non-expression parameters")
    if legacy is not None:
        return _legacy(legacy)
    if not isinstance(expression, str) or not expression.strip():
        raise UpdateError("UpdateExpression or AttributeUpdates is required")
    names = request.get("ExpressionAttributeNames") or {}
    values = request.get("ExpressionAttributeValues") or {}
    parts = _CLAUSE.split(expression)
    if parts[0].strip():
        raise UpdateError(f"Invalid UpdateExpression {expression!r}: {_SUPPORTED}")
    updates: list[tuple[str, Any | None]] = []
    seen: set[str] = set()
    for keyword, body in zip(parts[1::2], parts[2::2], strict=True):
        clause = keyword.upper()
        if clause not in ("SET", "REMOVE") or clause in seen:
            raise UpdateError(f"Invalid UpdateExpression {expression!r}: {_SUPPORTED}")
        seen.add(clause)
        for action in body.split(","):
            if clause == "SET":
                path, equals, value = action.partition("=")
                if not equals:
                    raise UpdateError(f"Invalid UpdateExpression {expression!r}: {_SUPPORTED}")
                updates.append((_path(path, names), _value(value, values, expression)))
            else:
                updates.append((_path(action, names), None))
    return tuple(updates)


def apply_updates(item: Item, updates: Updates) -> Item:
    new = dict(item)
    for name, value in updates:
        if value is None:
            new.pop(name, None)
        else:
            new[name] = value
    return new


def _path(text: str, names: dict[str, str]) -> str:
    token = text.strip()
    if token.startswith("#"):
        if token not in names:
            raise UpdateError(
                "An expression attribute name used in the document path is not defined; "
                f"attribute name: {token}"
            )
        return str(names[token])
    if not _NAME.match(token):
        raise UpdateError(f"Invalid UpdateExpression path {token!r}: {_SUPPORTED}")
    return token


def _value(text: str, values: dict[str, Any], expression: str) -> Any:
    token = text.strip()
    if not token.startswith(":") or not _NAME.match(token[1:]):
        raise UpdateError(f"Invalid UpdateExpression {expression!r}: {_SUPPORTED}")
    if token not in values:
        raise UpdateError(
            "An expression attribute value used in expression is not defined; "
            f"attribute value: {token}"
        )
    value = values[token]
    if not isinstance(value, dict) or len(value) != 1:
        raise UpdateError(f"not a DynamoDB attribute value: {value!r}")
    return value


def _legacy(updates: object) -> Updates:
    if not isinstance(updates, dict):
        raise UpdateError("AttributeUpdates must be a map")
    out: list[tuple[str, Any | None]] = []
    for name, change in updates.items():
        action = change.get("Action", "PUT") if isinstance(change, dict) else None
        if action == "DELETE":
            out.append((str(name), None))
        elif action == "PUT" and isinstance(change, dict) and isinstance(change.get("Value"), dict):
            out.append((str(name), change["Value"]))
        else:
            raise UpdateError(
                f"AttributeUpdates {name!r}: only PUT with a Value, or DELETE, is supported"
            )
    return tuple(out)
