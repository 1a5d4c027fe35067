"""A fake run directory: a first-class test double of what `harness run` writes.

`write_fake_run` takes explicit request records and derives summary.json and timeseries.json from
them the way the runner does, so tests can hand-compute the expected scoreboard.
`synthetic_requests` makes many plausible requests from a few behaviour knobs (demos, chart
checks). Nothing here runs a scenario.
"""

from __future__ import annotations

import gzip
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.compare.rundir import JOURNAL, REQUESTS, SUMMARY, TIMESERIES


@dataclass(frozen=True, slots=True)
class FakeRequest:
    strategy: str
    intended: float
    latency: float  # seconds from the intended start to the end
    outcome: str = "ok"
    attempts: int = 1
    regions: tuple[str, ...] = ("us-east-1",)  # region of attempt i (the last one repeats)
    op: str = "get"

    @property
    def served(self) -> str | None:
        return self.regions[-1] if self.outcome == "ok" and self.regions else None


@dataclass(frozen=True, slots=True)
class FakeFault:
    applied_at: float | None
    reverted_at: float | None
    fault: str = "dns.nodata"
    target: str = "us-east-1"


def write_fake_run(
    run_dir: Path,
    requests: Sequence[FakeRequest],
    *,
    elapsed: float,
    faults: Sequence[FakeFault] = (),
    bucket: float = 1.0,
    scenario: str = "fake",
    seed: int = 1,
    capacity_rps: Mapping[str, float] | None = None,
    home_region: str = "us-east-1",
    stale_reads: Mapping[str, int] | None = None,
    lost_writes: Mapping[str, int] | None = None,
    saturated: bool = False,
) -> Path:
    """Write summary.json, timeseries.json, requests.jsonl.gz and journal.json into run_dir."""
    capacity = dict(capacity_rps or {"us-east-1": 100.0, "us-west-2": 100.0})
    names = list(dict.fromkeys(r.strategy for r in requests))
    run_dir.mkdir(parents=True, exist_ok=True)
    with gzip.open(run_dir / REQUESTS, "wt", encoding="utf-8") as out:
        for i, r in enumerate(sorted(requests, key=lambda r: r.intended)):
            out.write(json.dumps(_request_line(i, r)) + "\n")
    buckets = math.ceil(elapsed / bucket)
    fault_entries = [_fault_entry(f) for f in faults]
    summary = {
        "scenario": scenario,
        "seed": seed,
        "clock": "virtual",
        "started_at": "2025-10-20T06:48:00+00:00",
        "ended_at": "2025-10-20T06:49:00+00:00",
        "wall_seconds": elapsed / 50,
        "duration": elapsed,
        "elapsed": elapsed,
        "saturated": saturated,
        "saturation_reasons": ["send lag p99 above 5ms"] if saturated else [],
        "aborted": False,
        "abort_reason": None,
        "home_region": home_region,
        "regions": {
            n: {"concurrency": 64, "queue": 256, "capacity_rps": c} for n, c in capacity.items()
        },
        "phases": [{"name": "steady", "at": 0.0}],
        "faults": fault_entries,
        "strategies": {
            name: _strategy_summary(
                name, [r for r in requests if r.strategy == name], home_region,
                (stale_reads or {}).get(name, 0), (lost_writes or {}).get(name, 0),
            )
            for name in names
        },
    }  # fmt: skip
    timeseries = {
        "bucket": bucket,
        "strategies": {
            name: _series([r for r in requests if r.strategy == name], bucket, buckets, capacity)
            for name in names
        },
    }
    (run_dir / SUMMARY).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    (run_dir / TIMESERIES).write_text(json.dumps(timeseries), encoding="utf-8")
    (run_dir / JOURNAL).write_text(json.dumps(fault_entries), encoding="utf-8")
    return run_dir


def _request_line(i: int, r: FakeRequest) -> dict[str, Any]:
    return {
        "strategy": r.strategy,
        "id": i,
        "intended": r.intended,
        "start": r.intended,
        "end": r.intended + r.latency,
        "op": r.op,
        "key_hash": i * 7919 % 10007,
        "outcome": r.outcome,
        "attempts": r.attempts,
        "regions": list(r.regions),
        "served": r.served,
        "status": 200 if r.outcome == "ok" else None,
    }


def _fault_entry(f: FakeFault) -> dict[str, Any]:
    start = f.applied_at if f.applied_at is not None else 0.0
    return {
        "fault": f.fault,
        "target": f.target,
        "scheduled_start": start,
        "scheduled_end": f.reverted_at,
        "applied_at": f.applied_at,
        "reverted_at": f.reverted_at,
        "apply_lag_ms": None if f.applied_at is None else 0.1,
        "revert_lag_ms": None if f.reverted_at is None else 0.1,
        "revert_reason": None if f.reverted_at is None else "scheduled",
    }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _strategy_summary(
    name: str, reqs: list[FakeRequest], home: str, stale: int, lost: int
) -> dict[str, Any]:
    ok = [r for r in reqs if r.outcome == "ok"]
    ms = [r.latency * 1000 for r in reqs] or [0.0]
    outcomes: dict[str, int] = {}
    served: dict[str, int] = {}
    for r in reqs:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
        if r.served:
            served[r.served] = served.get(r.served, 0) + 1
    attempts = sum(r.attempts for r in reqs)
    return {
        "description": f"fake strategy {name}",
        "requests": len(reqs),
        "ok": len(ok),
        "availability": len(ok) / len(reqs) if reqs else 0.0,
        "latency_ms": {k: _quantile(ms, q) for k, q in _QUANTILES.items()},
        "attempts": attempts,
        "attempts_per_request": attempts / len(reqs) if reqs else 0.0,
        "outcomes": outcomes,
        "regions_served": served,
        "cross_region_share": sum(n for r, n in served.items() if r != home) / len(ok)
        if ok
        else 0.0,
        "stale_reads": stale,
        "lost_writes": lost,
        "send_lag_ms": {"p50": 0.1, "p99": 0.4, "max": 1.0},
        "saturated": False,
    }


_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999, "max": 1.0}


def _series(
    reqs: list[FakeRequest], bucket: float, buckets: int, capacity: Mapping[str, float]
) -> dict[str, Any]:
    requests, ok, attempts = [0] * buckets, [0] * buckets, [0] * buckets
    regions = {name: [0] * buckets for name in capacity}
    latencies: list[list[float]] = [[] for _ in range(buckets)]
    ok_latencies: list[list[float]] = [[] for _ in range(buckets)]
    for r in reqs:
        i = min(buckets - 1, int(r.intended // bucket))
        requests[i] += 1
        ok[i] += r.outcome == "ok"
        attempts[i] += r.attempts
        latencies[i].append(r.latency * 1000)
        if r.outcome == "ok":
            ok_latencies[i].append(r.latency * 1000)
        for n in range(r.attempts):
            region = r.regions[min(n, len(r.regions) - 1)] if r.regions else None
            if region in regions:
                regions[region][i] += 1
    return {
        "requests": requests,
        "ok": ok,
        "attempts": attempts,
        "latency_p50_ms": [_quantile(v, 0.5) if v else None for v in latencies],
        "latency_p99_ms": [_quantile(v, 0.99) if v else None for v in latencies],
        "latency_ok_p50_ms": [_quantile(v, 0.5) if v else None for v in ok_latencies],
        "latency_ok_p99_ms": [_quantile(v, 0.99) if v else None for v in ok_latencies],
        "region_attempts": regions,
    }


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How one fake strategy fares: success and latency outside and during a fault window."""

    name: str
    ok_during_fault: float = 0.0  # success probability while the fault is on
    detect_after: float = 0.0  # seconds into the fault before ok_during_fault applies (else 0 ok)
    recover_after: float = 0.0  # seconds after the revert before success returns to normal
    latency: float = 0.005
    fault_latency: float = 0.05
    attempts_during_fault: int = 1
    failover_region: str = "us-west-2"


def synthetic_requests(
    behaviours: Sequence[Behaviour],
    *,
    rate: float,
    elapsed: float,
    fault: FakeFault,
    seed: int = 1,
    home_region: str = "us-east-1",
) -> list[FakeRequest]:
    """Poisson arrivals per strategy; every strategy sees the same single fault window."""
    rng = random.Random(seed)
    start = fault.applied_at if fault.applied_at is not None else math.inf
    end = fault.reverted_at if fault.reverted_at is not None else math.inf
    out: list[FakeRequest] = []
    for b in behaviours:
        t = rng.expovariate(rate)
        while t < elapsed:
            jitter = rng.lognormvariate(0, 0.6)
            if start <= t < end + b.recover_after:
                detected = t >= start + b.detect_after and t < end
                ok = detected and rng.random() < b.ok_during_fault
                regions = (home_region, b.failover_region) if ok else (home_region,)
                attempts = b.attempts_during_fault
                out.append(
                    FakeRequest(
                        b.name, t, b.fault_latency * jitter, "ok" if ok else "dns_nodata",
                        attempts, regions,
                    )
                )  # fmt: skip
            else:
                out.append(FakeRequest(b.name, t, b.latency * jitter, regions=(home_region,)))
            t += rng.expovariate(rate)
    return out


TINY_FAULT = FakeFault(applied_at=5.0, reverted_at=10.0)


def tiny_requests() -> list[FakeRequest]:
    """The worked example (tests and docs): 20 s, one request per second per strategy, the DNS
    record of us-east-1 emptied over [5 s, 10 s).
    - naive: fails through the fault and two seconds after it (negative caching), then recovers;
      its last request is slow (200 ms).
    - failover: one failure to detect the fault, then retries in us-west-2 (2 attempts, 30 ms)."""
    east, both = ("us-east-1",), ("us-east-1", "us-west-2")
    naive = [
        FakeRequest("naive", t + 0.5, 0.010)
        if t < 5 or t >= 12
        else FakeRequest("naive", t + 0.5, 0.001, "dns_nodata", 1, east)
        for t in range(20)
    ]
    naive[-1] = FakeRequest("naive", 19.5, 0.200)
    failover = [
        FakeRequest("failover", t + 0.5, 0.010)
        if t < 5 or t >= 10
        else FakeRequest("failover", t + 0.5, 0.001, "dns_nodata")
        if t == 5
        else FakeRequest("failover", t + 0.5, 0.030, "ok", 2, both)
        for t in range(20)
    ]
    return naive + failover
