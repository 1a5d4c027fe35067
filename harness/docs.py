"""Regenerates the README's reference tables from the code, so they never drift:
`python -m harness.docs` rewrites the blocks between `<!-- BEGIN name -->` and `<!-- END name -->`;
`python -m harness.docs --check` exits 1 when the README is out of date (a test runs it)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def strategies_table() -> str:
    from harness.client import catalog

    rows = ["| strategy | premise | what it does | defaults from |", "|---|---|---|---|"]
    rows += [f"| `{n}` | {catalog.premise(n)} | {d} | {s} |" for n, d, s in catalog.describe()]
    return "\n".join(rows)


def faults_table() -> str:
    from harness.faults.table import fault_table_markdown

    return fault_table_markdown().strip()


def metrics_table() -> str:
    from harness.telemetry.catalog import catalog_markdown

    return catalog_markdown().strip()


SECTIONS: dict[str, Callable[[], str]] = {
    "strategies": strategies_table,
    "faults": faults_table,
    "metrics": metrics_table,
}


def render(text: str) -> str:
    for name, build in SECTIONS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->).*?(<!-- END {name} -->)", flags=re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"README.md: missing <!-- BEGIN {name} --> … <!-- END {name} -->")
        body = build()

        def fill(match: re.Match[str], body: str = body) -> str:
            return f"{match.group(1)}\n{body}\n{match.group(2)}"

        text = pattern.sub(fill, text)
    return text


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in argv:
        if fresh != current:
            print("README.md tables are out of date: run `python -m harness.docs`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
