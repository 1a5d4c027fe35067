"""The world as fault units see it: the control protocols of harness.world.control, nothing else.

The runner passes its World object, which satisfies `FaultWorld` structurally; tests pass fakes.
"""

from __future__ import annotations

from typing import Any, Protocol

from harness.world.control import RegionControl, ReplicationControl, ZoneControl


class AutomationControl(Protocol):
    """The DNS Planner/Enactor model (harness.world.automation.DnsAutomation)."""

    @property
    def region(self) -> str: ...
    @property
    def enactors(self) -> tuple[str, ...]: ...
    @property
    def inconsistent(self) -> bool: ...
    def stall(self, enactor: str, at: float, duration: float) -> None:
        """From loop time `at`, the next plan `enactor` picks up waits `duration` longer."""

    def clear_stall(self) -> None: ...
    def manual_fix(self) -> bool:
        """Restore the newest plan, re-enable the Enactors; True if the record was broken."""

    def race_report(self, origin: float = 0.0) -> dict[str, Any]:
        """The generations involved (stale applies, clean-ups, emptyings) for the journal;
        times in seconds from loop time `origin`."""


class FaultWorld(Protocol):
    @property
    def zone(self) -> ZoneControl: ...
    def dns_name(self, region: str) -> str: ...
    def region(self, name: str) -> RegionControl: ...
    @property
    def replication(self) -> ReplicationControl | None: ...
    @property
    def automation(self) -> AutomationControl | None: ...
