"""Fault windows of a run and the time ranges the metrics are measured over.

Definitions (all by a request's INTENDED start, so a slow request counts where it was meant to go):
- the end of the run is its horizon: `duration` (requests are intended in [0, duration)), or the
  abort. `elapsed` is longer: it includes draining the requests still in flight.
- fault window k: [applied_at, reverted_at); a fault not reverted before the horizon (never, or by
  the clean-up at the end of the run) lasts until the horizon and has no recovery time.
  A fault never applied has no window.
- pre-fault range of window k: from the end of the latest window that ended before it starts (or
  the run's start) to its applied_at. Its success ratio is the level recovery is measured against.
- after recovery: from the end of the last window + `settle` seconds to the end of the run; none
  when a fault was never reverted or the range is empty. The default settle (10 s) is twice the
  harness's default DNS TTL and negative TTL (5 s each): every client cache has expired by then.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.compare.rundir import FaultRecord

DEFAULT_SETTLE = 10.0
# Recovery is judged on a sliding window of whole timeseries buckets: 5 buckets, and at least 2 s
# (the runner picks buckets of duration/300, 50 ms and up), so that one unlucky request at
# 10-100 requests/s does not decide it.
RECOVERY_WINDOW_BUCKETS = 5
RECOVERY_WINDOW_MIN_S = 2.0
# "Back to normal": the window's success ratio is within this (absolute) of the pre-fault level.
RECOVERY_TOLERANCE = 0.01


@dataclass(frozen=True, slots=True)
class FaultWindow:
    index: int  # position in summary.json's faults list
    fault: str
    target: str
    start: float
    end: float
    reverted: bool
    pre_start: float  # start of the pre-fault range; it ends at `start`

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end

    @property
    def label(self) -> str:
        return f"{self.fault} {self.target}"


def recovery_window_buckets(bucket: float) -> int:
    return max(RECOVERY_WINDOW_BUCKETS, math.ceil(RECOVERY_WINDOW_MIN_S / bucket - 1e-9))


def _reverted(fault: FaultRecord, horizon: float) -> bool:
    return fault.reverted_at is not None and fault.reverted_at < horizon


def fault_windows(faults: Sequence[FaultRecord], horizon: float) -> tuple[FaultWindow | None, ...]:
    """One entry per fault (None for a fault that was never applied)."""
    spans = [
        (
            f.applied_at,
            f.reverted_at if f.reverted_at is not None and _reverted(f, horizon) else horizon,
        )
        if f.applied_at is not None
        else None
        for f in faults
    ]
    out: list[FaultWindow | None] = []
    for index, (fault, span) in enumerate(zip(faults, spans, strict=True)):
        if span is None:
            out.append(None)
            continue
        start, end = span
        ended_before = [e for s in spans if s is not None for e in [s[1]] if e <= start]
        pre_start = max(ended_before, default=0.0)
        out.append(
            FaultWindow(
                index, fault.fault, fault.target, start, max(start, end),
                _reverted(fault, horizon), pre_start,
            )
        )  # fmt: skip
    return tuple(out)


def after_recovery_start(
    windows: Sequence[FaultWindow | None], horizon: float, settle: float
) -> float | None:
    applied = [w for w in windows if w is not None]
    if not applied or not all(w.reverted for w in applied):
        return None
    start = max(w.end for w in applied) + settle
    return start if start < horizon else None


def recovery_time(
    total: Sequence[int],
    ok: Sequence[int],
    bucket: float,
    reverted_at: float,
    target: float,
    width: int,
) -> float:
    """Seconds from reverted_at to the start of the first window of `width` whole buckets, starting
    at or after reverted_at, whose success ratio is ≥ target; math.inf when none before the end.
    Windows without requests are skipped; the last window may hold the run's partial last bucket."""
    first = max(0, _ceil_index(reverted_at, bucket))
    for i in range(first, len(total) - width + 1):
        requests = sum(total[i : i + width])
        if requests and sum(ok[i : i + width]) / requests >= target - 1e-12:
            return i * bucket - reverted_at
    return float("inf")


def _ceil_index(t: float, bucket: float) -> int:
    index = int(t // bucket)
    return index if index * bucket >= t - 1e-9 else index + 1
