"""Drive a running world from outside: live faults, the control API (JSON over HTTP on loopback)
and its client. Public API:

    hosted_world(scenario, control=(host, port), token=...)   the world + faults + control API
    LiveFaults                  apply / revert / revert_all / run_timeline on one world
    ControlClient               a small synchronous client of the control API (CLI, harness.testing)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.control.client import ControlClient, ControlError, ControlUnreachable
    from harness.control.host import HostedWorld, hosted_world
    from harness.control.live import LiveFault, LiveFaults

# Imported on first use (PEP 562): `harness fault ...` and `harness --version` need only the
# small client, not the world, the faults and the scenario models behind the host.
_HOMES = {
    "ControlClient": "client",
    "ControlError": "client",
    "ControlUnreachable": "client",
    "HostedWorld": "host",
    "hosted_world": "host",
    "LiveFault": "live",
    "LiveFaults": "live",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "ControlClient",
    "ControlError",
    "ControlUnreachable",
    "HostedWorld",
    "LiveFault",
    "LiveFaults",
    "hosted_world",
]
