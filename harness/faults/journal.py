"""The fault journal: what was applied and reverted, when it was due and when it happened.

Times are seconds from the run's start on the loop clock; `wall` is the wall-clock stamp (ISO 8601,
UTC) for matching against logs and dashboards. `to_json()` is journal.json; `faults_summary()` is
summary.json's `faults`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Action = Literal["apply", "revert"]
RevertReason = Literal["scheduled", "end_of_run", "aborted", "error", "interrupted"]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    index: int  # position in the scenario's timeline
    fault: str
    target: str
    action: Action
    scheduled: float
    actual: float
    lag_ms: float
    wall: str
    reason: str | None = None  # why a revert happened
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _FaultSummary:
    fault: str
    target: str
    scheduled_start: float
    scheduled_end: float | None  # None: until the end of the run
    applied_at: float | None = None
    reverted_at: float | None = None
    apply_lag_ms: float | None = None
    revert_lag_ms: float | None = None
    revert_reason: str | None = None
    error: str | None = None


def iso_utc(epoch_seconds: float) -> str:
    stamp = datetime.fromtimestamp(epoch_seconds, tz=UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


class Journal:
    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []
        self._faults: dict[int, _FaultSummary] = {}

    def plan(self, index: int, fault: str, target: str, start: float, end: float | None) -> None:
        """Register a timeline entry, so the summary lists it even if it never ran."""
        self._faults[index] = _FaultSummary(fault, target, start, end)

    def record(self, entry: JournalEntry) -> None:
        self.entries.append(entry)
        summary = self._faults.get(entry.index)
        if summary is None:
            return
        if entry.error is not None and summary.error is None:
            summary.error = entry.error
        if entry.action == "apply":
            summary.applied_at = None if entry.error else entry.actual
            summary.apply_lag_ms = entry.lag_ms
        else:
            summary.reverted_at = entry.actual
            summary.revert_lag_ms = entry.lag_ms
            summary.revert_reason = entry.reason

    def to_json(self) -> list[dict[str, Any]]:
        """journal.json: every apply and revert in the order they happened."""
        return [asdict(entry) for entry in self.entries]

    def faults_summary(self) -> list[dict[str, Any]]:
        """summary.json's `faults`: one item per timeline entry."""
        return [asdict(self._faults[index]) for index in sorted(self._faults)]

    def lags_ms(self, action: Action | None = None) -> list[float]:
        return [
            e.lag_ms
            for e in self.entries
            if e.error is None and (action is None or e.action == action)
        ]
