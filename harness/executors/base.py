"""What every executor offers the coordinator: submit units, hear back, stop them all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from harness.executors.units import Unit, UnitResult


@dataclass(frozen=True, slots=True)
class Finished:
    """The unit ran (to its end, stopped, or failing): its result, as plain data."""

    unit_id: str
    attempt: int
    result: UnitResult


@dataclass(frozen=True, slots=True)
class Lost:
    """The process or task running the unit vanished (kill -9, out of memory, a lost Dask
    worker): nothing came back, and running it again may well succeed."""

    unit_id: str
    attempt: int
    reason: str


Done = Finished | Lost


class Executor(Protocol):
    kind: str
    workers: int  # units it runs at once

    def submit(self, unit: Unit, attempt: int) -> None: ...

    def poll(self, timeout: float) -> list[Done]:
        """What finished since the last call; waits up to `timeout` seconds for something."""
        ...

    def stop(self) -> None:
        """Ask every unit to stop: running ones end cleanly (faults reverted, partial results),
        those not started yet come back `skipped`."""
        ...

    def close(self) -> None: ...
