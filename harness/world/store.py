"""One region's items, versioned for last-writer-wins (the conflict rule of DynamoDB global tables).

Every write gets a version `(loop time of the write, origin region, per-region sequence)`: tuples
compare by time first, then the region name breaks ties between regions, then the sequence orders
writes made in one region within one clock tick (uvloop's clock ticks in 1 ms). A delete is a write
whose item is None (a tombstone): it is kept so a late, older write cannot resurrect the item.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

Version = tuple[float, str, int]
Item = dict[str, Any]  # DynamoDB typed JSON: {"pk": {"S": "k1"}, "n": {"N": "3"}}
Key = tuple[tuple[str, str, str], ...]  # ((attribute, type, value), ...) sorted by attribute

# Tables nobody created take this key: `pk`, plus `sk` when the item or key has one.
DEFAULT_HASH_KEY = "pk"
DEFAULT_RANGE_KEY = "sk"


_stamps = itertools.count(1)


def next_stamp() -> int:
    """A process-wide logical clock: orders events that share one loop time (virtual time has
    many), which a comparison of loop times cannot."""
    return next(_stamps)


@dataclass(slots=True, eq=False)
class Record:
    """One write, shared by every replica it reaches. `item` None means the item was deleted."""

    item: Item | None
    version: Version
    stamp: int = field(default_factory=next_stamp)  # logical time of the write
    # region -> logical time this write reached it (its origin included): tells whether a later
    # write in another region could have seen it (see harness.world.replication).
    seen_at: dict[str, int] = field(default_factory=dict)
    lost: bool = False

    @property
    def timestamp(self) -> float:
        return self.version[0]

    @property
    def origin(self) -> str:
        return self.version[1]


class Store:
    """Tables of one region: key -> newest Record, plus each table's declared key attributes."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._tables: dict[str, dict[Key, Record]] = {}
        self._schemas: dict[str, tuple[str, ...]] = {}
        # table -> key part -> keys holding it: Query reads one hash key's items, not the table
        self._parts: dict[str, dict[tuple[str, str, str], list[Key]]] = {}

    def get(self, table: str, key: Key) -> Record | None:
        """The newest record (possibly a tombstone), or None if the key was never written here."""
        rows = self._tables.get(table)
        return rows.get(key) if rows is not None else None

    def apply(self, table: str, key: Key, record: Record) -> tuple[bool, Record | None]:
        """Last-writer-wins. Returns (applied, other): `other` is the record displaced when
        applied, or the newer record that made this one lose when not."""
        rows = self._tables.get(table)
        if rows is None:
            rows = self._tables[table] = {}
        current = rows.get(key)
        if current is not None and current.version >= record.version:
            return False, current
        if key not in rows:
            parts = self._parts.setdefault(table, {})
            for part in key:
                parts.setdefault(part, []).append(key)
        rows[key] = record
        return True, current

    def keys_with(self, table: str, part: tuple[str, str, str]) -> list[Key]:
        """Keys ever written in `table` that hold `part` (tombstones included)."""
        return list(self._parts.get(table, {}).get(part, ()))

    def items(self, table: str) -> int:
        """Live items (tombstones excluded) in `table`."""
        rows = self._tables.get(table, {})
        return sum(1 for record in rows.values() if record.item is not None)

    # ---- key schemas ---------------------------------------------------------------------------

    def create_table(self, table: str, key_names: tuple[str, ...]) -> None:
        self._schemas[table] = key_names
        self._tables.setdefault(table, {})

    def declared_key(self, table: str) -> tuple[str, ...] | None:
        """Key attributes given by CreateTable, or None for a table that simply came into being."""
        return self._schemas.get(table)
