"""comparison.csv: one row per strategy (in rank order), every metric with its 95 % interval and
its ratio to the baseline. Empty cell: not measured; `inf`: never happened (no success / never
recovered) or, in a ratio, infinitely worse than a baseline that had none. Every column is
described by `csv_columns()` and in docs/statistics.md."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from harness.compare.model import METRICS, Comparison
from harness.compare.stats import Stat

_FIXED = (
    ("rank", "1 = best; strategies the statistics cannot tell apart share a rank"),
    ("tied", "true when the rank is shared with another strategy (shown as =N in the reports)"),
    ("strategy", "the strategy's name"),
    ("repeats", "seeds (repeats) the row is computed over"),
    ("saturated", "true when the load generator fell behind in any repeat: numbers suspect"),
)


def csv_columns() -> list[tuple[str, str]]:
    """(column, meaning) of every column of comparison.csv, in order."""
    out = list(_FIXED)
    for m in METRICS:
        unit = f" ({m.unit})" if m.unit else ""
        out.append((m.key, f"{m.legend}{unit}; mean over the repeats"))
        out.append((f"{m.key}_low", f"lower end of the 95 % interval of {m.key}"))
        out.append((f"{m.key}_high", f"upper end of the 95 % interval of {m.key}"))
        if m.ratio_of_failures:
            out.append(
                (
                    f"{m.key}_failure_ratio",
                    f"(1 - {m.key}) ÷ the baseline's (1 - {m.key}): failures relative to the "
                    "baseline, 0.1 = ten times fewer; 1 when neither failed; inf when only "
                    "this one did",
                )
            )
        else:
            out.append((f"{m.key}_ratio", f"{m.key} ÷ the baseline's {m.key}"))
    return out


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return "inf" if math.isinf(value) else repr(round(value, 9))


def _mean(stat: Stat) -> str:
    return "inf" if stat.never else _number(stat.mean)


def render_csv(c: Comparison) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _ in csv_columns()])
    for row in c.rows:
        values = [str(row.rank), str(row.tied).lower(), row.strategy, str(c.repeats)]
        values.append(str(row.saturated).lower())
        for m in METRICS:
            stat = row.metrics[m.key]
            values += [_mean(stat), _number(stat.low), _number(stat.high)]
            values.append(_number(row.ratios.get(m.key)))
        writer.writerow(values)
    return buffer.getvalue()


def write_csv(c: Comparison, path: Path) -> Path:
    path.write_text(render_csv(c), encoding="utf-8")
    return path
