"""DynamoDB's size and shape limits on items, checked as DynamoDB checks them.

- An item is at most 400 KB (409,600 bytes), counted as DynamoDB documents it ("Item sizes and
  formats"): attribute names and strings by their UTF-8 length, numbers by about one byte per two
  significant digits plus one, binaries by their decoded length, booleans and nulls one byte,
  lists and maps three bytes plus one per element plus their elements (and a map's names).
- Attribute values nest at most 32 levels deep.
- Every attribute value has exactly one type of the ones DynamoDB knows.

The walk is iterative and stops at the first limit crossed, so a hostile item costs at most its
own size in work, with no recursion to exhaust.
"""

from __future__ import annotations

from typing import Any

MAX_ITEM_BYTES = 400 * 1024
MAX_DEPTH = 32
ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
_SCALARS = frozenset({"S", "N", "B", "BOOL", "NULL"})
_SETS = frozenset({"SS", "NS", "BS"})
TYPES = _SCALARS | _SETS | {"L", "M"}


class LimitError(ValueError):
    """A limit was crossed; the message is DynamoDB's."""


def item_size(item: dict[str, Any], *, limit: int = MAX_ITEM_BYTES) -> int:
    """The item's size in DynamoDB's accounting; LimitError past `limit`, past 32 levels of
    nesting or on a value that is not an attribute value."""
    size = 0
    stack: list[tuple[object, int]] = []
    for name, value in item.items():
        size += _utf8_len(name)
        stack.append((value, 1))
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise LimitError("Nesting Levels have exceeded supported limits")
        if not isinstance(value, dict) or len(value) != 1:
            raise LimitError(
                "Supplied AttributeValue is empty, must contain exactly one of the supported "
                "datatypes"
            )
        ((kind, raw),) = value.items()
        if kind == "M" and isinstance(raw, dict):
            size += 3 + len(raw)
            for name, child in raw.items():
                size += _utf8_len(name)
                stack.append((child, depth + 1))
        elif kind == "L" and isinstance(raw, list):
            size += 3 + len(raw)
            stack.extend((child, depth + 1) for child in raw)
        elif kind in _SETS and isinstance(raw, list) and raw:
            size += sum(_scalar_size(kind[0], element) for element in raw)
        elif kind in _SCALARS:
            size += _scalar_size(kind, raw)
        else:
            raise LimitError(f"Supplied AttributeValue has an invalid {kind!r} value")
        if size > limit:
            raise LimitError(ITEM_TOO_LARGE)
    return size


def _scalar_size(kind: str, raw: object) -> int:
    if kind == "S" and isinstance(raw, str):
        return _utf8_len(raw)
    if kind == "N" and isinstance(raw, str):
        digits = raw.lstrip("+-").split("e")[0].split("E")[0].replace(".", "").strip("0")
        return (len(digits) + 1) // 2 + 1
    if kind == "B" and isinstance(raw, str):
        return len(raw) * 3 // 4 - raw[-2:].count("=")  # base64 on the wire
    if kind in ("BOOL", "NULL") and isinstance(raw, bool):
        return 1
    raise LimitError(f"Supplied AttributeValue has an invalid {kind!r} value")


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
