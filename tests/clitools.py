"""Helpers for tests that drive the real `harness` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}


def harness(
    *args: str | Path, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        cwd=cwd,
    )


def popen(*args: str | Path, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=cwd,
    )


SMALL = """
name: small
seed: 11
duration: {duration}
dns: {{ttl: 1s, negative_ttl: 1s}}
regions:
  - {{name: us-east-1, endpoints: 2, rtt: 1ms, connections: {{max_age: 2s}}}}
  - {{name: us-west-2, endpoints: 2, rtt: 30ms, connections: {{max_age: 2s}}}}
clients: {{rate: 20/s, deadline: 2s}}
strategies: [naive, breaker-failover]
run: {{clock: {clock}}}
phases:
  - {{name: steady, at: 0s}}
  - {{name: outage, at: {at}}}
timeline:
  - {{fault: dns.nodata, target: us-east-1, at: {at}, duration: {fault_duration}}}
{extra}
"""


def small_scenario(
    tmp: Path,
    *,
    duration: str = "12s",
    clock: str = "virtual",
    at: str = "4s",
    fault_duration: str = "4s",
    extra: str = "",
) -> Path:
    path = tmp / "small.yaml"
    path.write_text(
        SMALL.format(
            duration=duration, clock=clock, at=at, fault_duration=fault_duration, extra=extra
        )
    )
    return path
