"""Turn saved run directories into a comparison people trust: metrics, statistics, rank, SLO gates.

Public API: build_comparison (reads DIR/runs/* or one run directory), evaluate_slos, and the
Comparison data it returns; comparison.json round-trips through save_comparison/load_comparison.
"""

from harness.compare.build import build_comparison
from harness.compare.model import (
    METRICS,
    Comparison,
    FaultWindowRow,
    MetricInfo,
    RunInfo,
    StrategyRow,
    Violation,
)
from harness.compare.serialize import COMPARISON_JSON, load_comparison, save_comparison
from harness.compare.slo import evaluate_slos
from harness.compare.stats import Stat

__all__ = [
    "COMPARISON_JSON",
    "METRICS",
    "Comparison",
    "FaultWindowRow",
    "MetricInfo",
    "RunInfo",
    "Stat",
    "StrategyRow",
    "Violation",
    "build_comparison",
    "evaluate_slos",
    "load_comparison",
    "save_comparison",
]
