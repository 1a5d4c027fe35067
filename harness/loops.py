"""Running a coroutine on a real-time or a virtual-time (looptime) event loop, with clean
SIGINT/SIGTERM handling: the first signal asks the run to stop and keep its results."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

import looptime

T = TypeVar("T")


def new_loop(clock: Literal["virtual", "real"]) -> asyncio.AbstractEventLoop:
    if clock == "virtual":
        # noop_cycles=1: jump the clock after one idle cycle instead of 42. Every socket here is
        # on loopback in this loop, so data written is readable at once and nothing arrives from
        # threads; measured: byte-identical request logs, half the wall time (bench/README.md).
        return looptime.new_event_loop(start=0.0, noop_cycles=1)
    return asyncio.new_event_loop()


def run_with_signals(
    clock: Literal["virtual", "real"],
    main: Callable[[asyncio.Event], Coroutine[Any, Any, T]],
) -> T:
    """Run `main(interrupt)`; SIGINT/SIGTERM set `interrupt`, and `main` ends cleanly.

    A second signal does not cancel anything: cancelling would cut the clean-up (fault reverts,
    socket closes, results) short, which is worse than waiting a moment for it.
    """
    loop = new_loop(clock)
    asyncio.set_event_loop(loop)
    interrupt = asyncio.Event()

    def on_signal() -> None:
        if interrupt.is_set():
            print("already stopping: reverting faults and writing results", file=sys.stderr)
        interrupt.set()

    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        task = loop.create_task(main(interrupt))
        return loop.run_until_complete(task)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        _cancel_leftovers(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
