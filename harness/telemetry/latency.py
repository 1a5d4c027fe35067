"""HDR-quality latency histograms (hdrhistogram's C-backed encoder, ~0.1 % error)."""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

_MAX_US = 3_600 * 1_000_000  # one hour, in microseconds
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}


class LatencyHistogram:
    """Records seconds, stores microseconds; reports milliseconds."""

    def __init__(self) -> None:
        self._hist = HdrHistogram(1, _MAX_US, 3)

    def record(self, seconds: float) -> None:
        micros = int(seconds * 1_000_000)
        self._hist.record_value(min(max(micros, 1), _MAX_US))

    @property
    def count(self) -> int:
        return int(self._hist.get_total_count())

    def summary_ms(self) -> dict[str, float | None]:
        """p50/p90/p99/p999/max in ms (None when empty): one percentile query for all of them."""
        if self.count == 0:
            return {**{name: None for name in PERCENTILES}, "max": None}
        values = self._hist.get_percentile_to_value_dict(list(PERCENTILES.values()))
        out: dict[str, float | None] = {
            name: round(values[pct] / 1000.0, 3) for name, pct in PERCENTILES.items()
        }
        out["max"] = round(self._hist.get_max_value() / 1000.0, 3)
        return out

    def percentile_ms(self, percentile: float) -> float | None:
        if self.count == 0:
            return None
        return float(self._hist.get_value_at_percentile(percentile)) / 1000.0
