"""What follows a comparison's units - reading repeats, drawing charts - fanned out over processes:
the same results as in one process, errors as they were raised, nothing lost to a dead helper."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import pytest

from harness.compare import build, build_comparison
from harness.compare.fake_run import Behaviour, FakeFault, synthetic_requests, write_fake_run
from harness.compare.rundir import RunFileError
from harness.processes import map_in_processes
from harness.report import writers
from harness.report.series import CHARTS
from harness.report.writers import chart_file, write_reports


def square_with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def unreadable(path: str) -> None:
    raise RunFileError(Path(path), "cannot read results (truncated)")


def die_unless_in(parent: int, x: int) -> int:
    if os.getpid() != parent:
        os._exit(9)  # a helper killed half-way (the OOM killer, kill -9)
    return x + 1


def test_results_come_back_in_order_from_other_processes() -> None:
    results = map_in_processes(square_with_pid, range(6), workers=2)
    assert [value for value, _ in results] == [0, 1, 4, 9, 16, 25]
    assert os.getpid() not in {pid for _, pid in results}


def test_one_worker_or_one_item_stays_in_this_process() -> None:
    for items, workers in ((range(3), 1), (range(1), 4)):
        results = map_in_processes(square_with_pid, items, workers=workers)
        assert {pid for _, pid in results} == {os.getpid()}


def test_an_error_in_a_helper_is_raised_here_as_it_was_raised_there() -> None:
    with pytest.raises(RunFileError) as caught:
        map_in_processes(unreadable, ["/r/01-seed1", "/r/02-seed2"], workers=2)
    assert str(caught.value) == "/r/01-seed1: cannot read results (truncated)"
    assert caught.value.path == Path("/r/01-seed1")


def test_a_helper_that_dies_costs_time_not_results() -> None:
    results = map_in_processes(partial(die_unless_in, os.getpid()), [1, 2, 3], workers=2)
    assert results == [2, 3, 4]


def _comparison_dir(root: Path, strategies: int, repeats: int) -> Path:
    names = [f"strategy-{i:02d}" for i in range(strategies)]
    behaviours = [Behaviour(n, ok_during_fault=i / strategies) for i, n in enumerate(names)]
    fault = FakeFault(applied_at=4.0, reverted_at=8.0)
    for repeat in range(1, repeats + 1):
        requests = synthetic_requests(behaviours, rate=5, elapsed=12.0, fault=fault, seed=repeat)
        write_fake_run(root / "runs" / f"0{repeat}-seed{repeat}", requests, elapsed=12.0,
                       faults=[fault])  # fmt: skip
    return root


def test_repeats_read_and_charts_drawn_in_helpers_match_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight strategies (small multiples, fanned out) and three repeats, with the size threshold
    lowered so this small comparison is read in helpers too: byte-identical reports."""
    monkeypatch.setattr(build, "FAN_OUT_BYTES", 0)
    directory = _comparison_dir(tmp_path / "cmp", strategies=8, repeats=3)
    serial = build_comparison(directory, slos={}, workers=1)
    fanned = build_comparison(directory, slos={}, workers=2)
    assert fanned == serial
    one, two = tmp_path / "one", tmp_path / "two"
    write_reports(serial, one, workers=1)
    write_reports(fanned, two, workers=2)
    for name in (*map(chart_file, CHARTS), writers.HTML, writers.MARKDOWN):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_small_work_is_not_fanned_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the thresholds (few request records, few strategies) no helper is started."""
    directory = _comparison_dir(tmp_path / "cmp", strategies=3, repeats=2)
    started: list[int] = []

    def spy(func, items, *, workers):  # type: ignore[no-untyped-def]
        started.append(workers)
        return [func(item) for item in items]

    monkeypatch.setattr(build, "map_in_processes", spy)
    monkeypatch.setattr(writers, "map_in_processes", spy)
    write_reports(build_comparison(directory, slos={}, workers=8), tmp_path / "out", workers=8)
    assert started == [1, 1]
