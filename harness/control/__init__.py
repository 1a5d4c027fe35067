"""Drive a running world from outside: live faults, the control API (JSON over HTTP on loopback)
and its client. Public API:

    hosted_world(scenario, control=(host, port), token=...)   the world + faults + control API
    LiveFaults                  apply / revert / revert_all / run_timeline on one world
    ControlClient               a small synchronous client of the control API (CLI, harness.testing)
"""

from harness.control.client import ControlClient, ControlError, ControlUnreachable
from harness.control.host import HostedWorld, hosted_world
from harness.control.live import LiveFault, LiveFaults

__all__ = [
    "ControlClient",
    "ControlError",
    "ControlUnreachable",
    "HostedWorld",
    "LiveFault",
    "LiveFaults",
    "hosted_world",
]
