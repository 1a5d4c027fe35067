"""Streams one JSON line per finished request to requests.jsonl.gz, so memory stays flat."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import IO

from harness.events import RequestFinished

_FLUSH_EVERY = 2000


class RecordWriter:
    """Subscribe `write` to RequestFinished. Times are written relative to the run start."""

    def __init__(self, path: Path, *, origin: float) -> None:
        self.path = path
        self._origin = origin
        self._file: IO[str] | None = gzip.open(  # noqa: SIM115 - stays open for the run
            path, "wt", encoding="utf-8", compresslevel=3
        )
        self._pending: list[str] = []
        self.written = 0

    def write(self, event: RequestFinished) -> None:
        origin = self._origin
        self._pending.append(
            json.dumps(
                {
                    "strategy": event.strategy,
                    "intended": round(event.intended_start - origin, 6),
                    "start": round(event.start - origin, 6),
                    "end": round(event.end - origin, 6),
                    "op": event.op,
                    "key_hash": event.key_hash,
                    "outcome": event.outcome.value,
                    "attempts": event.attempts,
                    "regions": list(event.regions_tried),
                    "served": event.region_served,
                    "status": event.status,
                },
                separators=(",", ":"),
            )
        )
        if len(self._pending) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._file is not None and self._pending:
            self._file.write("\n".join(self._pending) + "\n")
            self.written += len(self._pending)
            self._pending.clear()

    def close(self) -> None:
        if self._file is None:
            return
        self.flush()
        self._file.close()
        self._file = None
