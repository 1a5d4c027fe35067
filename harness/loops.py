"""Running a coroutine on a real-time or a virtual-time (looptime) event loop, with clean
SIGINT/SIGTERM handling: the first signal asks the run to stop and keep its results."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Literal, Protocol, TypeVar

import looptime

T = TypeVar("T")

STOP_POLL = 0.1  # real seconds between two looks at a cross-process stop flag


class StopFlag(Protocol):
    """A threading.Event, a multiprocessing Event or a distributed.Event: set by a coordinator."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def new_loop(clock: Literal["virtual", "real"]) -> asyncio.AbstractEventLoop:
    if clock == "virtual":
        # noop_cycles=0: jump the clock at the second idle poll in a row instead of after 42
        # idle cycles. Every socket here is on loopback in this loop, so data written is
        # readable at once (the kernel delivers it within the send) and nothing arrives from
        # threads; measured: byte-identical request logs (42 -> 1 halved the wall time, 1 -> 0
        # removed a fifth of the loop's iterations; bench/README.md).
        loop = looptime.new_event_loop(start=0.0, noop_cycles=0)
        _cheap_idle_check(loop)
        return loop
    return asyncio.new_event_loop()


class _FutureSet(set):  # type: ignore[type-arg]
    """The executor futures looptime waits for, as a plain set (iterating it is C code, and free
    while empty) that forgets each future once it is done, as the WeakSet it replaces would
    once the future is gone."""

    def add(self, future: Any) -> None:
        super().add(future)
        future.add_done_callback(self.discard)


def _cheap_idle_check(loop: asyncio.AbstractEventLoop) -> None:
    """looptime checks its executor futures (`any(... for fut in WeakSet)`) on every idle select;
    iterating even an empty WeakSet (iteration guard, pending removals) was ~6 % of a
    virtual-clock run's CPU in a py-spy profile, and a Python-level `__iter__` still ~1 %.
    Nothing here uses run_in_executor, so the set stays empty; swap in one whose empty
    iteration is free. Same behaviour if it ever fills."""
    attribute = "_LoopTimeEventLoop__sync_futures"
    current = getattr(loop, attribute, None)
    if isinstance(current, weakref.WeakSet) and not current:
        setattr(loop, attribute, _FutureSet())


def run_with_signals(
    clock: Literal["virtual", "real"],
    main: Callable[[asyncio.Event], Coroutine[Any, Any, T]],
) -> T:
    """Run `main(interrupt)`; SIGINT/SIGTERM set `interrupt`, and `main` ends cleanly.

    A second signal does not cancel anything: cancelling would cut the clean-up (fault reverts,
    socket closes, results) short, which is worse than waiting a moment for it.
    """
    return run_loop(clock, main, signals=True)


def run_loop(
    clock: Literal["virtual", "real"],
    main: Callable[[asyncio.Event], Coroutine[Any, Any, T]],
    *,
    signals: bool = False,
    stop: StopFlag | None = None,
) -> T:
    """Run `main(interrupt)` on a new loop. `interrupt` is set by SIGINT/SIGTERM (signals=True,
    main thread only) or, for a unit of work, once a coordinator sets `stop` (watched from a
    thread, since the flag may live in another process)."""
    loop = new_loop(clock)
    asyncio.set_event_loop(loop)
    interrupt = asyncio.Event()
    finished = threading.Event()
    if stop is not None:
        threading.Thread(
            target=_bridge, args=(stop, finished, loop, interrupt), daemon=True
        ).start()

    def on_signal() -> None:
        if interrupt.is_set():
            print("already stopping: reverting faults and writing results", file=sys.stderr)
        interrupt.set()

    handled = (signal.SIGINT, signal.SIGTERM) if signals else ()
    try:
        for sig in handled:
            loop.add_signal_handler(sig, on_signal)
        task = loop.create_task(main(interrupt))
        return loop.run_until_complete(task)
    finally:
        finished.set()
        for sig in handled:
            loop.remove_signal_handler(sig)
        _cancel_leftovers(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


def _bridge(
    stop: StopFlag,
    finished: threading.Event,
    loop: asyncio.AbstractEventLoop,
    interrupt: asyncio.Event,
) -> None:
    while not finished.is_set():
        if stop.wait(STOP_POLL):
            # RuntimeError: the loop closed meanwhile, and there is nothing left to stop
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(interrupt.set)
            return


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


@contextlib.contextmanager
def signals_set(flag: threading.Event) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM only set `flag` (and say so once more on a repeat): the
    coordinator of units stops them and still writes every result and report. No exception is
    raised, so a second Ctrl-C cannot cut the writing of the comparison files short."""

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    reinstall(flag)
    try:
        yield
    finally:
        for sig, old in previous.items():
            # Stopping: the process is about to exit. Ignore further signals at the OS level;
            # a Python handler would be reset to the default (death by SIGINT) while the
            # interpreter shuts down, which takes a moment.
            signal.signal(sig, signal.SIG_IGN if flag.is_set() else old)


def reinstall(flag: threading.Event) -> None:
    """After an inline run that installed loop handlers (which restore Python's defaults on
    exit), point SIGINT and SIGTERM at `flag` again."""

    def handler(signum: int, frame: object) -> None:
        if flag.is_set():
            os.write(2, b"already stopping: reverting faults and writing results\n")
        flag.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
