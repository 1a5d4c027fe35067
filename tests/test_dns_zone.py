"""Zone: data, SOA, override stacking and decisions, change events. No network."""

from __future__ import annotations

import random

import pytest

from harness.errors import AddressError
from harness.events import EventBus, ZoneChanged
from harness.world.control import DnsOverride, ZoneControl
from harness.world.dns.zone import NORMAL, Zone

NAME = "api.example.test"


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_zone() -> tuple[Zone, list[ZoneChanged], _Clock]:
    bus = EventBus()
    events: list[ZoneChanged] = []
    bus.subscribe(ZoneChanged, events.append)
    clock = _Clock()
    zone = Zone("Example.Test.", ttl=30, negative_ttl=5, bus=bus, clock=clock)
    return zone, events, clock


def test_zone_satisfies_the_control_protocol() -> None:
    zone: ZoneControl = make_zone()[0]
    assert zone.names() == ()


def test_names_are_normalized_and_lookup_distinguishes_nxdomain_from_nodata() -> None:
    zone, _, _ = make_zone()
    zone.set_addresses("API.example.test.", ("127.0.1.1", "127.0.1.2"))
    zone.set_addresses("empty.example.test", ())
    assert zone.origin == "example.test"
    assert zone.addresses(NAME) == ("127.0.1.1", "127.0.1.2")
    assert zone.lookup(NAME) == ("127.0.1.1", "127.0.1.2")
    assert zone.lookup("empty.example.test") == ()
    assert zone.lookup("missing.example.test") is None
    assert zone.addresses("missing.example.test") is None
    assert zone.names() == ("api.example.test", "empty.example.test")


def test_empty_keeps_the_name_and_delete_removes_it() -> None:
    zone, _, _ = make_zone()
    zone.set_addresses(NAME, ("127.0.1.1",))
    zone.empty(NAME)
    assert zone.addresses(NAME) == ()
    zone.delete(NAME)
    assert zone.addresses(NAME) is None
    assert zone.lookup(NAME) is None
    zone.delete(NAME)  # deleting an absent name is harmless


def test_apex_and_empty_non_terminals_exist_without_addresses() -> None:
    zone, _, _ = make_zone()
    zone.set_addresses("dynamodb.us-east-1.example.test", ("127.0.1.1",))
    assert zone.lookup("example.test") == ()
    assert zone.lookup("us-east-1.example.test") == ()  # RFC 8020: NODATA, not NXDOMAIN
    assert zone.lookup("eu-west-1.example.test") is None
    zone.delete("dynamodb.us-east-1.example.test")
    assert zone.lookup("us-east-1.example.test") is None


def test_soa_minimum_and_ttl_are_the_negative_ttl_and_serial_grows() -> None:
    zone, _, _ = make_zone()
    first = zone.soa()
    assert (first.mname, first.rname) == ("ns1.example.test", "hostmaster.example.test")
    assert first.minimum == 5 and first.ttl == 5
    zone.set_addresses(NAME, ("127.0.1.1",))
    handle = zone.add_override(NAME, DnsOverride("nodata"))
    zone.remove_override(handle)
    assert zone.soa().serial == first.serial + 3


def test_outside_names_and_non_loopback_addresses_are_refused() -> None:
    zone, _, _ = make_zone()
    with pytest.raises(ValueError, match="outside the zone"):
        zone.set_addresses("api.other.test", ("127.0.0.1",))
    with pytest.raises(AddressError, match="not loopback"):
        zone.set_addresses(NAME, ("10.0.0.1",))
    with pytest.raises(AddressError, match="not an IPv4"):
        zone.set_addresses(NAME, ("::1",))
    with pytest.raises(AddressError):
        zone.add_override(NAME, DnsOverride("addresses", addresses=("192.0.2.1",)))
    with pytest.raises(ValueError, match="rate"):
        zone.add_override(NAME, DnsOverride("nodata", rate=1.5))


def test_every_change_emits_zone_changed_at_clock_time() -> None:
    zone, events, clock = make_zone()
    zone.set_addresses(NAME, ("127.0.1.1",))
    clock.now = 101.5
    zone.empty(NAME)
    clock.now = 102.0
    handle = zone.add_override(NAME, DnsOverride("servfail", rate=0.5))
    zone.remove_override(handle)
    zone.remove_override(handle)  # idempotent: no second event
    zone.remove_override(9999)
    zone.delete(NAME)
    assert [(e.name, e.change, e.at) for e in events] == [
        (NAME, "set", 100.0),
        (NAME, "empty", 101.5),
        (NAME, "override_added", 102.0),
        (NAME, "override_removed", 102.0),
        (NAME, "delete", 102.0),
    ]
    assert events[0].detail == "127.0.1.1"
    assert "servfail" in events[2].detail and "rate=0.5" in events[2].detail


def test_decide_without_overrides_is_normal_and_draws_nothing() -> None:
    zone, _, _ = make_zone()
    rng = random.Random(1)
    state = rng.getstate()
    assert zone.decide(NAME, rng) is NORMAL
    zone.add_override(NAME, DnsOverride("servfail", rate=0.0))
    zone.add_override(NAME, DnsOverride("nxdomain", rate=1.0))
    assert zone.decide(NAME, rng).verdict == "nxdomain"
    assert rng.getstate() == state  # rates 0 and 1 need no draw


def test_newest_override_wins_and_removal_restores_the_older_one() -> None:
    zone, _, _ = make_zone()
    rng = random.Random(1)
    older = zone.add_override(NAME, DnsOverride("nodata"))
    newer = zone.add_override(NAME, DnsOverride("addresses", addresses=("127.0.9.9",)))
    decision = zone.decide(NAME, rng)
    assert (decision.verdict, decision.addresses) == ("addresses", ("127.0.9.9",))
    zone.remove_override(newer)
    assert zone.decide(NAME, rng).verdict == "nodata"
    zone.remove_override(older)
    assert zone.decide(NAME, rng) is NORMAL
    assert zone.overrides(NAME) == ()


def test_rate_zero_never_fires() -> None:
    zone, _, _ = make_zone()
    zone.add_override(NAME, DnsOverride("drop", rate=0.0))
    rng = random.Random(7)
    assert all(zone.decide(NAME, rng) is NORMAL for _ in range(1000))


def test_rate_half_fires_about_half_the_time_with_a_seeded_rng() -> None:
    zone, _, _ = make_zone()
    zone.add_override(NAME, DnsOverride("servfail", rate=0.5))
    rng = random.Random(42)
    fired = sum(zone.decide(NAME, rng).verdict == "servfail" for _ in range(2000))
    assert 900 <= fired <= 1100
    again = random.Random(42)
    assert fired == sum(zone.decide(NAME, again).verdict == "servfail" for _ in range(2000))


def test_delay_composes_with_older_overrides_and_jitter_is_bounded() -> None:
    zone, _, _ = make_zone()
    zone.add_override(NAME, DnsOverride("nodata"))
    zone.add_override(NAME, DnsOverride("delay", delay=2.0, jitter=0.5))
    rng = random.Random(3)
    decisions = [zone.decide(NAME, rng) for _ in range(200)]
    assert {d.verdict for d in decisions} == {"nodata"}
    delays = [d.delay for d in decisions]
    assert 2.0 <= min(delays) < 2.1 and 2.4 < max(delays) <= 2.5


def test_delay_alone_answers_from_the_zone() -> None:
    zone, _, _ = make_zone()
    zone.add_override(NAME, DnsOverride("delay", delay=1.0))
    decision = zone.decide(NAME, random.Random(0))
    assert (decision.verdict, decision.delay) == ("zone", 1.0)


def test_handles_are_unique_and_overrides_on_other_names_do_not_interfere() -> None:
    zone, _, _ = make_zone()
    first = zone.add_override(NAME, DnsOverride("nodata"))
    second = zone.add_override("other.example.test", DnsOverride("servfail"))
    assert first != second
    assert zone.decide(NAME, random.Random(0)).verdict == "nodata"
    zone.remove_override(first)
    assert zone.decide(NAME, random.Random(0)) is NORMAL
    assert zone.decide("other.example.test", random.Random(0)).verdict == "servfail"


def test_changes_before_any_loop_runs_are_stamped_zero() -> None:
    bus = EventBus()
    events: list[ZoneChanged] = []
    bus.subscribe(ZoneChanged, events.append)
    zone = Zone("example.test", ttl=30, negative_ttl=5, bus=bus)  # default clock: the loop's
    zone.set_addresses(NAME, ("127.0.1.1",))
    assert [e.at for e in events] == [0.0]
