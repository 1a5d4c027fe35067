"""Network delay between a caller and a server: half the round trip each way, optionally varying
per trip as in Brooker's backoff simulator (a normal folded at zero). Without variation,
synchronized clients stay synchronized for ever under the virtual clock; real networks spread them.

The round trip depends on where the caller is: every caller of ours (client hosts, and services,
which are clients too) names its region in the CALLER_HEADER request header, and the server pays
the round trip between that region and its own (Scenario.rtt). A request without it (an outside
tool) pays the round trip from the clients' home region.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

CALLER_HEADER = "X-Harness-Caller-Region"


class OneWayDelay:
    def __init__(
        self,
        rtt: float,
        jitter: float,
        rng: random.Random | None,
        rtt_from: Mapping[str, float] | None = None,
    ) -> None:
        self._mean = rtt / 2
        self._means = {caller: value / 2 for caller, value in (rtt_from or {}).items()}
        self._jitter = jitter
        self._rng = rng if jitter > 0 else None

    def sample(self, caller: str | None = None) -> float:
        """Seconds for one trip (request or response) of a caller in region `caller`."""
        mean = self._mean if caller is None else self._means.get(caller, self._mean)
        if self._rng is None:
            return mean
        return abs(self._rng.normalvariate(mean, self._jitter))
