"""What every DynamoDB op shares: errors in DynamoDB's shape, the items interface, keys, values."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.world.dynamo_limits import ITEM_TOO_LARGE, LimitError, item_size
from harness.world.store import DEFAULT_HASH_KEY, DEFAULT_RANGE_KEY, Item, Key, Record

_DYNAMO = "com.amazonaws.dynamodb.v20120810#"
_CORAL = "com.amazon.coral.service#"
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_KEY_TYPES = frozenset({"S", "N", "B"})
_valid_tables: set[str] = set()  # names already checked: skips the regex on the hot path


class DynamoError(Exception):
    """An error answered in DynamoDB's shape: {"__type": "...#Code", "message": "..."}."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        extra: dict[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}
        self.namespace = namespace  # the __type prefix, when not the usual one for `code`

    def payload(self) -> dict[str, Any]:
        prefix = self.namespace or (
            _CORAL
            if self.code in ("UnknownOperationException", "SerializationException")
            else _DYNAMO
        )
        return {"__type": prefix + self.code, "message": self.message, **self.extra}


def validation(message: str) -> DynamoError:
    return DynamoError("ValidationException", message)


def condition_failed(old: Item | None, request: dict[str, Any]) -> DynamoError:
    """ConditionalCheckFailedException, with the old item when the caller asked for it."""
    extra = (
        {"Item": old}
        if old is not None and request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
        else None
    )
    return DynamoError(
        "ConditionalCheckFailedException", "The conditional request failed", 400, extra
    )


class Items(Protocol):
    """What an op needs from its region: reads, writes (versioned by the region), key schemas."""

    def read(self, table: str, key: Key) -> Record | None: ...
    def write(self, table: str, key: Key, item: Item | None) -> Record | None:
        """Store `item` (None deletes); returns the record it replaced, if any."""

    def keys_with(self, table: str, part: tuple[str, str, str]) -> Iterable[Key]:
        """Keys of `table` that contain this (attribute, type, value) part."""

    def declared_key(self, table: str) -> tuple[str, ...] | None: ...
    def create_table(self, table: str, key_names: tuple[str, ...]) -> None: ...


@dataclass(frozen=True, slots=True)
class Result:
    payload: dict[str, Any]
    version: float | None = None  # write timestamp of the item a read returned


Handler = Callable[[str, dict[str, Any], Items, str], Result]


def check_table(table: object) -> str:
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
    return table


# ---- keys and values ---------------------------------------------------------------------------


def key_names(table: str, items: Items, item: Item | None = None) -> tuple[str, ...]:
    """The table's key attributes: declared by CreateTable, else `pk` (+ `sk` if the item has
    one)."""
    names = items.declared_key(table)
    if names is not None:
        return names
    if item is not None and DEFAULT_RANGE_KEY in item:
        return (DEFAULT_HASH_KEY, DEFAULT_RANGE_KEY)
    return (DEFAULT_HASH_KEY,)


def key_from_map(table: str, key_map: object, items: Items) -> Key:
    if not isinstance(key_map, dict) or not key_map:
        raise validation("The provided key element does not match the schema")
    _check_key_names(table, set(key_map), items)
    return tuple(sorted(key_part(name, value) for name, value in key_map.items()))


def key_from_item(table: str, item: Item, items: Items) -> Key:
    names = key_names(table, items, item)
    for name in names:
        if name not in item:
            raise validation(
                f"One or more parameter values were invalid: Missing the key {name} in the item"
            )
    return tuple(sorted(key_part(name, item[name]) for name in names))


def key_map(key: Key) -> Item:
    return {name: {kind: value} for name, kind, value in key}


def _check_key_names(table: str, names: set[str], items: Items) -> None:
    declared = items.declared_key(table)
    if declared is not None:
        ok = names == set(declared)
    else:
        ok = DEFAULT_HASH_KEY in names and names <= {DEFAULT_HASH_KEY, DEFAULT_RANGE_KEY}
    if not ok:
        raise validation("The provided key element does not match the schema")


def key_part(name: str, value: object) -> tuple[str, str, str]:
    if isinstance(value, dict) and len(value) == 1:
        ((kind, raw),) = value.items()
        if kind in _KEY_TYPES and isinstance(raw, str) and raw:
            return (name, kind, raw)
    raise validation(f"key attribute {name} must be a non-empty S, N or B value, got {value!r}")


def check_item(item: Item, too_large: str = ITEM_TOO_LARGE) -> None:
    """DynamoDB's limits on a whole item (dynamo_limits): 400 KB, 32 levels, typed values.
    `too_large` is the message for the size, which differs between PutItem and UpdateItem."""
    try:
        item_size(item)
    except LimitError as exc:
        message = str(exc)
        raise validation(too_large if message == ITEM_TOO_LARGE else message) from None


def return_values(request: dict[str, Any], allowed: tuple[str, ...]) -> str:
    returns = request.get("ReturnValues", "NONE")
    if returns not in allowed:
        raise validation(f"ReturnValues {returns!r} is not one of {', '.join(allowed)}")
    return str(returns)


def live(record: Record | None) -> Item | None:
    return record.item if record is not None else None
