"""Network delay between the clients and a region: half the round trip each way, optionally
varying per trip as in Brooker's backoff simulator (a normal folded at zero). Without variation,
synchronized clients stay synchronized for ever under the virtual clock; real networks spread them.
"""

from __future__ import annotations

import random


class OneWayDelay:
    def __init__(self, rtt: float, jitter: float, rng: random.Random | None) -> None:
        self._mean = rtt / 2
        self._jitter = jitter
        self._rng = rng if jitter > 0 else None

    def sample(self) -> float:
        """Seconds for one trip (request or response)."""
        if self._rng is None:
            return self._mean
        return abs(self._rng.normalvariate(self._mean, self._jitter))
