"""Units of work and the executors that run them: inline, local worker processes, Dask."""

from __future__ import annotations

import os
import threading
from typing import Literal

from harness.errors import HarnessError
from harness.executors.base import Executor
from harness.executors.local import usable_cores
from harness.executors.units import Reporter, Unit, UnitResult

ExecutorKind = Literal["inline", "local", "dask"]
CLUSTER_ENV = "HARNESS_DASK_SCHEDULER"

__all__ = ["CLUSTER_ENV", "Executor", "Unit", "UnitResult", "make_executor", "usable_cores"]


def make_executor(
    kind: ExecutorKind,
    *,
    workers: int | None,
    cluster: str | None,
    report: Reporter,
    interrupt: threading.Event,
) -> Executor:
    if kind == "inline":
        from harness.executors.inline import InlineExecutor

        return InlineExecutor(report, interrupt)
    if kind == "local":
        from harness.executors.local import LocalExecutor

        return LocalExecutor(workers or usable_cores(), report)
    address = cluster or os.environ.get(CLUSTER_ENV)
    if not address:
        raise HarnessError(f"--executor dask: give --cluster tcp://HOST:PORT or set {CLUSTER_ENV}")
    from harness.executors.cluster import DaskExecutor

    return DaskExecutor(address, report)
