"""Regional failover and failback (Route 53 failover routing / client-side region lists).

Region order: `regions` from the options, else the strategy's regions (home first, then by
round-trip time). Each region is up or down; a request tries the up regions in order
(active-passive) or starting from one picked at random weighted toward low RTT, weight
1/(position+1) (active-active). An outcome in `on` (DNS failures, connection errors, circuit
open) sends the request to the next region at once, while the deadline allows; any other
outcome is returned as is. If every region is down, all are tried in order.

Marking a region down, by `health`:
- "errors": DOWN_AFTER (3) consecutive outcomes in `on` from it (Envoy's outlier detection
  uses 5 consecutive 5xx; connection-level failures warrant a smaller number).
- "breaker": its circuit in the strategy's breaker block is open after a result from it
  (falls back to "errors" when the strategy has no breaker).
- "probe": like "errors". A background prober is out of scope: the live requests sent to a
  down region every probe_interval are the probes.
Failback: while a region is down, one request every `probe_interval` (first one
probe_interval after it went down) tries it first, as a probe; any result from a down region
counts as a probe, and any failure of a probe (not only an outcome in `on`) moves the
request on to the next region. The region is up again once probes have succeeded (OK)
without a failure for `failback_after` (0: the first OK probe); a failed probe restarts
that clock.

Events, once per change of the preferred (first up) region — FailoverHappened(from, to) when
it moves away from home (or further down the order), FailbackHappened(to) when it moves back
toward home. Active-active: FailoverHappened when a region goes down, FailbackHappened when it
comes back.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.client.api import AttemptResult, Context, Next
from harness.client.policies.base import BlockEnv
from harness.client.policies.breaker import OPEN, BreakerPolicy
from harness.events import FailbackHappened, FailoverHappened
from harness.outcomes import Outcome
from harness.scenario.strategy_spec import FailoverBlock

DOWN_AFTER = 3


@dataclass(slots=True)
class RegionHealth:
    down: bool = False
    consecutive_failures: int = 0
    next_probe: float = 0.0
    probing: bool = False
    healthy_since: float | None = None  # first OK probe of the current run of successes


class FailoverPolicy:
    def __init__(self, options: FailoverBlock, env: BlockEnv) -> None:
        self.options = options
        self.env = env
        self.order: tuple[str, ...] = tuple(options.regions or env.regions)
        self.health = {region: RegionHealth() for region in self.order}
        self.preferred = self.order[0]
        self._on = frozenset(options.on)
        self._breaker: BreakerPolicy | None = env.breaker if options.health == "breaker" else None
        self._weights = [1.0 / (i + 1) for i in range(len(self.order))]
        self._down = 0  # regions currently down

    def is_down(self, region: str) -> bool:
        health = self.health.get(region)
        return health is not None and health.down

    async def execute(self, ctx: Context, next: Next) -> AttemptResult:
        plan, probe = self._plan(ctx)
        last: AttemptResult | None = None
        for index, region in enumerate(plan):
            if index and ctx.remaining() <= 0:
                break
            ctx.region = region
            health = self.health[region]
            was_down = health.down
            if region == probe:
                health.probing = True
            try:
                result = await next(ctx)
            finally:
                if region == probe:
                    health.probing = False
            self._observe(region, health, result.outcome)
            # a region that was down (a probe) must not cost the request anything: any
            # failure there moves on, not only the outcomes in `on`
            if result.outcome not in self._on and not (
                was_down and result.outcome is not Outcome.OK
            ):
                return result
            last = result
        assert last is not None  # the plan is never empty
        return last

    def _plan(self, ctx: Context) -> tuple[list[str] | tuple[str, ...], str | None]:
        """Regions to try for this request, in order, and the region being probed (if any)."""
        active_active = self.options.mode == "active-active"
        if self._down == 0 and not active_active:
            return self.order, None  # the common case, kept cheap
        now = ctx.clock.now()
        probe = None
        for region in self.order:
            health = self.health[region]
            if health.down and not health.probing and now >= health.next_probe:
                probe = region
                health.next_probe = now + self.options.probe_interval
                break
        up = [r for r in self.order if not self.health[r].down]
        if not up:
            return self.order, probe
        if active_active and len(up) > 1:
            first = ctx.rng.choices(up, weights=self._weights[: len(up)])[0]
            up.remove(first)
            up.insert(0, first)
        if probe is not None:
            up.insert(0, probe)
        return up, probe

    def _observe(self, region: str, health: RegionHealth, outcome: Outcome) -> None:
        now = self.env.clock.now()
        if health.down:
            self._observe_probe(region, health, outcome, now)
            return
        if outcome in self._on:
            health.consecutive_failures += 1
        else:
            health.consecutive_failures = 0
        if self._breaker is not None:
            failed = self._breaker.state(region) == OPEN
        else:
            failed = health.consecutive_failures >= DOWN_AFTER
        if failed:
            health.down = True
            self._down += 1
            health.healthy_since = None
            health.next_probe = now + self.options.probe_interval
            self._health_changed(region, down=True)

    def _observe_probe(
        self, region: str, health: RegionHealth, outcome: Outcome, now: float
    ) -> None:
        if outcome is not Outcome.OK:
            health.healthy_since = None
            return
        if health.healthy_since is None:
            health.healthy_since = now
        if now - health.healthy_since >= self.options.failback_after:
            health.down = False
            self._down -= 1
            health.consecutive_failures = 0
            health.healthy_since = None
            self._health_changed(region, down=False)

    def _health_changed(self, region: str, *, down: bool) -> None:
        bus, strategy = self.env.bus, self.env.strategy
        if self.options.mode == "active-active":
            if down:
                others = [r for r in self.order if not self.health[r].down]
                if others:
                    bus.emit(FailoverHappened(strategy, region, others[0]))
            else:
                bus.emit(FailbackHappened(strategy, region))
            return
        up = [r for r in self.order if not self.health[r].down]
        if not up or up[0] == self.preferred:
            return
        old, new = self.preferred, up[0]
        self.preferred = new
        if self.order.index(new) > self.order.index(old):
            bus.emit(FailoverHappened(strategy, old, new))
        else:
            bus.emit(FailbackHappened(strategy, new))
