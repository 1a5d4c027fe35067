"""Faults on a timeline: one small unit per fault family acting on the world's control API
(harness.world.control), an explicit registry, the injector that schedules them on the loop clock,
and the journal of what happened when. Public API:

    FAULTS                      the registry: `fault` string -> unit class
    FaultInjector               run() / revert_all(reason) / active() / journal
    fault_table()               rows for the README's fault table
"""

from harness.faults.base import FaultContext, FaultError, FaultUnit
from harness.faults.injector import FaultInjector
from harness.faults.journal import Journal, JournalEntry
from harness.faults.phases import PhaseClock
from harness.faults.registry import FAULTS
from harness.faults.table import fault_table, fault_table_markdown
from harness.faults.world_api import AutomationControl, FaultWorld

__all__ = [
    "FAULTS",
    "AutomationControl",
    "FaultContext",
    "FaultError",
    "FaultInjector",
    "FaultUnit",
    "FaultWorld",
    "Journal",
    "JournalEntry",
    "PhaseClock",
    "fault_table",
    "fault_table_markdown",
]
