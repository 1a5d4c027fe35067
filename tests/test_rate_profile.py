"""Ramps and bursts: the arrival shapes that real incidents need (issue: Brooker 2015 is about
synchronized clients; a recovery is a ramp)."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest
from pydantic import ValidationError

from harness.client.rate_profile import RateProfile
from harness.client.workload import arrivals
from harness.scenario.model import ClientsSpec


def test_mass_is_the_integral_of_the_rate() -> None:
    profile = RateProfile([(0.0, 10.0), (10.0, 30.0), (20.0, 0.0)])
    assert profile.mass(10.0) == pytest.approx(200.0)  # (10 + 30) / 2 · 10
    assert profile.mass(20.0) == pytest.approx(350.0)  # + (30 + 0) / 2 · 10
    assert profile.mass(100.0) == pytest.approx(350.0)  # the rate stays 0 after the last point
    assert profile.rate(15.0) == pytest.approx(15.0)
    assert profile.peak == 30.0


@pytest.mark.parametrize("t", [0.5, 3.0, 9.99, 10.0, 12.5, 19.0])
def test_time_of_inverts_mass(t: float) -> None:
    profile = RateProfile([(0.0, 10.0), (10.0, 30.0), (20.0, 5.0)])
    assert profile.time_of(profile.mass(t)) == pytest.approx(t, abs=1e-9)


def test_a_rate_that_falls_to_zero_never_reaches_more_mass() -> None:
    profile = RateProfile([(0.0, 10.0), (10.0, 0.0)])
    assert profile.time_of(51.0) is None
    assert profile.time_of(49.0) == pytest.approx(10.0 - math.sqrt(2.0 * 1.0 / 1.0), abs=1e-9)


def test_a_zero_rate_stretch_holds_no_arrivals() -> None:
    profile = RateProfile([(0.0, 0.0), (5.0, 0.0), (5.001, 10.0)])
    first = profile.time_of(1.0)
    assert first is not None and first > 5.0


def test_constant_ramp_arrivals_follow_the_integral_exactly() -> None:
    spec = ClientsSpec(arrival="constant", ramp=[{"at": 0, "rate": 10}, {"at": 10, "rate": 30}])
    times = [a.intended for a in arrivals(spec, 20.0, seed=1)]
    # 200 arrivals in the ramp's first 10 s, then 30/s for the next 10 s
    assert sum(t < 10.0 for t in times) == 199  # the 200th falls exactly at 10 s
    assert len(times) == 200 + 300 - 1
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] > gaps[150] > gaps[-1] == pytest.approx(1 / 30)


def test_poisson_ramp_has_the_expected_counts_per_phase() -> None:
    spec = ClientsSpec(arrival="poisson", ramp=[{"at": 0, "rate": 50}, {"at": 50, "rate": 250}])
    times = [a.intended for a in arrivals(spec, 100.0, seed=4)]
    early = sum(t < 50.0 for t in times)
    late = len(times) - early
    assert early == pytest.approx(7500, rel=0.04)  # Λ(50) = (50 + 250)/2 · 50
    assert late == pytest.approx(12500, rel=0.04)  # 250/s for 50 s
    assert times == sorted(times)
    assert times == [a.intended for a in arrivals(spec, 100.0, seed=4)]


def test_bursts_send_their_size_at_one_instant_and_repeat() -> None:
    spec = ClientsSpec(rate=0, bursts=[{"at": "2s", "size": 50, "every": "10s", "count": 3}])
    by_time = Counter(a.intended for a in arrivals(spec, 60.0, seed=1))
    assert by_time == {2.0: 50, 12.0: 50, 22.0: 50}


def test_bursts_beyond_the_duration_are_not_sent() -> None:
    spec = ClientsSpec(rate=0, bursts=[{"at": 1, "size": 5, "every": 2, "count": 100}])
    assert len(list(arrivals(spec, 6.0, seed=1))) == 15  # bursts at 1, 3 and 5 s


def test_bursts_leave_the_rest_of_the_traffic_unchanged() -> None:
    plain = ClientsSpec(rate=20, arrival="poisson")
    bursty = ClientsSpec(rate=20, arrival="poisson", bursts=[{"at": 3, "size": 40}])
    base = list(arrivals(plain, 10.0, seed=9))
    merged = list(arrivals(bursty, 10.0, seed=9))
    assert len(merged) == len(base) + 40
    assert [a for a in merged if a.intended != 3.0] == base
    assert [a.intended for a in merged] == sorted(a.intended for a in merged)


@pytest.mark.parametrize(
    ("clients", "message"),
    [
        ({"ramp": [{"at": 1, "rate": 5}]}, "first point must be at 0s"),
        ({"ramp": [{"at": 0, "rate": 5}, {"at": 0, "rate": 6}]}, "must increase"),
        ({"bursts": [{"size": 5, "count": 2}]}, "needs `every`"),
        ({"bursts": [{"size": 0}]}, "greater than or equal to 1"),
    ],
)
def test_bad_shapes_are_refused(clients: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ClientsSpec.model_validate(clients)


def test_peak_rate_reads_the_ramp() -> None:
    assert ClientsSpec(rate=7).peak_rate == 7
    assert ClientsSpec(ramp=[{"at": 0, "rate": 5}, {"at": 3, "rate": 80}]).peak_rate == 80
