"""Streams one JSON line per finished request to requests.jsonl.gz, so memory stays flat.

The file is a series of independent gzip members, one per flush, each written straight to the OS
(no user-space buffer). A flush happens every second of run time (or every `_FLUSH_EVERY` records,
whichever comes first), so a run killed with SIGKILL loses at most its last second of records,
and what it leaves is readable up to the last complete member: `gzip -dc` and our reader accept
concatenated members, and our reader drops (and reports) a truncated last one.
"""

from __future__ import annotations

import contextlib
import gzip
from pathlib import Path
from typing import BinaryIO

from harness.errors import HarnessError
from harness.events import RequestFinished

_FLUSH_EVERY = 2000  # records: bounds the buffer when a virtual clock runs far faster than real
_FLUSH_INTERVAL = 1.0  # seconds of run time between flushes


class RecordWriter:
    """Subscribe `write` to RequestFinished. Times are written relative to the run start."""

    def __init__(
        self,
        path: Path,
        *,
        origin: float,
        flush_every: int = _FLUSH_EVERY,
        flush_interval: float = _FLUSH_INTERVAL,
    ) -> None:
        self.path = path
        self._origin = origin
        self._flush_every = flush_every
        self._flush_interval = flush_interval
        try:
            self._file: BinaryIO | None = path.open("wb")  # open for the run
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        self._pending: list[str] = []
        self._last_flush = origin  # on the measurement clock, as the events' `end`
        self.written = 0

    def write(self, event: RequestFinished) -> None:
        # Formatted by hand, not json.dumps (half the cost on the hot path): every string here
        # is a validated name (strategy, region, op) or an outcome class, so none needs escaping.
        origin = self._origin
        regions = ",".join(f'"{r}"' for r in event.regions_tried)
        served = "null" if event.region_served is None else f'"{event.region_served}"'
        status = "null" if event.status is None else str(event.status)
        home = f',"home":"{event.home}"' if event.home else ""  # the host's population
        self._pending.append(
            f'{{"strategy":"{event.strategy}","intended":{event.intended_start - origin:.6f},'
            f'"start":{event.start - origin:.6f},"end":{event.end - origin:.6f},'
            f'"op":"{event.op}","key_hash":{event.key_hash},"outcome":"{event.outcome.value}",'
            f'"attempts":{event.attempts},"regions":[{regions}],"served":{served},'
            f'"status":{status},"host":{event.host}{home}}}'
        )
        if (
            len(self._pending) >= self._flush_every
            or event.end - self._last_flush >= self._flush_interval
        ):
            self._last_flush = event.end
            self.flush()

    def flush(self) -> None:
        """Write what is pending as one complete gzip member."""
        if self._file is None or not self._pending:
            return
        data = ("\n".join(self._pending) + "\n").encode("utf-8")
        count = len(self._pending)
        self._pending.clear()
        try:
            self._file.write(gzip.compress(data, compresslevel=1, mtime=0))
            self._file.flush()  # to the OS now: it survives the process being killed
        except OSError as exc:  # a full disk: stop writing, say where and why
            self._abandon()
            raise _cannot_write(self.path, exc) from None
        self.written += count

    def close(self) -> None:
        if self._file is None:
            return
        try:
            self.flush()
        finally:
            self._abandon()

    def _abandon(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):  # its buffer cannot be written either
                file.close()


def _cannot_write(path: Path, exc: OSError) -> HarnessError:
    return HarnessError(f"{path}: cannot write ({exc.strerror or exc})")
