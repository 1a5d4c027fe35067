"""Fleet figures: how an outage spread over a strategy's client hosts (memory flat).

Per host, per time bucket of intended start: requests and failures (two small integer arrays;
their size depends on the run's duration and the number of hosts, never on the request count).
From them, with the run's fault windows:

- hosts_with_any_failure: hosts that saw at least one failed request in the whole run;
- per-host availability (whole run, and during fault windows): min / median / max over hosts;
- onset spread: from the first host's first failure to the last host's first failure, counting
  failures of requests intended inside a fault window [applied, reverted);
- recovery spread: from the first host's last failure to the last host's last failure, counting
  failures intended inside a fault window or up to SETTLE seconds after its end (the tail of
  cached negative answers), and before the next fault starts.
Times are seconds from the run's start at the bucket's resolution (`resolution_s`).

Live, for Prometheus: how many hosts are failing now. A host is failing while its most recently
finished request failed (one flag per host, updated per request).
"""

from __future__ import annotations

import math
import statistics
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from harness.events import RequestFinished
from harness.telemetry import catalog as m

SETTLE = 10.0  # seconds after a fault window in which failures still count as its recovery tail
MIN_RESOLUTION = 0.1  # seconds per bucket at most this fine...
MAX_BUCKETS = 2000  # ...and at most this many buckets per host


@dataclass(frozen=True, slots=True)
class Window:
    """One applied fault: [start, end) in seconds from the run's start."""

    fault: str
    target: str
    start: float
    end: float


def windows_from_faults(faults: Sequence[dict[str, Any]], horizon: float) -> tuple[Window, ...]:
    """Fault windows from summary.json's `faults` list (the journal's summary). A fault not
    reverted before the horizon lasts until it; a fault never applied has no window (the same
    rules as harness.compare.windows)."""
    out: list[Window] = []
    for f in faults:
        applied, reverted = f.get("applied_at"), f.get("reverted_at")
        if applied is None:
            continue
        end = reverted if reverted is not None and reverted < horizon else horizon
        out.append(Window(str(f["fault"]), str(f["target"]), applied, max(applied, end)))
    return tuple(out)


class FleetStats:
    """One strategy's fleet; subscribe `add` to its RequestFinished events."""

    def __init__(self, hosts: int, *, origin: float, duration: float) -> None:
        self.hosts = hosts
        self._origin = origin
        self.resolution = max(MIN_RESOLUTION, duration / MAX_BUCKETS)
        self._buckets = max(1, math.ceil(duration / self.resolution))
        zeros = array("I", bytes(4 * self._buckets))
        self._requests = [array("I", zeros) for _ in range(hosts)]
        self._failures = [array("I", zeros) for _ in range(hosts)]
        self._failing = bytearray(hosts)
        self.failing_now = 0

    def add(self, event: RequestFinished) -> None:
        host = event.host
        index = int((event.intended_start - self._origin) / self.resolution)
        index = min(max(index, 0), self._buckets - 1)
        self._requests[host][index] += 1
        failed = not event.outcome.is_success
        if failed:
            self._failures[host][index] += 1
        if failed != self._failing[host]:
            self._failing[host] = failed
            self.failing_now += 1 if failed else -1

    # ---- summary -------------------------------------------------------------------------------

    def _index(self, t: float) -> int:
        """First bucket whose start is at or after t."""
        return min(self._buckets, max(0, math.ceil(t / self.resolution - 1e-9)))

    def _ranges(self, windows: Sequence[Window]) -> tuple[list[range], list[range]]:
        """Bucket ranges inside fault windows, and the same extended by the recovery tail."""
        inside, tails = [], []
        for w in windows:
            later = [o.start for o in windows if o.start > w.start]
            tail_end = min([w.end + SETTLE, *later])
            inside.append(range(self._index(w.start), self._index(w.end)))
            tails.append(range(self._index(w.start), self._index(max(w.end, tail_end))))
        return inside, tails

    def _first_last(self, host: int, ranges: Sequence[range]) -> tuple[int | None, int | None]:
        failures = self._failures[host]
        hits = [i for r in ranges for i in r if failures[i]]
        return (min(hits), max(hits)) if hits else (None, None)

    def to_json(self, windows: Sequence[Window]) -> dict[str, Any]:
        inside, tails = self._ranges(windows)
        in_fault = sorted({i for r in inside for i in r})
        whole, during, firsts, lasts = [], [], [], []
        for h in range(self.hosts):
            requests, failures = self._requests[h], self._failures[h]
            whole.append(_ratio(sum(requests), sum(failures)))
            during.append(
                _ratio(sum(requests[i] for i in in_fault), sum(failures[i] for i in in_fault))
            )
            first, _ = self._first_last(h, inside)
            _, last = self._first_last(h, tails)
            if first is not None:
                firsts.append(first * self.resolution)
            if last is not None:
                lasts.append(last * self.resolution)
        return {
            "hosts": self.hosts,
            "hosts_with_any_failure": sum(1 for f in self._failures if any(f)),
            "hosts_failing_in_fault": len(firsts),
            "availability": _spread(whole),
            "availability_during_fault": _spread(during),
            "requests_per_host": _spread([float(sum(r)) for r in self._requests], digits=0),
            "first_failure_s": round(min(firsts), 3) if firsts else None,
            "onset_spread_s": round(max(firsts) - min(firsts), 3) if firsts else None,
            "recovery_spread_s": round(max(lasts) - min(lasts), 3) if lasts else None,
            "resolution_s": round(self.resolution, 6),
        }

    def group_json(self, hosts: range, windows: Sequence[Window]) -> dict[str, float | None]:
        """Availability of a group of hosts (one client population) during the fault windows
        and after the last one ended."""
        inside, _ = self._ranges(windows)
        in_fault = sorted({i for r in inside for i in r})
        after = range(max((r.stop for r in inside), default=self._buckets), self._buckets)
        out: dict[str, float | None] = {}
        for label, buckets in (("during_fault", in_fault), ("after_fault", after)):
            requests = sum(self._requests[h][i] for h in hosts for i in buckets)
            failures = sum(self._failures[h][i] for h in hosts for i in buckets)
            ratio = _ratio(requests, failures)
            out[f"availability_{label}"] = None if ratio is None else round(ratio, 6)
        return out


def _ratio(requests: int, failures: int) -> float | None:
    return (requests - failures) / requests if requests else None


def _spread(values: Sequence[float | None], digits: int = 6) -> dict[str, float] | None:
    known = [v for v in values if v is not None]
    if not known:
        return None
    return {
        "min": round(min(known), digits),
        "median": round(statistics.median(known), digits),
        "max": round(max(known), digits),
    }


class FleetCollector(Collector):
    """`harness_fleet_hosts` and `harness_fleet_hosts_failing` per strategy, read at scrape time
    (no host label: a fleet of 32 hosts must not multiply the series)."""

    def __init__(self) -> None:
        self._sources: dict[str, FleetStats] = {}

    def add(self, strategy: str, fleet: FleetStats) -> None:
        if strategy in self._sources:
            raise ValueError(f"a fleet source for {strategy!r} is already registered")
        self._sources[strategy] = fleet

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        hosts, failing = self._families()
        for strategy, fleet in list(self._sources.items()):
            hosts.add_metric((strategy,), fleet.hosts)
            failing.add_metric((strategy,), fleet.failing_now)
        return iter((hosts, failing))

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(m.FLEET_HOSTS.name, m.FLEET_HOSTS.help, labels=["strategy"]),
            GaugeMetricFamily(
                m.FLEET_HOSTS_FAILING.name, m.FLEET_HOSTS_FAILING.help, labels=["strategy"]
            ),
        )
