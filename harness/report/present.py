"""What `compare` and `report` print on stdout: the scoreboard fitted to the terminal, or the whole
comparison as Markdown, CSV or JSON (`--format`), so it can be piped; the paths then go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from harness.compare.model import Comparison
from harness.errors import HarnessError

FORMATS = ("table", "md", "csv", "json")


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise HarnessError(f"--format: expected one of {', '.join(FORMATS)}, got {value!r}")
    return value


def render_text(comparison: Comparison, fmt: str) -> str:
    """The comparison as one document: md, csv or json."""
    from harness.compare.serialize import comparison_to_dict
    from harness.report.csvout import render_csv
    from harness.report.markdown import render_markdown

    if fmt == "md":
        return render_markdown(comparison)
    if fmt == "csv":
        return render_csv(comparison)
    if fmt == "json":
        return json.dumps(comparison_to_dict(comparison), indent=1, allow_nan=False) + "\n"
    raise HarnessError(f"--format: no document format {fmt!r}")


def present(
    comparison: Comparison, paths: Sequence[Path], out: Console, err: Console, fmt: str = "table"
) -> None:
    """Print the comparison in `fmt` on `out`; the files written are listed after a table, or on
    `err` when `out` carries a document."""
    from harness.report.terminal import scoreboard_table

    if fmt == "table":
        out.print(scoreboard_table(comparison, out.width))
        if paths:
            _print_populations(paths[0].parent, out)
        listing = out
    else:
        out.file.write(render_text(comparison, fmt))
        out.file.flush()
        listing = err
    for path in paths:
        listing.print(f"wrote {path}", highlight=False)
    report = next((p for p in paths if p.name == "report.html"), None)
    if report is not None:
        listing.print(f"report: {report}", highlight=False)


def _print_populations(directory: Path, out: Console) -> None:
    """The per-home-region table under the scoreboard, when clients live in several regions."""
    from harness.report.populations import load_populations, populations_table

    found = load_populations(directory)
    if found is not None:
        out.print(populations_table(*found))
