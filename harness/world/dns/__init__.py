"""The world's DNS: an authoritative zone (`Zone`, the ZoneControl of harness.world.control) and the
server that answers for it on loopback over UDP and TCP (`DnsServer`)."""

from harness.world.dns.server import DnsServer
from harness.world.dns.zone import Decision, Soa, Zone

__all__ = ["Decision", "DnsServer", "Soa", "Zone"]
