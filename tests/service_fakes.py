"""A fake service tier for telemetry tests: rows that grow on every read, so rates have data."""

from __future__ import annotations

from harness.telemetry.service_metrics import ServiceRow


class FakeServices:
    def __init__(self) -> None:
        self.reads = 0

    def service_rows(self) -> list[ServiceRow]:
        self.reads += 1
        n = self.reads
        auth = ServiceRow(
            service="auth",
            region="us-east-1",
            requests={"ok": 3 * n, "DependencyFailed": n},
            calls={("dynamodb", "ok"): 3 * n, ("dynamodb", "dns_nodata"): n},
            in_flight=2,
            queued=1,
            healthy=1.0,
        )
        leases = {"held": 150, "queued": 40, "waiting": 10, "throttle": 32}
        leases |= {"renewed": 5 * n, "established": n, "timed_out": 2 * n, "failed": n}
        lease = ServiceRow(
            service="lease",
            region="us-east-1",
            requests={"ok": n, "LeaseExpired": n},
            calls={("dynamodb", "ok"): 6 * n, ("dynamodb", "dns_nodata"): n},
            in_flight=1,
            queued=1,
            healthy=0.5,
            leases=leases,
        )
        return [auth, lease]
