"""Per-strategy time series in fixed buckets (by intended start), for charts and fault windows.

Per-bucket latency uses a compact log-binned histogram (~4 % resolution): a full HDR histogram
per bucket would cost ~20 KB each. A bucket's histograms live only while requests that started in
it can still finish (its end + `horizon`, the longest a request can last); then its quantiles are
kept and the bins freed. So memory is flat in run length: a few open buckets of bins per strategy
plus a handful of numbers per bucket, allocated at the start.
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


# The quantiles kept per bucket once it closes: (q, successes only)
_KEPT = ((0.50, False), (0.99, False), (0.50, True), (0.99, True))


class StrategySeries:
    def __init__(self, buckets: int, regions: tuple[str, ...]) -> None:
        self.requests = array("l", bytes(8 * buckets))
        self.ok = array("l", bytes(8 * buckets))
        self.attempts = array("l", bytes(8 * buckets))
        self.region_attempts = {r: array("l", bytes(8 * buckets)) for r in regions}
        # closed buckets: one array per kept quantile, NaN where the bucket had no request
        self._kept = {key: array("d", [math.nan]) * buckets for key in _KEPT}
        # open buckets: bucket -> (latency bins of successes, of failures), until it closes
        self._open: dict[int, tuple[array[int], array[int]]] = {}
        self._closed_below = 0  # buckets before this index are closed
        self.late = 0  # requests that finished after their bucket closed (latency not binned)

    def add(self, index: int, event: RequestFinished) -> None:
        self.requests[index] += 1
        success = event.outcome.is_success
        if success:
            self.ok[index] += 1
        self.attempts[index] += event.attempts
        if index < self._closed_below:
            self.late += 1
            return
        bins = self._open.get(index)
        if bins is None:
            bins = self._open[index] = (array("i", bytes(4 * _BINS)), array("i", bytes(4 * _BINS)))
        bins[0 if success else 1][_bin(event.latency)] += 1

    @property
    def open_buckets(self) -> int:
        return len(self._open)

    def close_below(self, index: int) -> None:
        """Keep the quantiles of every bucket before `index` and free their bins."""
        if index <= self._closed_below:
            return
        for i in [i for i in self._open if i < index]:
            bins = self._open.pop(i)
            for q, ok_only in _KEPT:
                self._kept[q, ok_only][i] = _quantile_ms(bins, q, ok_only)
        self._closed_below = index

    def quantile_ms(self, index: int, q: float, *, ok_only: bool = False) -> float | None:
        """The q-quantile of latency in bucket `index`: all requests, or successes only."""
        bins = self._open.get(index)
        value = (
            _quantile_ms(bins, q, ok_only) if bins is not None else self._kept[q, ok_only][index]
        )
        return None if math.isnan(value) else value


def _quantile_ms(bins: tuple[array[int], array[int]], q: float, ok_only: bool) -> float:
    parts = bins[:1] if ok_only else bins
    total = sum(sum(b) for b in parts)
    if total == 0:
        return math.nan
    rank = q * total
    seen = 0
    for i in range(_BINS):
        seen += sum(b[i] for b in parts)
        if seen >= rank:
            return round(_bin_value_ms(i), 3)
    return round(_bin_value_ms(_BINS - 1), 3)


class TimeSeries:
    """Subscribe `add` to RequestFinished; `to_json()` for timeseries.json."""

    def __init__(
        self,
        *,
        origin: float,
        duration: float,
        regions: tuple[str, ...],
        horizon: float = 60.0,
    ) -> None:
        """`horizon`: the longest a request can take (deadline and grace): a bucket's latency
        bins are kept until requests that started in it cannot still be running."""
        self.origin = origin
        self.horizon = horizon
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
        # every request still to come started after `end - horizon`: older buckets are complete
        series.close_below(int((event.end - self.horizon - self.origin) / self.bucket))

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
