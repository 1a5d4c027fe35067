"""Async multi-region resilience harness: rehearse the 2025-10-20 us-east-1 DNS outage."""

__version__ = "0.1.0"
