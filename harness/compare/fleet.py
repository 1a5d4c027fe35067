"""The fleet view of a comparison: how an outage spread over each strategy's client hosts.

Read from each run's summary.json `fleet` block (harness.telemetry.fleet); across repeats every
figure is the mean of the runs that measured it. Runs written before fleets existed have no block:
the comparison then has no fleet view.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from harness.compare.rundir import FleetSummary, RunSummary


@dataclass(frozen=True, slots=True)
class FleetRow:
    hosts: int
    runs: int  # repeats that had a fleet block
    hosts_with_any_failure: float | None
    hosts_failing_in_fault: float | None
    availability_during_fault_min: float | None  # per-host availability during fault windows
    availability_during_fault_median: float | None
    availability_during_fault_max: float | None
    onset_spread_s: float | None  # first host's first failure to the last host's first failure
    recovery_spread_s: float | None  # first host's last failure to the last host's last failure


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def fleet_rows(runs: Sequence[RunSummary], names: Sequence[str]) -> dict[str, FleetRow]:
    out: dict[str, FleetRow] = {}
    for name in names:
        fleets: list[FleetSummary] = [
            f for run in runs if (f := run.strategies[name].fleet) is not None
        ]
        if not fleets:
            continue
        out[name] = FleetRow(
            hosts=fleets[0].hosts,
            runs=len(fleets),
            hosts_with_any_failure=_mean([f.hosts_with_any_failure for f in fleets]),
            hosts_failing_in_fault=_mean([f.hosts_failing_in_fault for f in fleets]),
            availability_during_fault_min=_mean([f.availability_during_fault_min for f in fleets]),
            availability_during_fault_median=_mean(
                [f.availability_during_fault_median for f in fleets]
            ),
            availability_during_fault_max=_mean([f.availability_during_fault_max for f in fleets]),
            onset_spread_s=_mean([f.onset_spread_s for f in fleets]),
            recovery_spread_s=_mean([f.recovery_spread_s for f in fleets]),
        )
    return out


def fleet_to_dict(row: FleetRow) -> dict[str, Any]:
    return asdict(row)


def fleet_from_dict(d: Mapping[str, Any]) -> FleetRow:
    def num(key: str) -> float | None:
        value = d[key]
        return None if value is None else float(value)

    return FleetRow(
        hosts=int(d["hosts"]),
        runs=int(d["runs"]),
        hosts_with_any_failure=num("hosts_with_any_failure"),
        hosts_failing_in_fault=num("hosts_failing_in_fault"),
        availability_during_fault_min=num("availability_during_fault_min"),
        availability_during_fault_median=num("availability_during_fault_median"),
        availability_during_fault_max=num("availability_during_fault_max"),
        onset_spread_s=num("onset_spread_s"),
        recovery_spread_s=num("recovery_spread_s"),
    )
