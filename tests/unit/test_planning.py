"""An environment's plan: per-cluster decisions and the lead's target version (the soak gate is in test_gates)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.domain import planning, versions
from shared.domain.clusters import AvailableVersion, ClusterSnapshot, NodePool, Selection
from shared.domain.planning import ClusterPlan, EnvironmentPlan

CLOCK = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
SANDBOX = Selection("sandbox", "tag", "aks-upgrade")


def snapshot(
    name: str,
    current: str,
    *,
    power: str = "Running",
    state: str = "Succeeded",
    tags: tuple[tuple[str, str], ...] = (("environment", "sandbox"),),
) -> ClusterSnapshot:
    return ClusterSnapshot(
        id=f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}",
        name=name,
        subscription_id="s",
        subscription_name="sub",
        resource_group="rg",
        location="westeurope",
        control_plane_version=current,
        provisioning_state=state,
        power_state=power,
        tags=tags,
    )


def offers(*texts: str) -> list[AvailableVersion]:
    return [AvailableVersion(versions.parse(t), False) for t in texts]


# -- decide_cluster -------------------------------------------------------------------------------
def test_lead_cluster_plan_carries_from_to_and_where_to_find_it() -> None:
    plan = planning.decide_cluster(snapshot("aks1", "1.30.5"), offers("1.30.9", "1.31.2"), role="lead")
    assert (plan.action, plan.from_version, plan.to_version, plan.reason) == ("upgrade", "1.30.5", "1.31.2", None)
    assert (plan.name, plan.subscription_id, plan.resource_group, plan.location) == ("aks1", "s", "rg", "westeurope")


def test_follower_cluster_plan_is_capped_at_the_ceiling() -> None:
    plan = planning.decide_cluster(
        snapshot("aks1", "1.30.5"), offers("1.30.9", "1.31.2"), role="follower", ceiling=versions.parse("1.30.9")
    )
    assert (plan.action, plan.to_version) == ("upgrade", "1.30.9")


def test_follower_cluster_above_the_ceiling_is_skipped_but_stays_eligible() -> None:
    plan = planning.decide_cluster(snapshot("aks1", "1.31.4"), offers(), role="follower", ceiling=versions.parse("1.31.2"))
    # Eligible per the contract (selected, running, Succeeded): it counts for the record, never above it.
    assert plan.action == "skipped" and plan.to_version is None and plan.eligible
    assert plan.reason is not None and plan.reason.startswith("above target")


def test_a_follower_without_a_ceiling_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="predecessor"):
        planning.decide_cluster(snapshot("aks1", "1.30.5"), offers("1.31.2"), role="follower")


def test_a_cluster_running_an_unreadable_version_fails_with_a_coded_reason() -> None:
    plan = planning.decide_cluster(snapshot("aks1", "1.30"), offers("1.31.2"), role="lead")
    assert plan.action == "failed" and plan.eligible
    assert plan.reason is not None and plan.reason.startswith("InvalidClusterVersion:")


@pytest.mark.parametrize(
    ("cluster", "reason_start"),
    [
        (snapshot("a", "1.30.5", tags=(("environment", "sandbox"), ("aks-upgrade", "Skip"))), "opted out"),
        (snapshot("a", "1.30.5", power="Stopped"), "not running"),
        (snapshot("a", "1.30.5", state="Failed"), "provisioningState is Failed"),
    ],
)
def test_an_ineligible_cluster_is_planned_skipped_with_its_reason(cluster: ClusterSnapshot, reason_start: str) -> None:
    plan = planning.plan_cluster(cluster, offers("1.31.2"), selection=SANDBOX, now=CLOCK, role="lead")
    assert plan.action == "skipped" and plan.eligible is False
    assert plan.reason is not None and plan.reason.startswith(reason_start)


@pytest.mark.parametrize(
    ("cluster", "reads"),
    [
        (snapshot("a", "1.30.5"), True),
        (snapshot("a", "1.30.5", tags=(("environment", "sandbox"), ("aks-upgrade", "skip"))), False),
        (snapshot("a", "1.30.5", power="Stopped"), False),
        (snapshot("a", "1.30.5", state="Failed"), False),
    ],
)
def test_a_cluster_that_is_skipped_whatever_its_profile_says_costs_no_profile_read(cluster: ClusterSnapshot, reads: bool) -> None:
    assert planning.reads_upgrade_profile(cluster, selection=SANDBOX, now=CLOCK, role="lead", ceiling=None) is reads


# -- node pools and previews ------------------------------------------------------------------------
def with_pools(cluster: ClusterSnapshot, *pools: tuple[str, str]) -> ClusterSnapshot:
    return replace(cluster, node_pools=tuple(NodePool(name, version) for name, version in pools))


def test_a_pool_one_minor_behind_caps_the_lead_at_one_minor_above_it() -> None:
    # control plane 1.30.5, pool 1.29.9: 1.31.2 would move the pool two minors in one PUT
    cluster = with_pools(snapshot("a", "1.30.5"), ("system", "1.30.5"), ("user", "1.29.9"))
    plan = planning.decide_cluster(cluster, offers("1.30.9", "1.31.2"), role="lead")
    assert (plan.action, plan.from_version, plan.to_version) == ("upgrade", "1.29.9", "1.30.9")


def test_a_control_plane_at_the_target_with_a_lagging_pool_is_upgraded_not_already_current() -> None:
    cluster = with_pools(snapshot("a", "1.31.2"), ("system", "1.31.2"), ("user", "1.30.5"))
    plan = planning.decide_cluster(cluster, offers(), role="follower", ceiling=versions.parse("1.31.2"))
    assert (plan.action, plan.from_version, plan.to_version) == ("upgrade", "1.30.5", "1.31.2")
    assert plan.reason is not None and "brought up" in plan.reason


def test_a_pool_two_minors_behind_its_control_plane_is_left_alone_with_the_reason() -> None:
    cluster = with_pools(snapshot("a", "1.31.2"), ("system", "1.31.2"), ("user", "1.29.9"))
    plan = planning.decide_cluster(cluster, offers("1.31.4"), role="lead")
    assert plan.action == "skipped" and plan.to_version is None
    assert plan.reason is not None and "1.29.9" in plan.reason and "nodepool upgrade" in plan.reason


def test_a_lead_cluster_on_a_preview_is_skipped_and_never_counts_for_the_record() -> None:
    region = [AvailableVersion(versions.parse("1.31.2"), False), AvailableVersion(versions.parse("1.32.0"), True)]
    plan = planning.decide_cluster(snapshot("a", "1.32.0"), offers(), role="lead", region_versions=region)
    assert plan.action == "skipped" and plan.eligible is False
    assert plan.reason == "runs preview 1.32.0: a preview is never upgraded from or recorded"


@pytest.mark.parametrize(("action", "eligible"), [("upgrade", True), ("already-current", True), ("failed", True), ("skipped", False)])
def test_eligibility_follows_the_action(action: str, eligible: bool) -> None:
    plan = ClusterPlan("id", "n", "s", "rg", "loc", "1.30.5", None, action)
    assert plan.eligible is eligible


# -- lead target version --------------------------------------------------------------------------
def test_lead_target_version_is_the_highest_target_of_its_acting_clusters() -> None:
    plans = [
        ClusterPlan("a", "a", "s", "rg", "l", "1.30.5", "1.31.2", "upgrade"),
        ClusterPlan("b", "b", "s", "rg", "l", "1.30.10", "1.30.10", "already-current"),
        ClusterPlan("c", "c", "s", "rg", "l", "1.30.9", "1.31.10", "upgrade"),  # numerically above 1.31.2
        ClusterPlan("d", "d", "s", "rg", "l", "1.33.0", None, "skipped", "opted out"),
        ClusterPlan("e", "e", "s", "rg", "l", "bad", None, "failed", "InvalidClusterVersion: ..."),
    ]
    assert planning.lead_target_version(plans) == "1.31.10"


def test_lead_target_version_is_none_without_acting_clusters() -> None:
    assert planning.lead_target_version([ClusterPlan("d", "d", "s", "rg", "l", "1.30.5", None, "skipped")]) is None


# -- plain JSON across the durable boundary -------------------------------------------------------
def test_environment_plan_survives_the_round_trip_through_plain_json() -> None:
    plans = (
        ClusterPlan("a", "a", "s", "rg", "l", "1.30.5", "1.31.2", "upgrade"),
        ClusterPlan("b", "b", "s", "rg", "l", None, None, "skipped", "not running (powerState Stopped)"),
    )
    env = EnvironmentPlan("dev", "follower", "ready", None, "1.31.2", plans)
    data = env.to_dict()
    assert data["targetVersion"] == "1.31.2" and data["clusters"][0]["from"] == "1.30.5"
    assert EnvironmentPlan.from_dict(data) == env
    assert env.to_upgrade == (plans[0],) and env.has_eligible


def test_plans_are_ordered_by_cluster_id_whatever_arm_paging_returned() -> None:
    ids = ["/sub/B", "/sub/a", "/sub/C"]
    plans = [ClusterPlan(i, i, "s", "rg", "l", None, None, "skipped") for i in ids]
    assert [p.id for p in planning.sorted_plans(plans)] == ["/sub/a", "/sub/B", "/sub/C"]


# -- resuming our own in-flight upgrade -----------------------------------------------------------
def in_flight(current: str, requested: str, state: str = "Upgrading") -> ClusterSnapshot:
    from dataclasses import replace

    return replace(snapshot("aks1", current, state=state), requested_version=requested)


def test_a_cluster_already_upgrading_to_this_runs_target_is_resumed_not_skipped() -> None:
    # GIVEN a crash between our PUT and the record: the cluster still upgrades to 1.31.2
    cluster = in_flight("1.30.5", "1.31.2")
    # WHEN a re-run plans it as a follower of 1.31.2
    plan = planning.resumable(cluster, offers("1.30.9", "1.31.2"), role="follower", ceiling=versions.parse("1.31.2"))
    # THEN it is planned as an upgrade to that version, to be monitored (decide_start then says resume)
    assert plan is not None and (plan.action, plan.to_version) == ("upgrade", "1.31.2")
    assert plan.reason is not None and plan.reason.startswith("resuming")


@pytest.mark.parametrize(
    ("cluster", "ceiling"),
    [
        (in_flight("1.30.5", "1.30.9"), "1.31.2"),  # someone else's upgrade, to another version
        (in_flight("1.30.5", "1.31.4"), "1.31.2"),  # above what this run would choose
        (in_flight("1.30.5", "1.31.2", state="Failed"), "1.31.2"),  # not in flight
        (in_flight("1.30.5", "1.31.2", state="Deleting"), "1.31.2"),  # busy with something else
        (in_flight("1.31.2", "1.31.2", state="Updating"), "1.31.2"),  # a scale or setting change, not an upgrade
        (in_flight("1.30.5", ""), "1.31.2"),  # no requested version known
    ],
)
def test_other_in_flight_clusters_are_not_resumed(cluster: ClusterSnapshot, ceiling: str) -> None:
    assert planning.resumable(cluster, offers("1.30.9", "1.31.2", "1.31.4"), role="follower", ceiling=versions.parse(ceiling)) is None


def test_a_lead_cluster_upgrading_to_its_policy_target_is_resumed() -> None:
    plan = planning.resumable(in_flight("1.30.5", "1.31.4"), offers("1.30.9", "1.31.2", "1.31.4"), role="lead")
    assert plan is not None and plan.to_version == "1.31.4"


# -- needs_upgrade_profile ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "current", "ceiling", "needed"),
    [
        ("lead", "1.31.2", None, True),  # the lead's target is whatever the profile offers
        ("follower", "1.30.5", "1.31.2", True),  # below the ceiling: the profile says how far one hop goes
        ("follower", "1.31.2", "1.31.2", False),  # at it: already-current whatever the profile lists
        ("follower", "1.31.4", "1.31.2", False),  # above it: skipped whatever the profile lists
        ("lead", "not-a-version", None, False),  # fails on its own version first
    ],
)
def test_the_upgrade_profile_is_read_only_when_it_can_change_the_decision(
    role: str, current: str, ceiling: str | None, needed: bool
) -> None:
    cap = versions.parse(ceiling) if ceiling else None
    assert planning.needs_upgrade_profile(snapshot("aks1", current), role=role, ceiling=cap) is needed
    if not needed:
        # Deciding without the profile gives what deciding with a generous one would.
        rich = offers("1.30.9", "1.31.2", "1.31.4", "1.32.1")
        with_profile = planning.decide_cluster(snapshot("aks1", current), rich, role=role, ceiling=cap)
        without = planning.decide_cluster(snapshot("aks1", current), [], role=role, ceiling=cap)
        assert (without.action, without.to_version, without.reason) == (with_profile.action, with_profile.to_version, with_profile.reason)


def test_a_pool_only_upgrade_in_flight_is_resumed_on_a_rerun() -> None:
    cluster = replace(
        snapshot("a", "1.31.2", state="Upgrading"),
        requested_version="1.31.2",
        node_pools=(NodePool("system", "1.31.2", "1.31.2"), NodePool("user", "1.30.5", "1.31.2")),
    )
    plan = planning.resumable(cluster, offers(), role="follower", ceiling=versions.parse("1.31.2"))
    assert plan is not None and (plan.action, plan.from_version, plan.to_version) == ("upgrade", "1.30.5", "1.31.2")


# -- only versions the region vouches for as GA are upgraded from, to, or recorded --------------------
REGION = [
    AvailableVersion(versions.parse("1.33.2"), False),
    AvailableVersion(versions.parse("1.33.5"), False),
    AvailableVersion(versions.parse("1.34.1"), True),
]


@pytest.mark.parametrize(
    ("runs", "region", "reason_start"),
    [
        ("1.34.0", REGION, "runs preview 1.34.0"),  # unlisted patch of a preview minor
        ("1.34.1", REGION, "runs preview 1.34.1"),
        ("1.35.0", REGION, "runs 1.35.0, above every GA minor the region lists"),
        ("1.33.2", [], "runs 1.33.2, and the region's version list vouches for no GA version"),
    ],
)
def test_a_lead_cluster_on_a_version_not_known_to_be_ga_is_skipped(runs: str, region: list[AvailableVersion], reason_start: str) -> None:
    plan = planning.decide_cluster(snapshot("a", runs), offers(), role="lead", region_versions=region)
    assert plan.action == "skipped" and plan.eligible is False
    assert plan.reason is not None and plan.reason.startswith(reason_start)


def test_an_older_minor_the_region_no_longer_lists_is_still_ga_and_upgraded() -> None:
    plan = planning.decide_cluster(snapshot("a", "1.32.9"), offers("1.33.5"), role="lead", region_versions=REGION)
    assert (plan.action, plan.to_version) == ("upgrade", "1.33.5")


def test_an_offer_on_a_minor_the_region_marks_preview_is_never_a_target() -> None:
    # The profile lists 1.34.2 without isPreview; the region says minor 1.34 is a preview.
    plan = planning.decide_cluster(snapshot("a", "1.33.5"), offers("1.34.2"), role="lead", region_versions=REGION)
    assert plan.action == "already-current" and plan.to_version == "1.33.5"
