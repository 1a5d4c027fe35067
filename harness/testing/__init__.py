"""Test your own application against the outage (docs/testing-your-app.md). Public API:

    world("scenario.yaml") -> TestWorld     `with world(...) as w:` runs the world in a background
                                            thread (real clock) for the block
    TestWorld                               endpoint_url(region), address_url(region), dns_address,
                                            fault(...), revert(...), faults(), journal()
    Fault                                   a fault applied by w.fault(); `with` reverts it
    ZoneResolver                            the socket.getaddrinfo hook (installed by world())

The pytest plugin (harness.testing.pytest_plugin, registered through the `pytest11` entry point)
adds the `harness_world` fixture.
"""

from harness.control.client import ControlError, ControlUnreachable
from harness.testing.resolver import ZoneResolver
from harness.testing.world import Fault, TestWorld, world

__all__ = [
    "ControlError",
    "ControlUnreachable",
    "Fault",
    "TestWorld",
    "ZoneResolver",
    "world",
]
