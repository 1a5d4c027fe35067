"""The virtual loop of harness.loops: executor futures still hold its clock, then are dropped."""

from __future__ import annotations

import asyncio
import threading

from harness.loops import new_loop


def test_an_executor_call_finishes_on_the_virtual_loop_and_is_forgotten() -> None:
    loop = new_loop("virtual")
    release = threading.Event()

    async def main() -> tuple[str, float]:
        pending = loop.run_in_executor(None, lambda: release.wait(5) and "done")
        futures = loop._LoopTimeEventLoop__sync_futures  # type: ignore[attr-defined]
        assert len(futures) == 1  # looptime waits for it instead of jumping the clock
        loop.call_later(0.01, release.set)  # in loop time; the thread ends in real time
        result = await pending
        await asyncio.sleep(0)  # the done callback that forgets it
        assert len(futures) == 0
        return result, loop.time()

    try:
        result, _ = loop.run_until_complete(main())
    finally:
        loop.close()
    assert result == "done"
