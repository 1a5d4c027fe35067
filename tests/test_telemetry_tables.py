"""Lean hot-path tables: bucket edges, cumulative exposition, sums, type checks."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from harness.telemetry.catalog import FAULT_ACTIVE, REQUEST_DURATION, REQUESTS
from harness.telemetry.tables import CounterTable, HistogramTable, TablesCollector


def test_histogram_bucket_edges_and_exposition() -> None:
    table = HistogramTable(REQUEST_DURATION)
    for v in (0.001, 0.0011, 0.3, 30.0, 31.0):  # an exact bound belongs to its own bucket
        table.observe(("alpha", "ok"), v)
    family = table.family()
    samples = {(s.name, s.labels.get("le")): s.value for s in family.samples}
    bucket = "harness_request_duration_seconds_bucket"
    assert samples[(bucket, "0.001")] == 1
    assert samples[(bucket, "0.0025")] == 2
    assert samples[(bucket, "0.25")] == 2
    assert samples[(bucket, "0.5")] == 3
    assert samples[(bucket, "30.0")] == 4
    assert samples[(bucket, "+Inf")] == 5
    assert samples[("harness_request_duration_seconds_count", None)] == 5
    assert samples[("harness_request_duration_seconds_sum", None)] == pytest.approx(61.3021)


def test_counter_table_and_collector_in_a_registry() -> None:
    counter = CounterTable(REQUESTS)
    counter.inc(("alpha", "ok", "us-east-1"))
    counter.inc(("alpha", "ok", "us-east-1"), 2.0)
    registry = CollectorRegistry()
    registry.register(TablesCollector(counter, HistogramTable(REQUEST_DURATION)))
    text = generate_latest(registry).decode()
    assert 'harness_requests_total{outcome="ok",region="us-east-1",strategy="alpha"} 3.0' in text
    assert "# TYPE harness_request_duration_seconds histogram" in text
    with pytest.raises(ValueError, match="Duplicated"):
        registry.register(TablesCollector(CounterTable(REQUESTS)))


def test_tables_refuse_the_wrong_metric_type() -> None:
    with pytest.raises(ValueError, match="not a counter"):
        CounterTable(FAULT_ACTIVE)
    with pytest.raises(ValueError, match="not a histogram"):
        HistogramTable(REQUESTS)
