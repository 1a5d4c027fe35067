"""The benchmarks' generated scenarios stay valid as the scenario format evolves (no timing here:
performance is measured by bench/, never by tests)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _bench(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.append(str(BENCH))  # the scripts import client_rps as a sibling module
    return importlib.import_module(name)


def test_one_region_scenario_loads_with_the_requested_rate(tmp_path: Path) -> None:
    client_rps = _bench("client_rps")
    scenario = client_rps.load(client_rps.write_scenario(tmp_path, duration="10s", rate=1000))
    assert scenario.duration == 10.0
    assert scenario.clients.rate == 1000.0
    assert scenario.clients.arrival == "constant"
    assert [r.name for r in scenario.regions] == ["bench-1"]
    assert scenario.regions[0].service_time.median == 0.0


def test_fault_schedule_timeline_alternates_every_gap() -> None:
    fault_schedule = _bench("fault_schedule")
    scenario = fault_schedule.scenario(10, 0.05, 200)
    kinds = [f.fault for f in scenario.timeline]
    assert kinds == ["dns.nodata", "endpoint.latency"] * 5
    starts = [f.at for f in scenario.timeline]
    assert starts[1] - starts[0] == pytest.approx(0.05)
    assert all(f.duration == pytest.approx(0.03) for f in scenario.timeline)
    assert scenario.duration > starts[-1] + 0.03


def test_shortened_headline_scales_the_timeline_not_the_world(tmp_path: Path) -> None:
    virtual_speedup = _bench("virtual_speedup")
    client_rps = _bench("client_rps")
    full = client_rps.load(virtual_speedup.HEADLINE)
    short = client_rps.load(virtual_speedup.shortened(40.0, tmp_path))
    k = 40.0 / full.duration
    assert short.duration == 40.0
    for a, b in zip(full.timeline, short.timeline, strict=True):
        assert b.at == pytest.approx(a.at * k, abs=1e-3)
        assert b.duration == pytest.approx(a.duration * k, abs=1e-3)
    assert short.dns.ttl == full.dns.ttl  # the world is unchanged
    assert short.regions == full.regions


def test_percentiles_and_share_within_two_ms() -> None:
    fault_schedule = _bench("fault_schedule")
    summary = fault_schedule.percentiles([0.1] * 98 + [3.0, 5.0])
    assert summary["p50"] == 0.1
    assert summary["max"] == 5.0
    assert summary["within_2ms"] == 0.98
