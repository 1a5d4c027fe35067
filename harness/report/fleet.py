"""The fleet table of a report: per strategy, how an outage spread over its client hosts."""

from __future__ import annotations

from harness.compare.model import Comparison

FLEET_HEAD = (
    "strategy", "hosts", "hosts failing", "host avail. min", "median", "max", "onset spread s",
    "recovery spread s",
)  # fmt: skip
FLEET_NOTE = (
    "Each strategy runs as a fleet of client hosts (own DNS cache, connections and SDK state, "
    "staggered starts). hosts failing: hosts with a failed request inside a fault window; host "
    "avail.: availability of each host's requests during fault windows; onset spread: first "
    "host's first failure to the last host's first failure; recovery spread: first to last host's "
    "last failure (up to 10 s after a fault). Means over repeats."
)


def _num(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def fleet_rows(c: Comparison) -> list[list[str]]:
    """One row per strategy with fleet data, in rank order; [] when the runs had none."""
    rows = []
    for row in c.rows:
        f = c.fleets.get(row.strategy)
        if f is None:
            continue
        rows.append(
            [
                row.strategy, str(f.hosts), _num(f.hosts_failing_in_fault, 1),
                _num(f.availability_during_fault_min, 3),
                _num(f.availability_during_fault_median, 3),
                _num(f.availability_during_fault_max, 3),
                _num(f.onset_spread_s, 1), _num(f.recovery_spread_s, 1),
            ]
        )  # fmt: skip
    return rows
