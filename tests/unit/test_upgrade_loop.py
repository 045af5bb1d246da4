"""The upgrade loop's transitions, straight on the pure state machine (no driver, no I/O): what
each answer does to a cluster, the backoff, the deadline, when to wake, continue-as-new carry-over,
and properties over random answer sequences."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import planning
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.results import ClusterOutcome
from shared.domain.upgrade_loop import (
    FOUND_AT_TARGET,
    MAX_START_ATTEMPTS,
    MIN_WAIT,
    HealthAnswer,
    HealthState,
    InFlight,
    ProgressAnswer,
    Queued,
    Settling,
    StartAnswer,
    StartState,
    UpgradeLoop,
    Waiting,
    unknown_starts,
)
from shared.domain.upgrades import ProgressState

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(hours=6)
POLL = timedelta(seconds=60)
SETTLE = timedelta(minutes=10)
JOINED = "joined an upgrade already in progress to 1.31.2 (this run sent no PUT)"


def cluster(name: str, action: str = "upgrade") -> ClusterPlan:
    to = "1.31.2" if action == "upgrade" else None
    return ClusterPlan(name, name, "sub", "rg", "westeurope", "1.30.5", to, action, None if action == "upgrade" else "stopped")  # type: ignore[arg-type]


def environment(*names: str, skipped: tuple[str, ...] = ()) -> EnvironmentPlan:
    clusters = tuple(cluster(n) for n in names) + tuple(cluster(n, "skipped") for n in skipped)
    return EnvironmentPlan("sandbox", "lead", "ready", None, "1.31.2", clusters)


def started(*names: str, deadline: datetime = DEADLINE) -> UpgradeLoop:
    return UpgradeLoop.begin(environment(*names), deadline, NOW)


def outcome(name: str, result: str, reason: str | None = None) -> ClusterOutcome:
    """How a planned upgrade ends; a skipped one shows no ``to`` (nothing was applied)."""
    return ClusterOutcome(name, "1.30.5", None if result == "skipped" else "1.31.2", result, reason)  # type: ignore[arg-type]


def upgrading(name: str, reason: str | None = None) -> StartAnswer:
    return StartAnswer(name, "upgrading", reason, operation_url=None if reason else f"https://arm.test/operations/{name}")


def running(*names: str) -> UpgradeLoop:
    loop = started(*names)
    return loop.apply_start_answers([upgrading(n) for n in names], NOW)


def ids_in(loop: UpgradeLoop) -> Counter[str]:
    """Where every cluster is: each must be in exactly one place."""
    return Counter(
        [
            *(q.id for q in loop.ready),
            *(w.id for w in loop.waiting),
            *(r.id for r in loop.in_flight),
            *(x.id for x in loop.settling),
            *(o.id for o in loop.finished),
        ]
    )


# -- beginning and starting ---------------------------------------------------------------------
def test_a_new_loop_queues_exactly_the_clusters_the_plan_upgrades_in_plan_order() -> None:
    loop = UpgradeLoop.begin(environment("b", "a", skipped=("c",)), DEADLINE, NOW)

    assert loop.ready == (Queued("b"), Queued("a"))
    assert [c.id for c in loop.clusters] == ["b", "a"]
    assert (loop.waiting, loop.in_flight, loop.finished, loop.rounds) == ((), (), (), 0)
    assert not loop.is_done


@pytest.mark.parametrize(
    ("max_parallel", "already_running", "expected"),
    [(5, 0, ["c1", "c2", "c3"]), (2, 0, ["c1", "c2"]), (2, 1, ["c1"]), (2, 2, []), (1, 3, [])],
)
def test_a_batch_takes_the_head_of_the_queue_up_to_the_free_slots(max_parallel: int, already_running: int, expected: list[str]) -> None:
    busy = [f"r{n}" for n in range(already_running)]
    loop = running(*busy)
    loop = UpgradeLoop(
        started(*busy, "c1", "c2", "c3").clusters, DEADLINE, ready=(Queued("c1"), Queued("c2"), Queued("c3")), in_flight=loop.in_flight
    )

    assert [q.id for q in loop.next_batch(max_parallel)] == expected


@pytest.mark.parametrize(
    ("answer", "where", "expected"),
    [
        (upgrading("c1"), "in_flight", InFlight("c1", "1.31.2", "https://arm.test/operations/c1", started_at=NOW)),
        (upgrading("c1", JOINED), "in_flight", InFlight("c1", "1.31.2", None, JOINED, NOW)),
        # already at the target when its turn came: settles, then health checked before it counts
        (
            StartAnswer("c1", "already-current"),
            "settling",
            Settling("c1", "1.31.2", NOW + SETTLE, reason=FOUND_AT_TARGET, result="already-current"),
        ),
        (
            StartAnswer("c1", "skipped", "changed since planning: opted out"),
            "finished",
            outcome("c1", "skipped", "changed since planning: opted out"),
        ),
        (StartAnswer("c1", "failed", "OperationNotAllowed: no"), "finished", outcome("c1", "failed", "OperationNotAllowed: no")),
        (StartAnswer("c1", "retry", "TooManyRequests: slow down"), "waiting", Waiting("c1", NOW + timedelta(seconds=30), 1)),
    ],
    ids=["put", "joined", "already-current", "skipped", "failed", "retry"],
)
def test_each_start_answer_moves_the_cluster_where_it_says(answer: StartAnswer, where: str, expected: Any) -> None:
    loop = started("c1", "c2").apply_start_answers([answer], NOW, SETTLE)

    assert getattr(loop, where) == (expected,)
    assert loop.ready == (Queued("c2"),)
    assert ids_in(loop) == Counter({"c1": 1, "c2": 1})


@pytest.mark.parametrize(
    ("attempt", "retry_after", "waits"),
    [(1, None, 30), (2, None, 60), (3, None, 120), (4, None, 240), (1, 90, 90), (2, 5, 60)],
)
def test_a_transient_refusal_backs_off_exponentially_and_at_least_retry_after(attempt: int, retry_after: float | None, waits: int) -> None:
    loop = UpgradeLoop(started("c1").clusters, DEADLINE, ready=(Queued("c1", attempt - 1),))

    loop = loop.apply_start_answers([StartAnswer("c1", "retry", "Busy", retry_after=retry_after)], NOW)

    assert loop.waiting == (Waiting("c1", NOW + timedelta(seconds=waits), attempt),)


def test_the_last_allowed_refusal_fails_the_cluster_with_the_count() -> None:
    loop = UpgradeLoop(started("c1").clusters, DEADLINE, ready=(Queued("c1", MAX_START_ATTEMPTS - 1),))

    loop = loop.apply_start_answers([StartAnswer("c1", "retry", "Conflict: busy")], NOW)

    assert loop.finished == (outcome("c1", "failed", f"Conflict: busy (gave up after {MAX_START_ATTEMPTS} attempts)"),)
    assert loop.is_done


def test_waiting_clusters_whose_backoff_ended_go_to_the_back_of_the_queue_by_id() -> None:
    loop = UpgradeLoop(
        started("a", "b", "c", "d").clusters,
        DEADLINE,
        ready=(Queued("a"),),
        waiting=(Waiting("d", NOW, 1), Waiting("c", NOW + timedelta(seconds=1), 2), Waiting("b", NOW - timedelta(seconds=5), 3)),
    )

    released = loop.release_waiting(NOW)

    assert released.ready == (Queued("a"), Queued("b", 3), Queued("d", 1))
    assert released.waiting == (Waiting("c", NOW + timedelta(seconds=1), 2),)
    assert loop.release_waiting(NOW - timedelta(minutes=1)) is loop


def test_starts_whose_outcome_is_unknown_are_watched_with_the_reason() -> None:
    loop = started("c1", "c2").apply_start_answers(unknown_starts(["c1", "c2"], "connection reset"), NOW)

    assert loop.in_flight == (
        InFlight("c1", "1.31.2", None, "start outcome unknown: connection reset", NOW),
        InFlight("c2", "1.31.2", None, "start outcome unknown: connection reset", NOW),
    )


def test_an_answer_for_a_cluster_not_waiting_to_start_is_refused() -> None:
    with pytest.raises(ValueError, match="not waiting to start"):
        running("c1").apply_start_answers([upgrading("c1")], NOW)


# -- watching -------------------------------------------------------------------------------------
def test_progress_answers_end_the_upgrades_that_ended_and_succeeded_ones_settle_before_their_health_check() -> None:
    loop = started("a", "b", "c").apply_start_answers([upgrading("a"), upgrading("b", JOINED), upgrading("c")], NOW)
    later = NOW + POLL

    loop = loop.apply_progress(
        [
            ProgressAnswer("a", "failed", "UpgradeFailed: drain"),
            ProgressAnswer("b", "succeeded"),
            ProgressAnswer("c", "inProgress", "TooManyRequests"),
            ProgressAnswer("elsewhere", "succeeded"),  # not one of ours in flight: ignored
        ],
        later,
        SETTLE,
    )

    assert loop.finished == (outcome("a", "failed", "UpgradeFailed: drain"),)
    assert loop.settling == (Settling("b", "1.31.2", later + SETTLE, NOW, JOINED),)
    assert [r.id for r in loop.in_flight] == ["c"]
    assert loop.due_for_health(later + SETTLE - timedelta(seconds=1)) == ()
    assert [s.id for s in loop.due_for_health(later + SETTLE)] == ["b"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (HealthAnswer("b", "healthy"), outcome("b", "upgraded", JOINED)),
        (
            HealthAnswer("b", "unhealthy", "HealthCheck: node pool user1 runs 1.30.5"),
            outcome("b", "failed", "HealthCheck: node pool user1 runs 1.30.5"),
        ),
    ],
)
def test_a_health_verdict_finishes_the_settled_cluster(answer: HealthAnswer, expected: ClusterOutcome) -> None:
    loop = UpgradeLoop(started("b").clusters, DEADLINE, settling=(Settling("b", "1.31.2", NOW, NOW, JOINED),))

    checked = loop.apply_health([answer], NOW, POLL)

    assert checked.finished == (expected,) and checked.settling == () and checked.is_done


def test_a_health_check_that_could_not_be_read_is_done_again() -> None:
    loop = UpgradeLoop(started("b").clusters, DEADLINE, settling=(Settling("b", "1.31.2", NOW, NOW),))

    again = loop.apply_health([HealthAnswer("b", "unknown", "TooManyRequests")], NOW, POLL)
    assert again.settling == (Settling("b", "1.31.2", NOW + POLL, NOW),)  # a poll later, not at once
    assert again.next_wake(NOW, POLL) == NOW + POLL
    assert loop.health_unknown(["b"], "boom").finished == (
        outcome("b", "failed", "HealthCheck: not checked: the health check failed after retries: boom"),
    )


def test_a_stop_skips_what_has_not_started_keeps_checking_what_runs_and_is_kept() -> None:
    loop = started("a", "b", "c").apply_start_answers([upgrading("a"), StartAnswer("b", "retry", "Busy")], NOW)

    stopped = loop.stop("stopped by alice: incident")

    assert stopped.stopped == "stopped by alice: incident"
    assert stopped.in_flight == loop.in_flight and stopped.ready == () and stopped.waiting == ()
    assert {o.id: (o.result, o.reason) for o in stopped.finished} == {
        "b": ("skipped", "not started: stopped by alice: incident"),
        "c": ("skipped", "not started: stopped by alice: incident"),
    }
    assert stopped.stop("stopped by bob") is stopped  # the first stop is the one kept
    assert UpgradeLoop.from_dict(json.loads(json.dumps(stopped.to_dict())), environment("a", "b", "c")).stopped == stopped.stopped


def test_when_the_progress_check_fails_running_upgrades_are_unknown_and_nothing_else_starts() -> None:
    loop = UpgradeLoop(
        started("a", "b", "c", "d").clusters,
        DEADLINE,
        ready=(Queued("d"),),
        waiting=(Waiting("c", NOW, 1),),
        in_flight=(InFlight("a", "1.31.2", "op"),),
        finished=(outcome("b", "upgraded"),),
    )

    stopped = loop.progress_unknown("store unreachable")

    assert stopped.is_done
    assert stopped.finished == (
        outcome("b", "upgraded"),
        outcome(
            "a",
            "failed",
            "ProgressUnknown: the progress check failed after retries: store unreachable; "
            "the upgrade may still be running — re-run to resume monitoring",
        ),
        outcome("c", "failed", "NotStarted: the progress check failed after retries: store unreachable; re-run to upgrade it"),
        outcome("d", "failed", "NotStarted: the progress check failed after retries: store unreachable; re-run to upgrade it"),
    )


# -- time -----------------------------------------------------------------------------------------
def test_at_the_deadline_a_settled_upgrade_not_yet_checked_says_so() -> None:
    loop = UpgradeLoop(started("s").clusters, DEADLINE, settling=(Settling("s", "1.31.2", DEADLINE + SETTLE, NOW),))

    assert loop.time_out(360).finished == (outcome("s", "failed", "HealthCheck: not checked before UPGRADE_TIMEOUT_MINUTES=360"),)


def test_at_the_deadline_everything_unfinished_fails_and_the_finished_stay() -> None:
    loop = UpgradeLoop(
        started("a", "b", "c", "d").clusters,
        DEADLINE,
        ready=(Queued("d"),),
        waiting=(Waiting("c", NOW, 1),),
        in_flight=(InFlight("a", "1.31.2", "op"),),
        finished=(outcome("b", "skipped", "opted out"),),
    )

    assert not loop.past_deadline(DEADLINE - timedelta(seconds=1)) and loop.past_deadline(DEADLINE)
    timed_out = loop.time_out(360)

    timeout = "Timeout: not finished within UPGRADE_TIMEOUT_MINUTES=360"
    assert timed_out.finished == (
        outcome("b", "skipped", "opted out"),
        outcome("a", "failed", timeout),
        outcome("c", "failed", timeout),
        outcome("d", "failed", timeout),
    )
    assert timed_out.is_done


@pytest.mark.parametrize(
    ("state", "now", "expected"),
    [
        ("running", NOW, NOW + POLL),
        ("running and waiting", NOW, NOW + POLL),
        ("only waiting", NOW, NOW + timedelta(seconds=240)),
        ("only waiting, overdue", NOW + timedelta(minutes=10), NOW + timedelta(minutes=10) + MIN_WAIT),
        ("running, deadline in 10 s", DEADLINE - timedelta(seconds=10), DEADLINE),
        ("running, deadline in 0.5 s", DEADLINE - timedelta(seconds=0.5), DEADLINE - timedelta(seconds=0.5) + MIN_WAIT),
        ("running and settling", NOW, NOW + timedelta(seconds=20)),
        ("only settling", NOW, NOW + timedelta(seconds=20)),
    ],
)
def test_the_loop_wakes_at_the_poll_interval_or_the_first_backoff_end_never_past_the_deadline(
    state: str, now: datetime, expected: datetime
) -> None:
    waiting = (Waiting("w1", NOW + timedelta(seconds=300), 3), Waiting("w2", NOW + timedelta(seconds=240), 2))
    in_flight = () if state.startswith("only") else (InFlight("r", "1.31.2"),)
    settling = (Settling("s", "1.31.2", NOW + timedelta(seconds=20)),) if "settling" in state else ()
    loop = UpgradeLoop(
        started("r", "w1", "w2", "s").clusters,
        DEADLINE,
        waiting=waiting if "waiting" in state else (),
        in_flight=in_flight,
        settling=settling,
    )

    assert loop.next_wake(now, POLL) == expected


def test_an_execution_continues_as_new_after_its_rounds() -> None:
    loop = running("c1")

    assert not loop.continue_as_new_due(2)
    assert not loop.polled().continue_as_new_due(2)
    assert loop.polled().polled().continue_as_new_due(2)


# -- carried across continue-as-new ---------------------------------------------------------------
def test_the_loop_survives_continue_as_new_except_its_round_count() -> None:
    plan = environment("a", "b", "c", "d", "e")
    loop = UpgradeLoop(
        plan.to_upgrade,
        DEADLINE,
        ready=(Queued("e", 2),),
        waiting=(Waiting("c", NOW + timedelta(seconds=30, microseconds=5), 1),),
        in_flight=(InFlight("a", "1.31.2", "https://arm.test/op/a"), InFlight("d", "1.31.2", None, JOINED)),
        finished=(outcome("b", "failed", "UpgradeFailed: drain"),),
        rounds=7,
    )

    carried = json.loads(json.dumps(loop.to_dict()))

    assert UpgradeLoop.from_dict(carried, plan) == replace(loop, rounds=0)


def test_a_loop_carried_in_the_earlier_json_shape_still_loads() -> None:
    plan = environment("a", "b", "c", "d")
    earlier = {
        "ready": ["d"],
        "waiting": {"c": (NOW + timedelta(seconds=60)).isoformat()},
        "attempts": {"c": 2, "a": 1},
        "inFlight": {"a": {"id": "a", "to": "1.31.2", "operationUrl": "https://arm.test/op/a", "reason": None}},
        "finals": {"b": {"id": "b", "from": "1.30.5", "to": "1.31.2", "result": "upgraded", "reason": None}},
        "deadline": DEADLINE.isoformat(),
    }

    loop = UpgradeLoop.from_dict(earlier, plan)

    assert loop == UpgradeLoop(
        plan.to_upgrade,
        DEADLINE,
        ready=(Queued("d"),),
        waiting=(Waiting("c", NOW + timedelta(seconds=60), 2),),
        in_flight=(InFlight("a", "1.31.2", "https://arm.test/op/a"),),
        finished=(outcome("b", "upgraded"),),
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"id": "a", "state": "upgradng"}, "state must be one of"),
        ({"id": "a"}, "state"),
    ],
)
def test_a_start_answer_with_an_unknown_state_is_refused_where_it_enters(data: dict[str, Any], problem: str) -> None:
    with pytest.raises((ValueError, KeyError), match=problem):
        StartAnswer.from_dict(data)


def test_answers_cross_the_boundary_unchanged() -> None:
    start = StartAnswer("a", "retry", "TooManyRequests: x", None, 12.5)
    progress = ProgressAnswer("a", "failed", "UpgradeFailed: y")

    assert StartAnswer.from_dict(json.loads(json.dumps(start.to_dict()))) == start
    assert ProgressAnswer.from_dict(json.loads(json.dumps(progress.to_dict()))) == progress


# -- properties over random answer sequences ------------------------------------------------------
START_STATES: list[StartState] = ["upgrading", "upgrading", "upgrading", "already-current", "skipped", "retry", "retry", "failed"]
START_ANSWERS = st.sampled_from(START_STATES)
PROGRESS_STATES: list[ProgressState] = ["inProgress", "inProgress", "succeeded", "failed"]
PROGRESS_ANSWERS = st.sampled_from(PROGRESS_STATES)
HEALTH_STATES: list[HealthState] = ["healthy", "healthy", "unhealthy", "unknown"]
HEALTH_ANSWERS = st.sampled_from(HEALTH_STATES)
SETTLES = st.sampled_from([timedelta(0), timedelta(minutes=1), timedelta(minutes=10)])


def _simulate(data: st.DataObject, names: list[str], max_parallel: int, poll: timedelta, timeout_minutes: int) -> UpgradeLoop:
    """Drive the loop as the orchestrator does, with answers, continue-as-new points and a stop
    drawn at random; check the invariants after every step."""
    plan = environment(*names)
    deadline = NOW + timedelta(minutes=timeout_minutes)
    loop, now = UpgradeLoop.begin(plan, deadline, NOW), NOW
    while not loop.is_done:
        loop = loop.release_waiting(now)
        batch = loop.next_batch(max_parallel)
        answers = [StartAnswer(q.id, data.draw(START_ANSWERS), "why", retry_after=data.draw(st.none() | st.floats(0, 900))) for q in batch]
        loop = loop.apply_start_answers(answers, now)
        assert len(loop.in_flight) <= max_parallel
        assert ids_in(loop) == Counter(names)
        if loop.is_done:
            break
        if loop.past_deadline(now):
            before = {o.id for o in loop.finished}
            unfinished = set(names) - before
            settled = {x.id for x in loop.settling}
            loop = loop.time_out(timeout_minutes)
            timed_out = [o for o in loop.finished if o.id not in before]
            assert {o.id for o in timed_out} == unfinished
            for o in timed_out:
                assert o.result == "failed" and o.reason is not None
                assert o.reason.startswith("HealthCheck: not checked before" if o.id in settled else "Timeout")
            break
        if data.draw(st.booleans()):  # continue as new: everything but the round count carries over
            again = UpgradeLoop.from_dict(json.loads(json.dumps(loop.to_dict())), plan)
            assert again == replace(loop, rounds=0)
            loop = again
        wake = loop.next_wake(now, poll)
        assert now + MIN_WAIT <= wake <= max(loop.deadline, now + MIN_WAIT)
        now = wake
        loop = loop.polled()
        progress = [ProgressAnswer(r.id, data.draw(PROGRESS_ANSWERS), "why") for r in loop.in_flight]
        loop = loop.apply_progress(data.draw(st.permutations(progress)), now, data.draw(SETTLES))
        assert ids_in(loop) == Counter(names)
        due = loop.due_for_health(now)
        loop = loop.apply_health([HealthAnswer(d.id, data.draw(HEALTH_ANSWERS), "why") for d in due], now, poll)
        assert ids_in(loop) == Counter(names)
        if data.draw(st.integers(0, 9)) == 0:  # a person stops the run
            loop = loop.stop("stopped by someone")
            assert not loop.ready and not loop.waiting
    return loop


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    size=st.integers(1, 8),
    max_parallel=st.integers(1, 4),
    poll_seconds=st.integers(1, 600),
    timeout_minutes=st.integers(1, 90),
)
def test_random_answers_never_exceed_max_parallel_and_end_every_cluster_exactly_once(
    data: st.DataObject, size: int, max_parallel: int, poll_seconds: int, timeout_minutes: int
) -> None:
    names = [f"c{n}" for n in range(size)]

    loop = _simulate(data, names, max_parallel, timedelta(seconds=poll_seconds), timeout_minutes)

    assert loop.is_done
    assert Counter(o.id for o in loop.finished) == Counter(names)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), size=st.integers(1, 8), max_parallel=st.integers(1, 4), progress_at=st.integers(0, 6))
def test_a_failed_progress_check_ends_every_unfinished_cluster_as_failed_and_keeps_the_rest(
    data: st.DataObject, size: int, max_parallel: int, progress_at: int
) -> None:
    names = [f"c{n}" for n in range(size)]
    loop, now = UpgradeLoop.begin(environment(*names), DEADLINE, NOW), NOW
    for _ in range(progress_at):
        loop = loop.release_waiting(now)
        batch = loop.next_batch(max_parallel)
        loop = loop.apply_start_answers([StartAnswer(q.id, data.draw(START_ANSWERS), "why") for q in batch], now)
        now += POLL
        loop = loop.apply_progress([ProgressAnswer(r.id, data.draw(PROGRESS_ANSWERS)) for r in loop.in_flight], now, SETTLE)
    finished_before = loop.finished
    running_before = {r.id for r in loop.in_flight}
    settling_before = {x.id for x in loop.settling}

    stopped = loop.progress_unknown("boom")

    assert stopped.is_done and Counter(o.id for o in stopped.finished) == Counter(names)
    assert stopped.finished[: len(finished_before)] == finished_before
    for ended in stopped.finished[len(finished_before) :]:
        assert ended.result == "failed"
        assert ended.reason is not None
        expected = "ProgressUnknown" if ended.id in running_before else "HealthCheck" if ended.id in settling_before else "NotStarted"
        assert ended.reason.startswith(expected)


def test_stop_starting_skips_what_has_not_started_and_keeps_watching_what_runs() -> None:
    loop = started("c1", "c2", "c3").apply_start_answers([upgrading("c1"), StartAnswer("c2", "retry", "TooManyRequests: slow down")], NOW)

    stopped = loop.stop_starting("not started: frozen")

    assert stopped.in_flight == loop.in_flight and stopped.ready == () and stopped.waiting == ()
    assert {o.id: (o.result, o.to_version, o.reason) for o in stopped.finished} == {
        "c2": ("skipped", None, "not started: frozen"),
        "c3": ("skipped", None, "not started: frozen"),
    }
    assert ids_in(stopped) == Counter({"c1": 1, "c2": 1, "c3": 1})


# -- clusters already at a target not yet recorded ----------------------------------------------------
def with_current(*names: str, record: str | None) -> EnvironmentPlan:
    """A plan whose clusters ``names`` already run 1.31.2 (planned already-current), its own record ``record``."""
    current = tuple(ClusterPlan(n, n, "sub", "rg", "westeurope", "1.31.2", "1.31.2", "already-current") for n in names)
    return EnvironmentPlan("sandbox", "lead", "ready", None, "1.31.2", (cluster("u"), *current), current_record=record)


@pytest.mark.parametrize("record", [None, "1.30.5"])
def test_clusters_already_at_a_version_not_yet_recorded_are_health_checked_before_they_count(record: str | None) -> None:
    # e.g. a re-run after a failed health check: the clusters upgraded then are "already current" now
    loop = UpgradeLoop.begin(with_current("a", "b", record=record), DEADLINE, NOW)

    assert loop.ready == (Queued("u"),)
    assert loop.settling == (Settling("a", "1.31.2", NOW, result="already-current"), Settling("b", "1.31.2", NOW, result="already-current"))
    checked = loop.apply_health([HealthAnswer("a", "healthy"), HealthAnswer("b", "unhealthy", "HealthCheck: alert 'x'")], NOW, POLL)
    assert checked.finished == (
        ClusterOutcome("a", "1.31.2", "1.31.2", "already-current", None),
        ClusterOutcome("b", "1.31.2", "1.31.2", "failed", "HealthCheck: alert 'x'"),
    )


def test_a_quiet_week_whose_clusters_run_the_recorded_version_checks_nothing() -> None:
    loop = UpgradeLoop.begin(with_current("a", "b", record="1.31.2"), DEADLINE, NOW)

    assert loop.settling == () and [c.id for c in loop.clusters] == ["u"]


def test_clusters_on_a_version_below_the_record_are_not_checked_again() -> None:
    # A lead on mixed minors: a cluster at its own target 1.30.9, below the record 1.31.0, adds
    # nothing this run could record; 1.31.2 is above it and is checked.
    low = ClusterPlan("low", "low", "sub", "rg", "westeurope", "1.30.9", "1.30.9", "already-current")
    high = ClusterPlan("high", "high", "sub", "rg", "westeurope", "1.31.2", "1.31.2", "already-current")
    plan = EnvironmentPlan("sandbox", "lead", "ready", None, "1.31.2", (low, high), current_record="1.31.0")

    assert [c.id for c in plan.to_recheck] == ["high"]


def test_a_run_an_earlier_release_planned_keeps_that_releases_loop_after_a_deploy() -> None:
    # Its stored plan has no protocol: the replay of its history must ask for no health check of
    # an already-current cluster, at the start or later, as the release that wrote it did not.
    stored = with_current("a", record=None).to_dict()
    del stored["protocol"], stored["currentRecord"]
    plan = EnvironmentPlan.from_dict(json.loads(json.dumps(stored)))

    loop = UpgradeLoop.begin(plan, DEADLINE, NOW)
    assert plan.to_recheck == () and loop.settling == ()
    answered = loop.apply_start_answers([StartAnswer("u", "already-current")], NOW, SETTLE)
    assert answered.settling == () and answered.finished == (outcome("u", "already-current", None),)
    # and it stays that release's plan across continue-as-new
    assert plan.protocol == 1 and EnvironmentPlan.from_dict(plan.to_dict()).protocol == 1
    assert UpgradeLoop.from_dict(json.loads(json.dumps(answered.to_dict())), plan).protocol == 1


@pytest.mark.parametrize("value", [0, 3, "2", True, None, 1.5])
def test_a_stored_plan_with_a_protocol_this_release_does_not_know_is_refused(value: Any) -> None:
    stored = {**with_current("a", record=None).to_dict(), "protocol": value}
    with pytest.raises(ValueError, match="protocol"):
        EnvironmentPlan.from_dict(stored)


def test_a_plan_this_release_wrote_checks_already_current_clusters_even_with_no_record() -> None:
    plan = EnvironmentPlan.from_dict(json.loads(json.dumps(with_current("a", record=None).to_dict())))
    assert plan.protocol == planning.PROTOCOL == 2 and [c.id for c in plan.to_recheck] == ["a"]


def test_the_clusters_to_recheck_survive_continue_as_new() -> None:
    plan = with_current("a", record=None)
    loop = UpgradeLoop.begin(plan, DEADLINE, NOW)

    assert UpgradeLoop.from_dict(json.loads(json.dumps(loop.to_dict())), plan) == loop


def test_a_check_held_back_by_the_rounds_budget_waits_a_whole_poll_interval() -> None:
    # Waking a second later would spend the next round's reads before the buckets refilled.
    loop = UpgradeLoop(started("s").clusters, DEADLINE, settling=(Settling("s", "1.31.2", NOW - timedelta(seconds=5)),))

    assert loop.next_wake(NOW, POLL) == NOW + POLL


def test_a_run_planned_under_protocol_1_keeps_its_wake_for_a_held_back_check() -> None:
    held = Settling("s", "1.31.2", NOW - timedelta(seconds=5))
    loop = UpgradeLoop(started("s").clusters, DEADLINE, settling=(held,), protocol=1)

    assert loop.next_wake(NOW, POLL) == NOW + MIN_WAIT
    assert replace(loop, protocol=2).next_wake(NOW, POLL) == NOW + POLL
