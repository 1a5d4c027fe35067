"""Loopback address plan: region i, endpoint j -> 127.0.(10+i).(j+1). The DNS server lives on
the scenario's dns.host. Isolated worlds share addresses and differ by port."""

from __future__ import annotations

from harness.scenario.model import Scenario

FIRST_REGION_OCTET = 10


def region_addresses(scenario: Scenario) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for index, region in enumerate(scenario.regions):
        octet = FIRST_REGION_OCTET + index
        out[region.name] = tuple(f"127.0.{octet}.{j + 1}" for j in range(region.endpoints))
    return out
