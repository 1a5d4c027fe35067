"""Fan a few independent, picklable calls out over this machine's cores.

What is left once a comparison's units have run - reading each repeat's requests, drawing each
chart - is a handful of pure calls of about a second each. Made one after the other they keep one
core busy while the others idle: on 2 cores they were a tenth of the headline's wall time.

Spawned processes (a fresh interpreter: no inherited threads, locks or sockets), which ignore
SIGINT: the comparison writes its reports with signals turned into a flag, and a Ctrl-C reaching
the whole process group must not kill a helper half-way. A pool that breaks (a helper killed)
costs time, not results: the calls are made again in this process.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_processes(func: Callable[[T], R], items: Iterable[T], *, workers: int) -> list[R]:
    """[func(item) for item in items], in order, on up to `workers` processes; in this process
    when one would do (one worker or one item), so small jobs and the test suite pay no start-up.
    `func` must be a module-level function (or a functools.partial of one): it is pickled."""
    items = list(items)
    processes = min(workers, len(items))
    if processes <= 1:
        return [func(item) for item in items]
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(processes, mp_context=context, initializer=_ignore_sigint) as pool:
            return list(pool.map(func, items))
    except BrokenProcessPool:
        return [func(item) for item in items]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
