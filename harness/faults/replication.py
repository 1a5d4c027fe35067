"""replication.pause: writes stop flowing from `source` to `destination` (None: all) until revert;
what queued meanwhile is delivered on resume (harness.world.control.ReplicationControl)."""

from __future__ import annotations

from harness.faults.base import FaultContext, FaultError, FaultUnit
from harness.faults.world_api import FaultWorld
from harness.scenario.fault_spec import ReplicationPause


class ReplicationPauseFault(FaultUnit[ReplicationPause]):
    spec_type = ReplicationPause
    client_sees = (
        "reads in the destination region return older versions (replication lag grows); "
        "writes queue and arrive on revert"
    )
    attribute_docs = {
        "source": "Region whose writes stop flowing (default: all).",
        "destination": "Region that stops receiving them (default: all).",
    }

    def __init__(self, spec: ReplicationPause, ctx: FaultContext) -> None:
        super().__init__(spec, ctx)
        self._handle: int | None = None

    async def apply(self, world: FaultWorld) -> None:
        replication = world.replication
        if replication is None:
            raise FaultError("replication.pause: replication is off in this world")
        if not self.fires():
            return
        self._handle = replication.pause(self.spec.source, self.spec.destination)

    async def revert(self, world: FaultWorld) -> None:
        handle, self._handle = self._handle, None
        if handle is not None and world.replication is not None:
            world.replication.resume(handle)
