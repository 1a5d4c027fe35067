"""`--duration` scales a scenario's phases and faults to the new length, so every shipped scenario
runs shortened (the first thing a newcomer tries)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import harness

from harness.scenario import load_scenario
from harness.scenario.fault_spec import DnsAutomationRace, DnsFlap

SHIPPED = sorted(Path(__file__).parent.parent.joinpath("scenarios").glob("*.yaml"))


def test_the_shipped_scenarios_are_all_here() -> None:
    assert len(SHIPPED) >= 10


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
@pytest.mark.parametrize("seconds", [20.0, 30.0])
def test_every_shipped_scenario_loads_shortened_with_its_story_scaled(
    path: Path, seconds: float
) -> None:
    full = load_scenario(path)
    short = load_scenario(path, overrides={"duration": seconds})
    factor = seconds / full.duration
    assert short.duration == seconds
    assert [p.name for p in short.phases] == [p.name for p in full.phases]
    for mine, theirs in zip(short.phases, full.phases, strict=True):
        assert mine.at == pytest.approx(theirs.at * factor, abs=1e-3) and mine.at < seconds
    assert len(short.timeline) == len(full.timeline)
    for mine, theirs in zip(short.timeline, full.timeline, strict=True):
        assert type(mine) is type(theirs)
        assert getattr(mine, "target", None) == getattr(theirs, "target", None)
        assert mine.at == pytest.approx(theirs.at * factor, abs=1e-3) and mine.at < seconds
        if theirs.duration is not None:
            assert mine.duration == pytest.approx(theirs.duration * factor, abs=1e-3)
        if isinstance(theirs, DnsFlap):
            assert mine.period == pytest.approx(theirs.period * factor, abs=1e-3)  # type: ignore[attr-defined]
        if isinstance(theirs, DnsAutomationRace):
            assert mine.stall == pytest.approx(theirs.stall * factor, abs=1e-3)  # type: ignore[attr-defined]
    # what describes the system, not the story, is unchanged
    assert short.dns == full.dns and short.regions == full.regions and short.clients == full.clients


def test_the_same_duration_changes_nothing() -> None:
    path = SHIPPED[0]
    full = load_scenario(path)
    assert load_scenario(path, overrides={"duration": full.duration}) == full


def test_help_text_example_runs_the_headline_shortened(tmp_path: Path) -> None:
    headline = Path(__file__).parent.parent / "scenarios" / "us-east-1-dns-outage.yaml"
    done = harness(
        "run", headline, "--duration", "30s", "-s", "naive", "--out", tmp_path / "out",
        "--metrics-addr", "off",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "naive" in done.stdout
    assert "dns.nodata" in (tmp_path / "out" / "journal.json").read_text()  # the outage happened
