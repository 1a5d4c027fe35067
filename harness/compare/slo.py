"""SLO gates: compare each strategy's mean across repeats with the scenario's `slo:` section.

A gate that cannot be evaluated fails too (a strategy with an SLO that did not run, or an
availability-during-fault SLO in a run whose fault was never applied): a CI gate must not pass
because the thing it checks went missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from harness.compare.model import Comparison, StrategyRow, Violation
from harness.scenario.model import SloSpec

# SloSpec field -> (scoreboard metric, scale from the SLO's unit to the metric's, "min" or "max")
_GATES: dict[str, tuple[str, float, str]] = {
    "availability": ("availability", 1.0, "min"),
    "availability_during_fault": ("availability_during_fault", 1.0, "min"),
    "availability_after_recovery": ("availability_after_recovery", 1.0, "min"),
    "p50": ("p50_ms", 1000.0, "max"),  # SLO in seconds, scoreboard in ms
    "p99": ("p99_ms", 1000.0, "max"),
    "p999": ("p999_ms", 1000.0, "max"),
    "max_attempts_per_request": ("attempts_per_request", 1.0, "max"),
}


def evaluate_slos(
    slos: Mapping[str, SloSpec], scoreboard: Comparison | Sequence[StrategyRow]
) -> list[Violation]:
    """Every violated gate, in the order of `slos` then of SloSpec's fields.
    `scoreboard`: a Comparison or its rows; each strategy's mean across repeats is checked."""
    board = scoreboard.rows if isinstance(scoreboard, Comparison) else scoreboard
    rows = {row.strategy: row for row in board}
    violations: list[Violation] = []
    for strategy, spec in slos.items():
        row = rows.get(strategy)
        for field, (metric, scale, kind) in _GATES.items():
            limit = getattr(spec, field)
            if limit is None:
                continue
            if row is None:
                message = (
                    f"{strategy}: {field} not measured (the strategy is not in the comparison)"
                )
                violations.append(Violation(strategy, field, None, limit, message))
                continue
            stat = row.metrics[metric]
            if stat.never or stat.mean is None:
                why = "never reached" if stat.never else "not measured"
                message = f"{strategy}: {field} {why} (limit {limit:g})"
                violations.append(Violation(strategy, field, None, limit, message))
                continue
            actual = stat.mean / scale
            if kind == "min" and actual < limit:
                message = f"{strategy}: {field} {_show(actual, limit)} < {limit:g}"
            elif kind == "max" and actual > limit:
                unit = "s" if scale != 1.0 else ""
                shown = f"{_show(actual, limit)}{unit} > {limit:g}{unit}"
                message = f"{strategy}: {field} {shown}"
            else:
                continue
            violations.append(Violation(strategy, field, actual, limit, message))
    return violations


def _show(value: float, limit: float) -> str:
    """The limit as written; the value with enough decimals (≥ 3) to differ visibly from it."""
    if value == limit:
        return f"{limit:g}"
    decimals = 3
    while decimals < 10 and f"{value:.{decimals}f}" == f"{limit:.{decimals}f}":
        decimals += 1
    return f"{value:.{decimals}f}"


def violated_metrics(violations: Iterable[Violation]) -> set[tuple[str, str]]:
    """(strategy, scoreboard metric key) of each violation, for highlighting cells."""
    return {(v.strategy, _GATES[v.metric][0]) for v in violations if v.metric in _GATES}
