"""Per-strategy time series in fixed buckets (by intended start), for charts and fault windows.

Per-bucket latency uses a compact log-binned histogram (~4 % resolution): a full HDR histogram
per bucket would cost ~20 KB each. Memory is proportional to buckets × bins, not to requests.
Successes and failures are binned apart (32-bit counts, so two cost what one 64-bit did): the
p99 of successes is what a chart of latency during an outage must show, since a strategy that
fails fast would otherwise look fastest exactly when it serves nothing.
"""

from __future__ import annotations

import math
from array import array
from typing import Any

from harness.events import AttemptFinished, RequestFinished
from harness.outcomes import REGIONAL_FAILURES

_BINS = 230
_MIN_S = 1e-4  # 0.1 ms
_GROWTH = 1.08  # ~4 % half-width per bin; 230 bins reach past one hour (0.1 ms × 1.08^229)
_LOG_GROWTH = math.log(_GROWTH)


def choose_bucket(duration: float, target_buckets: int = 300) -> float:
    """A round bucket width giving about `target_buckets` buckets (never below 50 ms)."""
    raw = max(duration / target_buckets, 0.05)
    for nice in (0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if raw <= nice:
            return float(nice)
    return 600.0


def _bin(seconds: float) -> int:
    if seconds <= _MIN_S:
        return 0
    return min(_BINS - 1, int(math.log(seconds / _MIN_S) / _LOG_GROWTH) + 1)


def _bin_value_ms(index: int) -> float:
    if index == 0:
        return _MIN_S * 1000
    low = _MIN_S * _GROWTH ** (index - 1)
    return low * math.sqrt(_GROWTH) * 1000


class StrategySeries:
    def __init__(self, buckets: int, regions: tuple[str, ...]) -> None:
        self.requests = array("l", bytes(8 * buckets))
        self.ok = array("l", bytes(8 * buckets))
        self.attempts = array("l", bytes(8 * buckets))
        self.region_attempts = {r: array("l", bytes(8 * buckets)) for r in regions}
        # allocated lazily per bucket
        self._latency_ok = [array("i") for _ in range(buckets)]
        self._latency_failed = [array("i") for _ in range(buckets)]

    def add(self, index: int, event: RequestFinished) -> None:
        self.requests[index] += 1
        success = event.outcome.is_success
        if success:
            self.ok[index] += 1
        self.attempts[index] += event.attempts
        bins = (self._latency_ok if success else self._latency_failed)[index]
        if not bins:
            bins.extend([0] * _BINS)
        bins[_bin(event.latency)] += 1

    def quantile_ms(self, index: int, q: float, *, ok_only: bool = False) -> float | None:
        """The q-quantile of latency in bucket `index`: all requests, or successes only."""
        ok, failed = self._latency_ok[index], self._latency_failed[index]
        parts = [b for b in ((ok,) if ok_only else (ok, failed)) if b]
        total = sum(sum(b) for b in parts)
        if total == 0:
            return None
        rank = q * total
        seen = 0
        for i in range(_BINS):
            seen += sum(b[i] for b in parts)
            if seen >= rank:
                return round(_bin_value_ms(i), 3)
        return round(_bin_value_ms(_BINS - 1), 3)


class TimeSeries:
    """Subscribe `add` to RequestFinished; `to_json()` for timeseries.json."""

    def __init__(self, *, origin: float, duration: float, regions: tuple[str, ...]) -> None:
        self.origin = origin
        self.bucket = choose_bucket(duration)
        self.buckets = max(1, math.ceil(duration / self.bucket))
        self.regions = regions
        self._series: dict[str, StrategySeries] = {}

    def add(self, event: RequestFinished) -> None:
        series = self._series.get(event.strategy)
        if series is None:
            series = self._series[event.strategy] = StrategySeries(self.buckets, self.regions)
        index = int((event.intended_start - self.origin) / self.bucket)
        if 0 <= index < self.buckets:
            series.add(index, event)

    def add_attempt(self, event: AttemptFinished, now: float) -> None:
        """Load on a region: attempts that reached its servers, bucketed by when they ended
        (an attempt that failed at DNS or connect never reached them)."""
        if event.outcome in REGIONAL_FAILURES:
            return
        series = self._series.get(event.strategy)
        if series is None:
            series = self._series[event.strategy] = StrategySeries(self.buckets, self.regions)
        index = int((now - self.origin) / self.bucket)
        if 0 <= index < self.buckets:
            counts = series.region_attempts.get(event.region)
            if counts is not None:
                counts[index] += 1

    def to_json(self) -> dict[str, Any]:
        strategies: dict[str, Any] = {}
        for name, s in self._series.items():
            strategies[name] = {
                "requests": list(s.requests),
                "ok": list(s.ok),
                "attempts": list(s.attempts),
                "latency_p50_ms": [s.quantile_ms(i, 0.50) for i in range(self.buckets)],
                "latency_p99_ms": [s.quantile_ms(i, 0.99) for i in range(self.buckets)],
                "latency_ok_p50_ms": [
                    s.quantile_ms(i, 0.50, ok_only=True) for i in range(self.buckets)
                ],
                "latency_ok_p99_ms": [
                    s.quantile_ms(i, 0.99, ok_only=True) for i in range(self.buckets)
                ],
                "region_attempts": {r: list(v) for r, v in s.region_attempts.items()},
            }
        return {"bucket": self.bucket, "buckets": self.buckets, "strategies": strategies}
