"""scenarios/backoff-jitter.yaml reproduces Brooker 2015's ranking on the real stack (one burst of
50 synchronized requests, virtual clock): no jitter does the most work and finishes last; full or
equal jitter does the least work; decorrelated finishes before equal jitter."""

from __future__ import annotations

import json
from pathlib import Path

from clitools import harness


def test_backoff_jitter_reproduces_the_published_ranking(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = harness(
        "run",
        root / "scenarios" / "backoff-jitter.yaml",
        "--duration",
        "61s",  # the first burst only
        "--out",
        out,
        "--metrics-addr",
        "off",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    strategies = json.loads((out / "summary.json").read_text())["strategies"]
    work = {name: s["attempts_per_request"] for name, s in strategies.items()}
    finish = {name: s["latency_ms"]["max"] for name, s in strategies.items()}
    assert all(s["requests"] == 50 and s["ok"] == 50 for s in strategies.values()), strategies
    # no jitter: the most work by far, and the last to finish
    assert work["no-jitter"] > 1.5 * max(w for n, w in work.items() if n != "no-jitter"), work
    assert finish["no-jitter"] > 5 * max(f for n, f in finish.items() if n != "no-jitter"), finish
    # the jittered schedules are close in work; decorrelated finishes before equal jitter
    assert min(work, key=work.__getitem__) in ("full-jitter", "equal-jitter"), work
    assert finish["decorrelated"] < finish["equal-jitter"], finish
