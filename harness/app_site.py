"""One aiohttp app served on one address in the running loop. The metrics exporter and the control
API bind, report a port clash and stop the same way; this is that one way."""

from __future__ import annotations

import errno

from aiohttp import web

from harness.errors import AddressError


class AppSite:
    """`await start(app, host, port)` -> the bound (host, port); `await stop()` (idempotent).

    `what` names the service in a bind error ("cannot serve WHAT on HOST:PORT: …"); `in_use` is the
    reason given when the port is taken (it may suggest what else holds it)."""

    def __init__(self, what: str, in_use: str, *, shutdown_timeout: float = 60.0) -> None:
        self._what = what
        self._in_use = in_use
        self._shutdown_timeout = shutdown_timeout  # aiohttp's default is 60 s
        self._runner: web.AppRunner | None = None
        self.address: tuple[str, int] | None = None

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def hostport(self) -> str:
        """host:port of the bound address, IPv6 in brackets (as URLs and scrape targets want)."""
        if self.address is None:
            raise RuntimeError(f"{self._what} is not being served")
        host, port = self.address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def start(self, app: web.Application, host: str, port: int) -> tuple[str, int]:
        if self._runner is not None:
            raise RuntimeError(f"{self._what} is already being served")
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            reason = self._in_use if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
            raise AddressError(f"cannot serve {self._what} on {host}:{port}: {reason}") from exc
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound = runner.addresses[0]
        self.address = (str(bound[0]), int(bound[1]))
        return self.address

    async def stop(self) -> None:
        runner, self._runner, self.address = self._runner, None, None
        if runner is not None:
            await runner.cleanup()
