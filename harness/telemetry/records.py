"""Streams one JSON line per finished request to requests.jsonl.gz, so memory stays flat."""

from __future__ import annotations

import gzip
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
            path, "wt", encoding="utf-8", compresslevel=1
        )
        self._pending: list[str] = []
        self.written = 0

    def write(self, event: RequestFinished) -> None:
        # Formatted by hand, not json.dumps (half the cost on the hot path): every string here
        # is a validated name (strategy, region, op) or an outcome class, so none needs escaping.
        origin = self._origin
        regions = ",".join(f'"{r}"' for r in event.regions_tried)
        served = "null" if event.region_served is None else f'"{event.region_served}"'
        status = "null" if event.status is None else str(event.status)
        self._pending.append(
            f'{{"strategy":"{event.strategy}","intended":{event.intended_start - origin:.6f},'
            f'"start":{event.start - origin:.6f},"end":{event.end - origin:.6f},'
            f'"op":"{event.op}","key_hash":{event.key_hash},"outcome":"{event.outcome.value}",'
            f'"attempts":{event.attempts},"regions":[{regions}],"served":{served},'
            f'"status":{status},"host":{event.host}}}'
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
