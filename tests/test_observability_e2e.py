"""End to end, in real time: a REAL `harness run` serves /metrics while a REAL Prometheus scrapes it
every second; afterwards every expression of every dashboard (panels, annotations, the strategy
variable) must return data over the run's window.

The scenario is built so that every panel has something to show: a DNS outage (failures, stale
DNS answers, hedges, breaker and failover, then failback), throttling and 5xx answers after it (the
adaptive limiter engages, retry gates refuse), replication between two regions (lag, stale reads).

Needs the `prometheus` binary on PATH (skipped otherwise; CI installs it). Real time is the point
here: Prometheus stamps samples with wall-clock time and scrapes on its own schedule.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import sys
import time
from pathlib import Path

import pytest
from clitools import ENV

from harness.telemetry.dashboards import all_dashboards
from harness.telemetry.dashcheck import check_dashboards_against
from harness.telemetry.prometheus import Prometheus

pytestmark = [
    pytest.mark.prometheus,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not on PATH"),
]

# Prometheus's first scrape comes ~5 s after it starts (reference/libraries.md) and the harness
# needs ~1 s to start its worlds, so the first ~4 s of the run go unscraped: nothing the dashboards
# need happens only then. Faults start at 4 s; everything they cause stays visible (counters keep
# their totals, gauges their last value) until the run ends.
SCENARIO = """
name: observability-e2e
description: every dashboard panel gets data in 14 s of real time
seed: 5
duration: 14s
dns: {ttl: 1s, negative_ttl: 1s}
regions:
  - {name: us-east-1, endpoints: 2, rtt: 1ms, connections: {max_age: 2s}}
  - {name: us-west-2, endpoints: 2, rtt: 20ms, connections: {max_age: 2s}}
replication: {lag: {median: 500ms, p99: 2s}}
clients:
  rate: 30/s
  deadline: 2s
  ops: {get: 0.6, put: 0.3, update: 0.1}
  keys: {count: 50, distribution: zipf, zipf_s: 1.2}   # hot keys: stale reads after failover
strategies:
  - naive                 # failures by outcome class
  - aws-adaptive          # retry quota tokens, client rate limiter (engages on throttling)
  - hedged-cross-region   # hedges (a DNS failure hedges at once), abandoned work
  - serve-stale-dns       # stale DNS answers
  - finagle-budget        # retry budget tokens
  - grpc-throttled        # gRPC retry-throttling tokens
  - name: fast-breaker-failover   # breaker-failover, scaled so failover AND failback fit in 14 s
    description: per-region breaker driving failover, with a 1 s break and a 1 s failback
    blocks:
      - {kind: timeout, attempt: 500ms}
      - {kind: retry, max_attempts: 2, backoff: full_jitter, base: 50ms, cap: 1s}
      - {kind: failover, health: breaker, failback_after: 1s, probe_interval: 1s}
      - kind: breaker
        window: time
        sampling_duration: 5s
        failure_ratio: 0.2
        min_throughput: 10
        break_duration: 1s
run: {clock: real}
phases:
  - {name: steady, at: 0s}
  - {name: dns-outage, at: 4s}
  - {name: throttled, at: 10s}
  - {name: errors, at: 12s}
timeline:
  - {fault: dns.nodata, target: us-east-1, at: 4s, duration: 6s}
  - {fault: endpoint.errors, target: us-east-1, at: 10s, duration: 2s, status: throttling,
     rate: 0.3}
  - {fault: endpoint.errors, target: us-east-1, at: 12s, duration: 1.5s, status: 503, rate: 0.2}
"""

# Panels that may legitimately show nothing in this run, each with the reason. Substrings of the
# locations check_dashboards_against reports ("<dashboard> / <panel> / <refId>").
ALLOW_EMPTY: dict[str, str] = {}

RUN_TIMEOUT = 40.0  # seconds; the run itself takes ~15 s


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def harness_run(*args: str | Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness", "run", *map(str, args),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=ENV,
    )  # fmt: skip
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def test_a_real_run_gives_every_dashboard_panel_data(tmp_path: Path) -> None:
    scenario = tmp_path / "observability.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "run"
    target = f"127.0.0.1:{free_loopback_port()}"
    dashboards = list(all_dashboards().values())
    async with Prometheus([target]) as prom:
        started = time.time()
        code, stdout, stderr = await harness_run(
            scenario, "--clock", "real", "--metrics-addr", target, "--out", out, "--no-progress"
        )
        assert code == 0, stdout + stderr
        window = time.time() - started + 2.0
        scrapes = await prom.query(f"sum_over_time(up[{round(window)}s])")
        problems = await check_dashboards_against(
            prom, dashboards, lookback=window, allow_empty=ALLOW_EMPTY
        )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["clock"] == "real"
    assert scrapes and scrapes[0].value >= 8, "Prometheus scraped the run too rarely"
    assert problems == [], "\n".join(problems)
