"""Scenario files: the typed, validated, immutable description of one rehearsal."""

from harness.scenario.loader import load_scenario, parse_scenario
from harness.scenario.model import Scenario

__all__ = ["Scenario", "load_scenario", "parse_scenario"]
