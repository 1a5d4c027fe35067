"""Run a measurement in a fresh interpreter and read back its last stdout line as JSON.

A child process measures one thing alone: its CPU clock counts nothing of ours, its imports are
its own, and a tree given as `tree` (another checkout, for before/after figures) is the harness
it imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_child(code: str, *args: str, tree: Path = ROOT, timeout: float = 600) -> dict[str, Any]:
    """`python -c CODE ARGS...` with `tree` first on sys.path; its last stdout line, parsed."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,  # `-c` puts the working directory first on sys.path
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    ).stdout
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data
