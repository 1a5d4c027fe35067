"""Run by the 2025 differential tests in a child process whose sys.path puts botocore 1.42.80 first:
GetItem calls against a world, one after another; prints what botocore did as one JSON line.

botocore sleeps between attempts with `time.sleep` in botocore.endpoint; that sleep is recorded
and skipped (a fake clock for the waits only), so schedules of seconds cost nothing. Usage:
  python fidelity_botocore_driver.py '{"url": ..., "dns": [host, port], "zone": ..., "calls": N,
                                       "config": {...}}'
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
from typing import Any

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype


def _resolve_through(zone: str, server: tuple[str, int]) -> None:
    real = socket.getaddrinfo
    suffix = "." + zone.strip(".")

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(host, str) or not host.rstrip(".").endswith(suffix):
            return real(host, port, *args, **kwargs)
        reply = dns.query.udp(
            dns.message.make_query(host, dns.rdatatype.A), server[0], port=server[1], timeout=2.0
        )
        addresses = [i.address for r in reply.answer if r.rdtype == dns.rdatatype.A for i in r]
        if reply.rcode() == dns.rcode.NXDOMAIN or not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port))) for a in addresses]

    socket.getaddrinfo = getaddrinfo


def main(args: dict[str, Any]) -> dict[str, Any]:
    _resolve_through(args["zone"], (args["dns"][0], int(args["dns"][1])))
    import botocore
    import botocore.endpoint
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    waits: list[float] = []
    calls: list[list[float]] = []

    class _Time:
        """botocore.endpoint's view of `time`: sleeps are recorded, not slept."""

        def __getattr__(self, name: str) -> Any:
            import time

            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            waits.append(seconds)

    botocore.endpoint.time = _Time()  # type: ignore[attr-defined]
    client = botocore.session.get_session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=args["url"],
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(**args["config"]),
    )
    attempts: list[int] = []
    for i in range(int(args["calls"])):
        before = len(waits)
        with contextlib.suppress(ClientError, BotoCoreError):
            client.get_item(TableName="items", Key={"pk": {"S": f"k{i}"}})
        calls.append(waits[before:])
        attempts.append(len(waits) - before + 1)  # every wait precedes one more attempt
    return {"version": botocore.__version__, "attempts": attempts, "waits": calls}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
