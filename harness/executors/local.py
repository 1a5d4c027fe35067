"""The local executor: a multiprocessing pool of worker processes on this machine.

multiprocessing.Pool rather than ProcessPoolExecutor: when one worker dies (kill -9, the OOM
killer), ProcessPoolExecutor declares the whole pool broken and terminates every other worker,
while Pool replaces the dead worker and lets the others finish. The one unit that was running in
the dead process never reports back, so each unit says which process runs it when it starts and
the executor watches those processes: a vanished one is reported as Lost (the coordinator retries
it once).

Workers are started with `spawn` (a fresh interpreter: no inherited event loop, sockets or
threads) and ignore SIGINT: the terminal sends Ctrl-C to the whole process group, but only the
coordinator decides how units stop (through a shared Event), so none dies half-way.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.pool
import os
import queue
import signal
from pathlib import Path
from typing import Any

from harness.executors.base import Done, Finished, Lost
from harness.executors.units import Reporter, Unit, UnitResult, run_unit

_STOP: Any = None  # in a worker: the pool's shared stop Event
_EVENTS: Any = None  # in a worker: the queue of started/progress messages


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _init_worker(stop: Any, events: Any) -> None:
    global _STOP, _EVENTS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STOP, _EVENTS = stop, events
    import harness.runner  # noqa: F401 - import once per worker, not in the first unit's time


def _report(unit_id: str, attempt: int, elapsed: float, requests: int) -> None:
    _EVENTS.put(("progress", unit_id, attempt, elapsed, requests))


def _run_in_worker(unit: Unit, attempt: int) -> UnitResult:
    _EVENTS.put(("started", unit.id, attempt, os.getpid()))
    return run_unit(unit, attempt, _STOP, _report)


class LocalExecutor:
    kind = "local"

    def __init__(self, workers: int, report: Reporter) -> None:
        context = multiprocessing.get_context("spawn")
        self.workers = workers
        self._report = report
        self._stop = context.Event()
        self._events = context.Queue()
        self._done: queue.Queue[Done] = queue.Queue()
        self._running: dict[tuple[str, int], int] = {}  # (unit, attempt) -> worker pid
        self._resolved: set[tuple[str, int]] = set()
        self._waiting: set[tuple[str, int]] = set()  # submitted, not started yet
        self._stopping = False
        self._pool = context.Pool(workers, _init_worker, (self._stop, self._events))

    def submit(self, unit: Unit, attempt: int) -> None:
        self._waiting.add((unit.id, attempt))

        def finished(result: UnitResult) -> None:
            self._done.put(Finished(unit.id, attempt, result))

        def failed(exc: BaseException) -> None:  # run_unit does not raise: pickling, at most
            reason = f"{type(exc).__name__}: {exc}"
            result = UnitResult(unit.id, "error", reason, "internal", attempts=attempt)
            self._done.put(Finished(unit.id, attempt, result))

        self._pool.apply_async(
            _run_in_worker, (unit, attempt), callback=finished, error_callback=failed
        )

    def poll(self, timeout: float) -> list[Done]:
        done: list[Done] = []
        self._drain_events()
        try:
            done.append(self._done.get(timeout=timeout))
            while True:
                done.append(self._done.get_nowait())
        except queue.Empty:
            pass
        self._drain_events()
        for item in done:
            key = (item.unit_id, item.attempt)
            self._resolved.add(key)
            self._running.pop(key, None)
        if self._stopping:  # a unit not started yet has nothing to stop: do not wait for it
            for key in self._waiting - self._resolved:
                skipped = UnitResult(key[0], "skipped", "stopped before it started")
                done.append(Finished(key[0], key[1], skipped))
                self._resolved.add(key)
        for key, pid in list(self._running.items()):
            if not _alive(pid):
                del self._running[key]
                self._resolved.add(key)
                done.append(Lost(key[0], key[1], f"worker process {pid} died (killed or crashed)"))
        return done

    def _drain_events(self) -> None:
        while True:
            try:
                message = self._events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            kind, unit_id, attempt, *rest = message
            if kind == "started":
                self._waiting.discard((unit_id, attempt))
                if (unit_id, attempt) not in self._resolved:
                    self._running[(unit_id, attempt)] = rest[0]
            elif kind == "progress":
                self._report(unit_id, attempt, rest[0], rest[1])

    def stop(self) -> None:
        self._stop.set()
        self._stopping = True

    def close(self) -> None:
        self._pool.terminate()  # every unit has reported (or been given up on) by now
        self._pool.join()
        self._events.close()
        self._events.join_thread()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A dead child stays a zombie until the pool reaps it (within ~0.1 s): count it dead.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    return True
