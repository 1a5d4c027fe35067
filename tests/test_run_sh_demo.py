"""`./run.sh demo` twice: the second run works, and the first one's results are kept, renamed."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
VENV = Path(sys.executable).parent.parent


def _installed_by_run_sh() -> bool:
    stamp = hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    return (VENV / f".installed-{stamp}").exists()


@pytest.mark.skipif(not _installed_by_run_sh(), reason="needs the venv that ./run.sh set up")
def test_demo_twice_keeps_the_first_results(tmp_path: Path) -> None:
    for name in ("run.sh", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    env = {**os.environ, "HARNESS_VENV": str(VENV), "COLUMNS": "200"}

    def demo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "run.sh", "demo", "--duration", "1s", "--strategies", "naive"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip

    first = demo()
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "runs" / "headline" / "comparison.json").exists()
    second = demo()
    assert second.returncode == 0, second.stderr
    kept = [p for p in (tmp_path / "runs").iterdir() if p.name.startswith("headline-")]
    assert len(kept) == 1 and (kept[0] / "comparison.json").exists()
    assert f"the previous demo results are now in runs/{kept[0].name}" in second.stderr
    assert (tmp_path / "runs" / "headline" / "comparison.json").exists()
