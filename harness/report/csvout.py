"""comparison.csv: one row per strategy, every metric with its CI half-width and baseline ratio.
Empty cell: not measured; `inf`: never happened (no success / never recovered)."""

from __future__ import annotations

import csv
from pathlib import Path

from harness.compare.model import METRICS, Comparison
from harness.compare.stats import Stat


def _number(value: float | None) -> str:
    return "" if value is None else repr(round(value, 9))


def _mean(stat: Stat) -> str:
    return "inf" if stat.never else _number(stat.mean)


def write_csv(c: Comparison, path: Path) -> Path:
    head = ["rank", "strategy", "repeats", "saturated"]
    for m in METRICS:
        head += [m.key, f"{m.key}_ci95", f"{m.key}_ratio"]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(head)
        for row in c.rows:
            values = [str(row.rank), row.strategy, str(c.repeats), str(row.saturated).lower()]
            for m in METRICS:
                stat = row.metrics[m.key]
                values += [_mean(stat), _number(stat.ci95), _number(row.ratios.get(m.key))]
            writer.writerow(values)
    return path
