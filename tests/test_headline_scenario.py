"""The shipped headline scenario, run as a user would (two strategies, virtual clock): the
dns.nodata fault lands on schedule, naive fails with dns_nodata during it (apart from what
kept-alive connections carry), and failover keeps its success ratio."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from clitools import harness

from harness.client import catalog
from harness.scenario import load_scenario


def test_headline_outage_naive_fails_dns_nodata_and_failover_holds(
    root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = harness(
        "run",
        root / "scenarios" / "us-east-1-dns-outage.yaml",
        "-s",
        "naive",
        "-s",
        "breaker-failover",
        "--out",
        out,
        "--metrics-addr",
        "off",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["saturated"] is False
    nodata = next(f for f in summary["faults"] if f["fault"] == "dns.nodata")
    assert nodata["target"] == "us-east-1"
    assert abs(nodata["applied_at"] - 20.0) < 0.005 and abs(nodata["reverted_at"] - 98.5) < 0.005
    assert nodata["apply_lag_ms"] < 5 and nodata["revert_lag_ms"] < 5

    during: dict[str, dict[str, int]] = {"naive": {}, "breaker-failover": {}}
    with gzip.open(out / "requests.jsonl.gz", "rt") as f:
        for line in f:
            r = json.loads(line)
            # well inside the fault: connections opened before it have been recycled (max_age 15 s)
            if 40.0 <= r["intended"] < 95.0:
                counts = during[r["strategy"]]
                counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    naive, failover = during["naive"], during["breaker-failover"]
    assert naive.get("dns_nodata", 0) >= 0.95 * sum(naive.values()), naive
    assert failover.get("ok", 0) >= 0.99 * sum(failover.values()), failover
    assert summary["strategies"]["breaker-failover"]["regions_served"].get("us-west-2", 0) > 0
    assert summary["strategies"]["naive"]["outcomes"]["dns_nodata"] > 0


def test_the_headline_runs_every_catalog_strategy(root: Path) -> None:
    """The README's scoreboard answers "which strategy?" for the whole catalog: none left out."""
    scenario = load_scenario(root / "scenarios" / "us-east-1-dns-outage.yaml")
    listed = [s if isinstance(s, str) else s.name for s in scenario.strategies]
    assert sorted(listed) == sorted(catalog.names())
    assert len(listed) == len(set(listed))
