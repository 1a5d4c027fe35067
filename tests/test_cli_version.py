"""`harness --version` prints the installed version and exits 0."""

from __future__ import annotations

from clitools import harness

import harness as package


def test_version() -> None:
    done = harness("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"harness {package.__version__} (Python 3.")
