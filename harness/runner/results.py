"""Writes a run's results: summary.json, timeseries.json, journal.json (requests are streamed)."""

from __future__ import annotations

import contextlib
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.scenario.model import Scenario


def iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")


def region_capacity(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """Sustainable throughput per region: concurrency / mean service time (lognormal mean)."""
    out: dict[str, dict[str, Any]] = {}
    for region in scenario.regions:
        sigma = region.service_time.sigma
        mean = region.service_time.median * math.exp(sigma * sigma / 2)
        out[region.name] = {
            "concurrency": region.capacity.concurrency,
            "queue": region.capacity.queue,
            "capacity_rps": round(region.capacity.concurrency / mean, 1) if mean > 0 else None,
            "rtt_ms": round(region.rtt * 1000, 3),
        }
    return out


def write_json(path: Path, data: Any) -> None:
    """Write atomically so an interrupted run never leaves half a file. An OS error (read-only
    directory, full disk) is one HarnessError naming the file, and leaves no temporary file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise HarnessError(f"{path}: cannot write ({exc.strerror or exc})") from None
