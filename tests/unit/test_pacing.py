"""Pacing the upgrade loop under ARM's and AKS's throttles: the per-round budget, how the loop spends
it (starts and looks per subscription, every running upgrade looked at in turn), and that spending
it round after round never empties a bucket of the emulator's throttle."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ops.emulator import throttle as throttle_mod
from shared.domain import pacing
from shared.domain.pacing import RoundBudget
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.upgrade_loop import InFlight, Queued, Settling, StartAnswer, UpgradeLoop

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(hours=6)


def plan(name: str, subscription: str) -> ClusterPlan:
    return ClusterPlan(name, name, subscription, "rg", "westeurope", "1.30.5", "1.31.2", "upgrade")


def loop_of(*clusters: tuple[str, str]) -> UpgradeLoop:
    env = EnvironmentPlan("sandbox", "lead", "ready", None, "1.31.2", tuple(plan(n, s) for n, s in clusters))
    return UpgradeLoop.begin(env, DEADLINE, NOW)


def running_in(subscription: str, count: int, prefix: str = "c") -> list[tuple[str, str]]:
    return [(f"{prefix}{i:03d}", subscription) for i in range(count)]


# -- the budget -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "budget"),
    [
        (60, RoundBudget(starts=125, looks=120, looking_reads=125)),  # the default poll interval: above MAX_PARALLEL_UPGRADES' 100
        (10, RoundBudget(starts=100, looks=20, looking_reads=125)),
        (1, RoundBudget(starts=10, looks=2, looking_reads=12)),
        (3600, RoundBudget(starts=125, looks=125, looking_reads=125)),  # reads are split in half; each half within its bucket
    ],
)
def test_a_rounds_budget_per_subscription_follows_the_poll_interval(seconds: int, budget: RoundBudget) -> None:
    assert pacing.round_budget(timedelta(seconds=seconds)) == budget


def test_the_apps_figures_are_the_throttles_the_emulator_enforces() -> None:
    pairs = [
        (pacing.ARM_READS, throttle_mod.ARM_READS),
        (pacing.ARM_WRITES, throttle_mod.ARM_WRITES),
        (pacing.AKS_OPERATION_STATUS, throttle_mod.AKS_OPERATION_STATUS),
    ]
    for ours, azure in pairs:
        assert (ours.burst, ours.per_second) == (azure.burst, azure.per_second)


@settings(max_examples=60, deadline=None)
@given(seconds=st.integers(1, 600), running=st.integers(0, 150), queued=st.integers(0, 150))
def test_spending_a_rounds_budget_every_round_never_meets_a_429(seconds: int, running: int, queued: int) -> None:
    """One subscription, rounds ``seconds`` apart, as the emulator's buckets count: each round looks
    at up to its budget of running upgrades (an operation-status GET each), spends the rest of its
    looking reads on health checks (a cluster GET and an alert list each, every cluster its own),
    and starts up to its budget (a GET and a PUT each, every cluster its own), at one instant."""
    clock = [0.0]
    throttle = throttle_mod.Throttle(lambda: clock[0])
    budget = pacing.round_budget(timedelta(seconds=seconds))
    sub = "/subscriptions/s1"
    cluster_n = 0
    for _round in range(12):
        for i in range(min(running, budget.looks)):
            assert throttle.admit("GET", f"{sub}/providers/Microsoft.ContainerService/locations/weu/operations/op{i}", "me") is None
        for _ in range((budget.looking_reads - min(running, budget.looks)) // 2):
            path = f"{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/checked{cluster_n}"
            cluster_n += 1
            assert throttle.admit("GET", path, "me") is None
            assert throttle.admit("GET", f"{sub}/providers/Microsoft.AlertsManagement/alerts", "me") is None
        for _ in range(min(queued, budget.starts)):
            path = f"{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks{cluster_n}"
            cluster_n += 1
            assert throttle.admit("GET", path, "me") is None
            assert throttle.admit("PUT", path, "me") is None
        clock[0] += seconds
    assert throttle.total == 0


# -- starting ---------------------------------------------------------------------------------------
def test_with_a_poll_interval_a_batch_starts_no_more_per_subscription_than_the_budget() -> None:
    loop = loop_of(*running_in("sub-a", 15, "a"), *running_in("sub-b", 3, "b"))

    batch = loop.next_batch(100, timedelta(seconds=1))  # 10 starts per subscription and round

    ids = [q.id for q in batch]
    assert ids == [f"a{i:03d}" for i in range(10)] + ["b000", "b001", "b002"]  # sub-a over budget waits; sub-b goes


def test_a_paced_batch_never_takes_more_than_the_free_slots() -> None:
    loop = loop_of(*running_in("sub-a", 5, "a"), *running_in("sub-b", 5, "b"))
    assert [q.id for q in loop.next_batch(7, timedelta(seconds=1))] == [*(f"a{i:03d}" for i in range(5)), "b000", "b001"]


def test_subscriptions_are_told_apart_in_any_case() -> None:
    loop = loop_of(*running_in("SUB-A", 6, "x"), *running_in("sub-a", 6, "y"))
    assert len(loop.next_batch(100, timedelta(seconds=1))) == 10


def test_at_the_default_interval_pacing_changes_no_batch() -> None:
    loop = loop_of(*running_in("sub-a", 100))
    assert loop.next_batch(100, timedelta(seconds=60)) == loop.next_batch(100) == loop.ready


# -- looking --------------------------------------------------------------------------------------
def started(loop: UpgradeLoop) -> UpgradeLoop:
    return loop.apply_start_answers([StartAnswer(q.id, "upgrading", None, f"https://arm.test/op/{q.id}") for q in loop.ready], NOW)


def test_a_round_looks_at_no_more_running_upgrades_per_subscription_than_the_budget() -> None:
    loop = started(loop_of(*running_in("sub-a", 5, "a"), *running_in("sub-b", 1, "b")))

    due = loop.polls_due(timedelta(seconds=1))  # 2 looks per subscription and round

    assert [r.id for r in due] == ["a000", "a001", "b000"]


def test_upgrades_just_looked_at_wait_behind_the_others() -> None:
    loop = started(loop_of(*running_in("sub-a", 4)))

    after = loop.looked_at(["c000", "c001"])

    assert [r.id for r in after.in_flight] == ["c002", "c003", "c000", "c001"]
    assert after.looked_at(["nobody"]) == after


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(1, 40), min_size=1, max_size=4), seconds=st.sampled_from([1, 2, 5, 30, 60]))
def test_every_running_upgrade_is_looked_at_within_ceil_running_over_budget_rounds(counts: list[int], seconds: int) -> None:
    clusters = [c for k, n in enumerate(counts) for c in running_in(f"sub-{k}", n, f"s{k}-")]
    loop = started(loop_of(*clusters))
    interval = timedelta(seconds=seconds)
    looks = pacing.round_budget(interval).looks
    rounds = math.ceil(max(counts) / looks)

    seen: set[str] = set()
    for _ in range(rounds):
        due = loop.polls_due(interval)
        per_sub: dict[str, int] = {}
        for r in due:
            sub = loop.plan_of(r.id).subscription_id
            per_sub[sub] = per_sub.get(sub, 0) + 1
        assert max(per_sub.values()) <= looks
        seen |= {r.id for r in due}
        loop = loop.looked_at(r.id for r in due)

    assert seen == {r.id for r in loop.in_flight}


def test_the_order_of_running_upgrades_survives_continue_as_new() -> None:
    loop = started(loop_of(*running_in("sub-a", 3))).looked_at(["c000"])
    again = UpgradeLoop.from_dict(loop.to_dict(), EnvironmentPlan("sandbox", "lead", "ready", None, "1.31.2", loop.clusters))
    assert [r.id for r in again.in_flight] == ["c001", "c002", "c000"]
    assert isinstance(again.in_flight[0], InFlight) and again.ready == () and Queued not in map(type, again.in_flight)


def settled_in(loop: UpgradeLoop, names: list[str]) -> UpgradeLoop:
    return UpgradeLoop(loop.clusters, DEADLINE, settling=tuple(Settling(n, "1.31.2", NOW) for n in names))


def per_subscription(loop: UpgradeLoop, checks: tuple[Settling, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in checks:
        sub = loop.plan_of(c.id).subscription_id
        counts[sub] = counts.get(sub, 0) + 1
    return counts


def test_health_checks_share_a_rounds_reads_with_the_looks_and_cost_two_with_alerts() -> None:
    interval = timedelta(seconds=1)  # 12 looking reads per subscription and round, 2 of them looks
    clusters = running_in("sub-a", 30) + running_in("sub-b", 30, prefix="b")
    loop = settled_in(loop_of(*clusters), [n for n, _ in clusters])
    looked = tuple(InFlight(n, "1.31.2") for n, _ in running_in("sub-a", 2))

    arm_only = loop.due_for_health(NOW, interval, looked=looked)
    with_alerts = loop.due_for_health(NOW, interval, looked=looked, reads_per_check=2)

    assert per_subscription(loop, arm_only) == {"sub-a": 10, "sub-b": 12}  # sub-a: 2 looks + 10 checks = 12 reads
    assert per_subscription(loop, with_alerts) == {"sub-a": 5, "sub-b": 6}  # two reads per check


def test_health_checks_never_starve_behind_as_many_looks_as_the_reads_allow() -> None:
    """At long intervals the operation-status bucket allows as many looks as the looking reads: a
    subscription with that many upgrades running still gets one check a round, not none until the
    deadline fails them."""
    interval = timedelta(hours=1)
    budget = pacing.round_budget(interval)
    assert budget.looks == budget.looking_reads  # the case where looks alone spend every looking read
    clusters = running_in("sub-a", budget.looks + 3)
    loop = settled_in(loop_of(*clusters), [n for n, _ in clusters][-3:])
    looked = tuple(InFlight(n, "1.31.2") for n, _ in clusters[: budget.looks])

    assert per_subscription(loop, loop.due_for_health(NOW, interval, looked=looked)) == {"sub-a": 1}
    assert per_subscription(loop, loop.due_for_health(NOW, interval, looked=looked, reads_per_check=2)) == {"sub-a": 1}


def test_a_run_planned_under_protocol_1_paces_its_checks_as_that_release_did() -> None:
    # Its replay must ask for the same checks each round as its history holds: at most the looks'
    # budget per subscription, whatever the looks spent.
    interval = timedelta(seconds=1)  # 2 looks per subscription and round
    clusters = running_in("sub-a", 6)
    loop = replace(settled_in(loop_of(*clusters), [n for n, _ in clusters]), protocol=1)
    looked = tuple(InFlight(n, "1.31.2") for n, _ in clusters[:2])

    assert per_subscription(loop, loop.due_for_health(NOW, interval, looked=looked, reads_per_check=2)) == {"sub-a": 2}
    assert per_subscription(
        replace(loop, protocol=2), replace(loop, protocol=2).due_for_health(NOW, interval, looked=looked, reads_per_check=2)
    ) == {"sub-a": 5}
