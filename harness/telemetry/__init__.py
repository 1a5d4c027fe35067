"""Telemetry: request records, latency histograms, time series and Prometheus metrics."""
