"""The DNS server starts reliably on a busy machine: thousands of TIME_WAIT sockets on loopback
(what a high-rate run or a busy CI leaves behind) block TCP binds on their ports, not UDP binds,
so the server binds TCP first and then UDP on the same port, with a fresh pair on a clash."""

from __future__ import annotations

import errno
import random
import socket
import time

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from harness.errors import AddressError
from harness.world.dns import DnsServer, Zone
from harness.world.dns import server as dns_server_module

pytestmark = pytest.mark.looptime

TIME_WAIT_SOCKETS = 3000


@pytest.fixture(scope="module")
def time_wait_ports() -> set[int]:
    """Local ports of TIME_WAIT sockets on 127.0.0.1 (the client closes first, so its side waits
    60 s in TIME_WAIT). Bounded in count and in time."""
    ports: set[int] = set()
    deadline = time.monotonic() + 20
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        while len(ports) < TIME_WAIT_SOCKETS and time.monotonic() < deadline:
            client = socket.create_connection(listener.getsockname())
            accepted, _ = listener.accept()
            ports.add(client.getsockname()[1])
            client.close()
            accepted.close()
    assert len(ports) >= TIME_WAIT_SOCKETS // 2
    return ports


def test_time_wait_ports_block_tcp_binds_but_not_udp(time_wait_ports: set[int]) -> None:
    """The hazard itself: why binding UDP on port 0 and then TCP on its port fails."""
    port = sorted(time_wait_ports)[0]
    with socket.socket() as tcp:
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with pytest.raises(OSError) as raised:
            tcp.bind(("127.0.0.1", port))
        assert raised.value.errno == errno.EADDRINUSE
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", port))


async def test_hundreds_of_starts_among_thousands_of_time_wait_sockets(
    time_wait_ports: set[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every start succeeds, and at the first try: a port the kernel picks for TCP is never a
    TIME_WAIT one (binding UDP first landed on one about once in ten tries here)."""
    real_bind_tcp = DnsServer._bind_tcp
    tries: list[int] = []

    async def counted(self: DnsServer, port: int) -> object:
        tries.append(port)
        return await real_bind_tcp(self, port)

    monkeypatch.setattr(DnsServer, "_bind_tcp", counted)
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    zone.set_addresses("api.example.test", ("127.0.1.1",))
    query = dns.message.make_query("api.example.test", "A")
    ports = set()
    for start in range(300):
        async with DnsServer(zone, rng=random.Random(start)) as server:
            ports.add(server.port)
            if start % 50 == 0:
                udp = await dns.asyncquery.udp(query, server.host, port=server.port, timeout=2)
                tcp = await dns.asyncquery.tcp(query, server.host, port=server.port, timeout=2)
                assert udp.rcode() == tcp.rcode() == dns.rcode.NOERROR
    assert not ports & time_wait_ports
    assert len(tries) <= 302  # 300 starts; a rare clash with some other UDP socket is retried


async def test_a_udp_clash_is_retried_with_a_fresh_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the UDP side of the TCP port is taken, the TCP listener is released and a new pair
    tried; after the last attempt the error names the port and the protocol."""
    zone = Zone("example.test", ttl=30, negative_ttl=5)
    real_bind_udp = DnsServer._bind_udp
    clashes: list[int] = []

    async def clashing(self: DnsServer, loop: object, port: int) -> None:
        if len(clashes) < 3:
            clashes.append(port)
            raise AddressError(f"DNS server cannot bind 127.0.0.1:{port}/udp: in use")
        await real_bind_udp(self, loop, port)  # type: ignore[arg-type]

    monkeypatch.setattr(DnsServer, "_bind_udp", clashing)
    async with DnsServer(zone, rng=random.Random(0)) as server:
        assert len(clashes) == 3 and server.port not in clashes
        for port in clashes:  # every TCP listener of a failed attempt was closed
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", port)) != 0

    clashes.clear()
    monkeypatch.setattr(dns_server_module, "_BIND_ATTEMPTS", 2)
    with pytest.raises(AddressError, match="/udp: in use"):
        await DnsServer(zone, rng=random.Random(0)).start()
