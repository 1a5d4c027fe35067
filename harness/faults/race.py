"""dns.automation_race: the failure of 2025-10-20 itself (harness.world.automation).

Apply stalls one Enactor (seeded choice) from a seeded moment for `stall` seconds; like Enactor A
it then applies its long-stale plan while another Enactor's clean-up deletes it, and the record is
emptied (unless the automation has safeguards). Operators repair it at `manual_fix_at` (from
the start of the run; default `at + duration`). Revert makes sure the fix happened and the stall
is gone. The race needs a stall longer than cleanup_older_than x plan_interval (defaults: 20 s
against 10 x 1 s): a shorter one leaves a merely late plan, which clean-up does not reach.
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.faults.base import Background, FaultContext, FaultError, FaultUnit, sleep_until
from harness.faults.world_api import AutomationControl, FaultWorld
from harness.scenario.fault_spec import DnsAutomationRace


class DnsAutomationRaceFault(FaultUnit[DnsAutomationRace]):
    spec_type = DnsAutomationRace
    client_sees = (
        "after a seeded moment the record loses all its addresses (NODATA) and stays empty "
        "until the manual fix; with dns.automation.safeguards nothing happens"
    )

    def __init__(self, spec: DnsAutomationRace, ctx: FaultContext) -> None:
        super().__init__(spec, ctx)
        self._automation: AutomationControl | None = None
        self._fix = Background()
        self.enactor: str | None = None
        self.stall_at: float | None = None  # loop time
        self.fixed_at: float | None = None
        self.repaired = False

    def fix_time(self) -> float | None:
        """Loop time of the manual fix; None: at revert (the end of the run)."""
        spec = self.spec
        relative = spec.manual_fix_at
        if relative is None and spec.duration is not None:
            relative = spec.at + spec.duration
        return None if relative is None else self.ctx.start + max(relative, spec.at)

    async def apply(self, world: FaultWorld) -> None:
        automation = world.automation
        if automation is None:
            raise FaultError("dns.automation_race needs dns.automation.enabled: true")
        if automation.region != self.spec.target.region:
            raise FaultError(
                f"the DNS automation runs for {automation.region}, not {self.spec.target.region}"
            )
        if not self.fires():
            return
        now = asyncio.get_running_loop().time()
        fix_at = self.fix_time()
        window_end = fix_at if fix_at is not None else self.ctx.end
        # The stall starts early enough in the window for the race to play out before the fix.
        slack = max(0.0, (window_end - now - self.spec.stall) / 2)
        rng = self.ctx.rng
        self.enactor = rng.choice(automation.enactors)
        self.stall_at = now + rng.uniform(0.0, slack)
        automation.stall(self.enactor, self.stall_at, self.spec.stall)
        self._automation = automation
        if fix_at is not None:
            self._fix.start(self._fix_at(automation, fix_at), name="dns.automation_race:fix")

    async def _fix_at(self, automation: AutomationControl, when: float) -> None:
        await sleep_until(when)
        self._manual_fix(automation)

    def _manual_fix(self, automation: AutomationControl) -> None:
        self.repaired = automation.manual_fix() or self.repaired
        self.fixed_at = asyncio.get_running_loop().time()

    async def revert(self, world: FaultWorld) -> None:
        await self._fix.stop()
        automation = self._automation
        if automation is None:
            return  # never applied
        automation.clear_stall()
        if self.fixed_at is None or automation.inconsistent:
            self._manual_fix(automation)

    def details(self) -> dict[str, Any]:
        start = self.ctx.start
        automation = self._automation
        report = automation.race_report(origin=start) if automation is not None else {}
        return {
            "enactor": self.enactor,
            "stall_at": None if self.stall_at is None else self.stall_at - start,
            "stall": self.spec.stall,
            "fixed_at": None if self.fixed_at is None else self.fixed_at - start,
            "repaired": self.repaired,
            "automation": report,
        }
