"""`harness observe`: a local Prometheus scraping a harness run, for people without Docker."""

from __future__ import annotations

import asyncio

from rich.console import Console

from harness.loops import run_with_signals
from harness.telemetry.prometheus import Prometheus


def serve_prometheus(target: str, port: int, out: Console) -> None:
    async def main(interrupt: asyncio.Event) -> None:
        async with Prometheus([target], port=port) as prometheus:
            out.print(f"Prometheus at {prometheus.url}, scraping http://{target}/metrics every 1 s")
            out.print(
                "Grafana: add a Prometheus datasource with uid 'harness-prom' and URL "
                f"{prometheus.url}, then import grafana/dashboards/*.json "
                "(or use docker compose up, which provisions both)."
            )
            out.print(
                "In another terminal: harness run SCENARIO --clock real    (Ctrl-C here to stop)"
            )
            await interrupt.wait()

    run_with_signals("real", main)
