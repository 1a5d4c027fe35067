"""The pure Planner/Enactor state machine and the simulation that drives it."""

from __future__ import annotations

from harness.world.automation import RaceSchedule, Stall, simulate
from harness.world.automation_state import AutomationState

ADDRS = ("127.0.10.1", "127.0.10.2")
ENACTORS = ("a", "b", "c")


def fresh(safeguards: bool = False, older: int = 3) -> AutomationState:
    return AutomationState("name", ENACTORS, cleanup_older_than=older, safeguards=safeguards)


def issue(state: AutomationState, count: int, at: float = 0.0) -> None:
    for _ in range(count):
        state.issue_plan(ADDRS, (1.0, 1.0), at)


def apply(state: AutomationState, enactor: str, at: float) -> None:
    assert state.begin_apply(enactor, at) is not None
    assert state.finish_apply(enactor, at) is not None


def test_the_freshness_check_happens_once_before_the_wait() -> None:
    state = fresh()
    issue(state, 1)
    plan = state.begin_apply("a", 0.0)  # A picks up gen 1 and passes its one check
    assert plan is not None and plan.generation == 1
    issue(state, 5, at=1.0)
    apply(state, "b", 2.0)  # B applies gen 6
    assert state.finish_apply("a", 3.0) == plan  # A, never re-checking, overwrites with gen 1
    assert state.record_generation == 1 and state.record_applied_by == "a"
    stale = [e for e in state.notable if e.kind == "plan_applied"]
    assert stale[0].generation == 1 and "over gen 6" in stale[0].detail


def test_cleanup_deleting_the_active_plan_empties_the_record_and_locks_the_enactors() -> None:
    state = fresh(older=3)
    issue(state, 1)
    state.begin_apply("a", 0.0)
    issue(state, 5)
    apply(state, "b", 1.0)  # gen 6
    state.finish_apply("a", 1.0)  # stale gen 1 is now active
    assert state.cleanup("b", 1.0) == (1, 2)  # older than 6 - 3 = 3
    assert state.record is not None and not state.record and state.inconsistent
    (emptying,) = state.emptyings
    assert (emptying.generation, emptying.applied_by, emptying.deleted_by) == (1, "a", "b")
    assert emptying.cleanup_generation == 6
    issue(state, 1)
    assert state.begin_apply("c", 2.0) is None  # every Enactor refuses
    assert state.refusals == 1 and state.record is not None and not state.record
    assert state.manual_fix(3.0) is True
    assert state.record == ADDRS and state.record_generation == 7 and not state.inconsistent
    issue(state, 1)
    apply(state, "c", 4.0)
    assert state.record_generation == 8


def test_safeguards_refuse_stale_plans_and_keep_the_active_plan() -> None:
    state = fresh(safeguards=True, older=3)
    issue(state, 1)
    state.begin_apply("a", 0.0)
    issue(state, 5)
    apply(state, "b", 1.0)
    assert state.finish_apply("a", 1.0) is None  # re-checked at apply time
    assert [e.kind for e in state.notable] == ["plan_refused_stale"]
    state.cleanup("b", 1.0)
    assert state.record == ADDRS and not state.inconsistent and state.record_generation == 6


def test_cleanup_with_safeguards_never_deletes_the_active_plan() -> None:
    state = fresh(safeguards=True, older=1)
    issue(state, 10)
    apply(state, "a", 0.0)  # gen 10 applied; then force the record back to an old plan
    state.record_generation = 2
    assert 2 not in state.cleanup("a", 1.0) and 2 in state.plans
    assert not state.emptyings


def test_stall_applies_once_from_its_moment_and_clear_drops_the_held_plan() -> None:
    state = fresh()
    state.stall("a", at=5.0, duration=20.0)
    assert state.take_stall("a", 4.0) == 0.0
    assert state.take_stall("a", 5.0) == 20.0
    assert state.take_stall("a", 6.0) == 0.0
    issue(state, 1)
    state.begin_apply("a", 6.0)
    state.take_stall("a", 6.0)
    state.clear_stall(7.0)
    assert state.finish_apply("a", 30.0) is None
    assert [e.kind for e in state.notable] == ["stall", "stall_cleared"]


SCHEDULE = RaceSchedule(
    plan_intervals=(1.0,) * 40,
    apply_delays=((0.05, 0.2, 0.02), (0.07, 0.03), (0.04, 0.3)),
    stalls=(Stall(enactor=0, at=5.0, duration=20.0),),
)


def test_a_stalled_enactor_races_like_enactor_a() -> None:
    result = simulate(SCHEDULE, safeguards=False)
    assert result.emptied and result.record == () and result.inconsistent
    (emptying,) = result.emptyings
    assert emptying.applied_by == "enactor-1" and emptying.deleted_by != "enactor-1"
    assert emptying.cleanup_generation - emptying.generation > SCHEDULE.cleanup_older_than
    assert simulate(SCHEDULE, safeguards=False) == result  # deterministic


def test_same_schedule_with_safeguards_keeps_the_record() -> None:
    result = simulate(SCHEDULE, safeguards=True)
    assert not result.emptied and result.record and not result.inconsistent
    assert result.record_generation == result.latest_generation == 41
    assert any(e.kind == "plan_refused_stale" for e in result.notable)


def test_without_a_stall_normal_delays_never_race() -> None:
    calm = RaceSchedule(plan_intervals=(1.0,) * 100, apply_delays=((0.05, 0.5), (0.1,), (0.02,)))
    result = simulate(calm, safeguards=False)
    assert not result.emptied and result.record_generation == 101
    assert len(result.applied) == 3 * 101
