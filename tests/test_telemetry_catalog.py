"""The metric catalog follows the naming rules and renders as a README table."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from harness.telemetry.catalog import (
    CATALOG,
    LABELS,
    LATENCY_BUCKETS,
    REQUESTS,
    RETRIES,
    MetricType,
    catalog_markdown,
    catalog_problems,
    lookup_series,
    series_names,
)


def test_catalog_is_sound() -> None:
    assert catalog_problems() == []
    assert all(set(d.labels) <= LABELS for d in CATALOG)


def test_rule_violations_are_reported() -> None:
    bad = [
        replace(REQUESTS, name="harness_requests"),  # counter without _total
        replace(RETRIES, labels=("strategy", "key")),  # a label outside the set
        replace(REQUESTS, type=MetricType.GAUGE),  # gauge with _total
        replace(REQUESTS, name="requests_total"),  # no prefix
        replace(REQUESTS, name="harness_latency", unit="seconds", type=MetricType.GAUGE),
    ]
    problems = catalog_problems(bad)
    assert len(problems) == len(bad), problems
    assert "'key'" in problems[1]
    assert catalog_problems([REQUESTS, REQUESTS]) == ["harness_requests_total: defined twice"]


def test_latency_buckets_cover_1ms_to_30s_log_spaced() -> None:
    assert LATENCY_BUCKETS[0] == 0.001 and LATENCY_BUCKETS[-1] == 30.0
    assert 12 <= len(LATENCY_BUCKETS) <= 16
    ratios = [b / a for a, b in pairwise(LATENCY_BUCKETS)]
    assert all(1.9 <= r <= 3.0 for r in ratios), ratios


def test_required_metrics_exist() -> None:
    names = {d.name for d in CATALOG}
    required = {
        "harness_requests_total", "harness_request_duration_seconds", "harness_fault_active",
        "harness_phase", "harness_run_elapsed_seconds", "harness_breaker_state",
        "harness_dns_queries_total", "harness_client_dns_lookups_total",
        "harness_replication_lag_seconds", "harness_stale_reads_total",
        "harness_replication_lost_writes_total", "harness_generator_saturated",
        "harness_generator_send_lag_seconds", "harness_retry_tokens",
    }  # fmt: skip
    assert required <= names


def test_series_names_map_back_to_their_family() -> None:
    histogram = lookup_series("harness_request_duration_seconds_bucket")
    assert histogram is not None and histogram.name == "harness_request_duration_seconds"
    assert series_names(REQUESTS) == ("harness_requests_total", "harness_requests_created")
    assert lookup_series("harness_requests_created") is REQUESTS
    assert lookup_series("harness_no_such_metric") is None


def test_markdown_table_lists_every_metric() -> None:
    table = catalog_markdown()
    lines = table.strip().splitlines()
    assert lines[0].startswith("| metric | type | labels")
    assert len(lines) == 2 + len(CATALOG)
    assert "| `harness_requests_total` | counter | `strategy`, `outcome`, `region` |" in table
    assert all(line.count("|") >= 6 for line in lines)
