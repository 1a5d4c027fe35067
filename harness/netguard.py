"""The harness only ever talks to loopback addresses (127.0.0.0/8 and ::1)."""

from __future__ import annotations

import ipaddress

from harness.errors import AddressError


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def require_loopback(address: str, what: str = "address") -> str:
    """Return the address if it is loopback, else raise AddressError naming what it was for."""
    if not is_loopback(address):
        raise AddressError(f"{what} {address!r} is not a loopback address (127.0.0.0/8 or ::1)")
    return address
