"""The dask executor: units as tasks on an existing Dask distributed scheduler.

Dask does the scheduling, the placement and the detection of dead workers; we add a stop flag
(a distributed.Event every unit watches), progress messages (worker events on a topic this client
subscribes to) and our retry-once rule on top of the scheduler's own. Tasks run the same
`run_unit` as local workers, so the harness (and any user strategy code) must be importable on
the workers. Start workers with `--nthreads 1`: a unit is CPU-bound Python, and threads of one
process share one core (the GIL).
"""

from __future__ import annotations

import importlib
import queue
import socket
import uuid
from typing import Any

from harness.errors import HarnessError
from harness.executors.base import Done, Finished, Lost
from harness.executors.units import Reporter, Unit, UnitResult, run_unit

CONNECT_TIMEOUT = "5s"
INSTALL_HINT = "pip install 'dns-outage-harness[cluster]'"


def _run_on_worker(unit: Unit, attempt: int, stop_name: str, topic: str) -> UnitResult:
    distributed: Any = importlib.import_module("distributed")  # untyped: kept at arm's length
    worker = distributed.get_worker()
    # The client is looked up here, in the task's thread: the thread that watches the flag
    # for the unit is not a task thread and could not find it.
    stop = distributed.Event(stop_name, client=distributed.get_client())

    def report(unit_id: str, attempt: int, elapsed: float, requests: int) -> None:
        worker.log_event(topic, ["progress", unit_id, attempt, elapsed, requests])

    worker.log_event(topic, ["started", unit.id, attempt, 0.0, 0])
    return run_unit(unit, attempt, stop, report)


class DaskExecutor:
    kind = "dask"

    def __init__(self, address: str, report: Reporter) -> None:
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise HarnessError(
                f"--cluster: Dask distributed is not installed ({INSTALL_HINT})"
            ) from None
        try:
            scheme, location = distributed.comm.parse_address(address)
            distributed.comm.registry.get_backend(scheme)  # ValueError for an unknown scheme
            if scheme == "tcp":  # refused at once rather than retried until the timeout
                host, port = distributed.comm.addressing.parse_host_port(location)
                socket.create_connection((host, port), timeout=5).close()
            self._client: Any = distributed.Client(
                address, timeout=CONNECT_TIMEOUT, set_as_default=False
            )
        except Exception as exc:  # OSError, TimeoutError, ValueError for a malformed address
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HarnessError(
                f"--cluster {address}: cannot reach a Dask scheduler ({detail})"
            ) from None
        info = self._client.scheduler_info()
        self.workers = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        if self.workers == 0:
            self._client.close()
            raise HarnessError(f"--cluster {address}: the scheduler has no workers")
        token = uuid.uuid4().hex[:12]
        self._token = token
        self._stop_name = f"harness-stop-{token}"
        self._stop: Any = distributed.Event(self._stop_name, client=self._client)
        self._topic = f"harness-progress-{token}"
        self._report = report
        self._client.subscribe_topic(self._topic, self._on_event)
        self._done: queue.Queue[Done] = queue.Queue()
        self._futures: dict[str, Any] = {}
        self._keys: dict[tuple[str, int], str] = {}
        self._waiting: set[tuple[str, int]] = set()  # submitted, not started yet
        self._skipped: set[tuple[str, int]] = set()
        self._stopping = False

    def _on_event(self, event: tuple[float, Any]) -> None:
        kind, unit_id, attempt, elapsed, requests = event[1]
        if kind == "started":
            self._waiting.discard((unit_id, attempt))
        else:
            self._report(unit_id, attempt, elapsed, requests)

    def submit(self, unit: Unit, attempt: int) -> None:
        key = f"harness-unit-{self._token}-{unit.id.replace('/', '-')}-{attempt}"
        future = self._client.submit(
            _run_on_worker, unit, attempt, self._stop_name, self._topic, key=key, pure=False
        )
        self._futures[key] = future
        self._keys[(unit.id, attempt)] = key
        self._waiting.add((unit.id, attempt))

        def done(f: Any) -> None:
            self._futures.pop(key, None)
            if f.status == "finished":
                self._done.put(Finished(unit.id, attempt, f.result()))
                return
            exc = f.exception() if f.status == "error" else None
            reason = f"{type(exc).__name__}: {exc}" if exc is not None else f"task {f.status}"
            self._done.put(Lost(unit.id, attempt, reason))

        future.add_done_callback(done)

    def poll(self, timeout: float) -> list[Done]:
        done: list[Done] = []
        if self._stopping:  # a task not started yet has nothing to stop: cancel it, do not wait
            for unit_id, attempt in self._waiting - self._skipped:
                self._skipped.add((unit_id, attempt))
                future = self._futures.pop(self._keys[(unit_id, attempt)], None)
                if future is not None:
                    self._client.cancel([future])
                skipped = UnitResult(unit_id, "skipped", "stopped before it started")
                done.append(Finished(unit_id, attempt, skipped))
        try:
            done.append(self._done.get(timeout=timeout))
            while True:
                done.append(self._done.get_nowait())
        except queue.Empty:
            pass
        return done

    def stop(self) -> None:
        self._stop.set()
        self._stopping = True

    def close(self) -> None:
        leftovers = list(self._futures.values())
        if leftovers:
            self._client.cancel(leftovers)
        self._client.unsubscribe_topic(self._topic)
        self._client.close()
