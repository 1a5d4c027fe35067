"""One progress bar for a whole comparison: units done, requests so far, ETA.

Completion is measured in loop seconds run (each unit's elapsed scenario time), so the bar and
its ETA move smoothly even when there are fewer units than minutes."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from harness.executors.units import Unit


class UnitsProgress:
    def __init__(self, units: list[Unit], console: Console, *, live: bool) -> None:
        self._lock = threading.Lock()  # reports arrive from pool and Dask threads
        self._duration = {u.id: max(u.duration, 1e-9) for u in units}
        self._elapsed = dict.fromkeys(self._duration, 0.0)
        self._requests = dict.fromkeys(self._duration, 0)
        self._attempt = dict.fromkeys(self._duration, 1)
        self._done = 0
        self._live = live
        self._progress = Progress(
            TextColumn("[bold]units {task.fields[done]}/{task.fields[units]}"),
            BarColumn(bar_width=30),
            TextColumn("{task.fields[requests]} requests"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not live,
        )
        self._task = self._progress.add_task(
            "units", total=sum(self._duration.values()), done=0, units=len(units), requests="0"
        )

    def __enter__(self) -> UnitsProgress:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.__exit__(kind, value, traceback)

    def report(self, unit_id: str, attempt: int, elapsed: float, requests: int) -> None:
        with self._lock:
            if attempt != self._attempt.get(unit_id):
                return  # a late message from an attempt given up on
            self._elapsed[unit_id] = min(max(elapsed, 0.0), self._duration[unit_id])
            self._requests[unit_id] = requests
            self._refresh()

    def retry(self, unit_id: str, attempt: int) -> None:
        with self._lock:
            self._attempt[unit_id] = attempt
            self._elapsed[unit_id], self._requests[unit_id] = 0.0, 0
            self._refresh()

    def finished(self, unit_id: str, requests: int) -> None:
        with self._lock:
            self._attempt[unit_id] = -1
            self._elapsed[unit_id] = self._duration[unit_id]
            self._requests[unit_id] = requests
            self._done += 1
            self._refresh()

    def _refresh(self) -> None:
        self._progress.update(
            self._task,
            completed=sum(self._elapsed.values()),
            done=self._done,
            requests=f"{sum(self._requests.values()):,}",
        )
