"""Property: over many random schedules the race happens without safeguards, never with them."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.world.automation import RaceSchedule, Stall, simulate

_delay = st.floats(min_value=0.0, max_value=30.0, allow_nan=False)
_delays = st.lists(_delay, min_size=1, max_size=6).map(tuple)
_small = st.lists(st.floats(min_value=0.0, max_value=2.0, allow_nan=False), max_size=4).map(tuple)

schedules = st.builds(
    RaceSchedule,
    plan_intervals=st.lists(
        st.floats(min_value=0.0, max_value=3.0, allow_nan=False), min_size=1, max_size=30
    ).map(tuple),
    apply_delays=st.tuples(_delays, _delays, _delays),
    cleanup_delays=st.tuples(_small, _small, _small),
    stalls=st.lists(
        st.builds(
            Stall,
            enactor=st.integers(0, 2),
            at=st.floats(0.0, 30.0, allow_nan=False),
            duration=st.floats(0.0, 60.0, allow_nan=False),
        ),
        max_size=2,
    ).map(tuple),
    cleanup_older_than=st.integers(1, 10),
    retry_after=st.floats(0.1, 3.0, allow_nan=False),
)


def test_the_race_is_found_without_safeguards_and_never_with_them() -> None:
    raced: list[RaceSchedule] = []

    @settings(
        max_examples=1000,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(schedules)
    def check(schedule: RaceSchedule) -> None:
        guarded = simulate(schedule, safeguards=True)
        assert not guarded.emptied and not guarded.inconsistent
        assert guarded.record  # never emptied: there is always an address
        generations = [g for _, _, g in guarded.applied]
        assert generations == sorted(generations)  # the record never goes back in time
        unguarded = simulate(schedule, safeguards=False)
        if unguarded.emptied:
            raced.append(schedule)
            (first, *_) = unguarded.emptyings
            assert first.cleanup_generation - first.generation > schedule.cleanup_older_than
            assert unguarded.record == () and unguarded.inconsistent

    check()
    print(f"race found in {len(raced)} of 1000 schedules without safeguards")
    assert raced
