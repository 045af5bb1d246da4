"""The lead's two planning sources: the region's version list (read once per location) and each
cluster's own upgrade profile (one GET per cluster).

Which one a cluster needs is a pure decision (``planning.options_source``); the property at the
end shows that, over random catalogues and fleets, both give the same plan. Both are built the way
AKS builds them from one catalogue: the emulator's own version list and upgrade profile, read
through the adapters' parsers, as the app reads them from ARM.
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.emulator import fleet as fleet_mod
from ops.emulator import state as state_mod
from shared.adapters.arm import available_from_profile, region_versions_from_list, snapshot_from_document
from shared.domain import planning, targets, versions
from shared.domain.clusters import AvailableVersion, ClusterSnapshot, NodePool, RegionVersion, Selection
from shared.domain.planning import ClusterPlan
from tests.fixtures.arm import response_body

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SANDBOX = Selection("sandbox", "tag", "aks-upgrade")
SUBSCRIPTION = "00000000-0000-0000-0000-00000000b001"
LOCATION = "westeurope"
V = versions.parse


def region(*patches: tuple[str, bool, tuple[str, ...]], plans: tuple[str, ...] = ("KubernetesOfficial",)) -> list[RegionVersion]:
    return [RegionVersion(V(text), preview, tuple(V(u) for u in upgrades), plans) for text, preview, upgrades in patches]


REGION = region(
    ("1.30.4", False, ("1.30.5", "1.31.2")),
    ("1.30.5", False, ("1.31.2",)),
    ("1.31.2", False, ("1.32.0",)),
    ("1.32.0", True, ()),
)


def cluster(
    current: str = "1.30.4", *, plan: str = "KubernetesOfficial", power: str = "Running", state: str = "Succeeded"
) -> ClusterSnapshot:
    return ClusterSnapshot(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1",
        name="aks1",
        subscription_id="s",
        subscription_name="sub",
        resource_group="rg",
        location=LOCATION,
        control_plane_version=current,
        provisioning_state=state,
        power_state=power,
        tags=(("environment", "sandbox"),),
        requested_version=current,
        node_pools=(NodePool("nodepool1", current, current),),
        support_plan=plan,
    )


def source(
    c: ClusterSnapshot, *, role: str = "lead", ceiling: str | None = None, region_versions: list[RegionVersion] | None = REGION
) -> str:
    found = planning.options_source(
        c, selection=SANDBOX, now=NOW, role=role, ceiling=V(ceiling) if ceiling else None, region_versions=region_versions
    )
    return found.kind


# -- which source a cluster needs ---------------------------------------------------------------------
def test_a_lead_cluster_on_the_standard_plan_and_a_listed_patch_is_planned_from_the_region_list() -> None:
    found = planning.options_source(cluster("1.30.4"), selection=SANDBOX, now=NOW, role="lead", ceiling=None, region_versions=REGION)
    assert found == planning.OptionsSource("region-list", (AvailableVersion(V("1.30.5"), False), AvailableVersion(V("1.31.2"), False)))


def test_an_offer_on_a_preview_minor_keeps_the_region_lists_preview_flag() -> None:
    offers = planning.region_offers(cluster("1.31.2"), REGION)
    assert offers == (AvailableVersion(V("1.32.0"), True),)


@pytest.mark.parametrize(
    ("plan", "current", "why"),
    [
        ("AKSLongTermSupport", "1.30.4", "long-term support may offer paths the standard list does not"),
        ("", "1.30.4", "no support plan reported: not known to be the standard one"),
        ("KubernetesOfficial", "1.30.3", "its patch is not in the region's list"),
        ("KubernetesOfficial", "1.29.9", "its minor is not in the region's list"),
    ],
)
def test_a_lead_cluster_the_region_list_cannot_vouch_for_reads_its_own_profile(plan: str, current: str, why: str) -> None:
    assert source(cluster(current, plan=plan)) == "upgrade-profile", why


def test_a_minor_the_region_offers_only_under_long_term_support_is_read_from_the_profile() -> None:
    lts_only = region(("1.30.4", False, ("1.30.5",)), plans=("AKSLongTermSupport",))
    assert source(cluster("1.30.4"), region_versions=lts_only) == "upgrade-profile"


def test_a_region_list_without_upgrades_per_patch_is_no_planning_source() -> None:
    # Plain entries (version and preview flag only) say nothing about what each patch reaches.
    bare = [AvailableVersion(V("1.30.4"), False), AvailableVersion(V("1.31.2"), False)]
    assert source(cluster("1.30.4"), region_versions=bare) == "upgrade-profile"  # type: ignore[arg-type]


def test_the_support_plan_matches_in_any_case() -> None:
    assert source(cluster("1.30.4", plan="kubernetesofficial")) == "region-list"


def test_a_follower_reads_its_profile_below_the_validated_version_and_nothing_at_or_above_it() -> None:
    assert source(cluster("1.30.4"), role="follower", ceiling="1.31.2", region_versions=None) == "upgrade-profile"
    assert source(cluster("1.31.2"), role="follower", ceiling="1.31.2", region_versions=None) == "none"


@pytest.mark.parametrize(
    "c",
    [cluster(power="Stopped"), cluster(state="Failed"), cluster("1.30.4", plan="AKSLongTermSupport", power="Stopped")],
)
def test_a_cluster_skipped_whatever_its_options_are_reads_nothing(c: ClusterSnapshot) -> None:
    assert source(c) == "none"


def test_the_published_version_list_gives_the_published_upgrades_under_the_standard_plan() -> None:
    listed = region_versions_from_list(response_body("KubernetesVersions_List"), "location1")
    offers = planning.region_offers(cluster("1.24.6"), listed)
    assert offers == tuple(AvailableVersion(V(t), False) for t in ("1.24.9", "1.25.4", "1.25.5"))
    # 1.25.5 upgrades only to 1.26.0, a preview minor in the same list.
    assert planning.region_offers(cluster("1.25.5"), listed) == (AvailableVersion(V("1.26.0"), True),)


# -- both sources give the same plan ---------------------------------------------------------------------
PROPERTY = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def catalogues(draw: st.DrawFn) -> tuple[fleet_mod.CatalogueVersion, ...]:
    """A location's catalogue as AKS has one: a few minors, each GA or preview as a whole, each
    with one to three patches."""
    minors = draw(st.lists(st.integers(26, 33), min_size=1, max_size=5, unique=True))
    out = []
    for minor in sorted(minors):
        preview = draw(st.booleans()) if minor == max(minors) else draw(st.sampled_from([False, False, False, True]))
        for patch in sorted(draw(st.lists(st.integers(0, 12), min_size=1, max_size=3, unique=True))):
            out.append(fleet_mod.CatalogueVersion(f"1.{minor}.{patch}", preview))
    return tuple(out)


@st.composite
def fleets(draw: st.DrawFn) -> tuple[fleet_mod.Fleet, dict[str, str], dict[str, str]]:
    """A fleet in one location: clusters on catalogue versions or off it, pools at or below their
    control plane, some stopped or upgrading; plus each cluster's support plan and, for some
    upgrading ones, the version their upgrade asks for."""
    catalogue = draw(catalogues())
    listed = [v.version for v in catalogue]
    version_st = st.one_of(st.sampled_from(listed), st.builds("1.{}.{}".format, st.integers(25, 34), st.integers(0, 12)))
    clusters, plans, asks = [], {}, {}
    for i in range(draw(st.integers(1, 6))):
        current = draw(version_st)
        cur = V(current)
        pool_versions = draw(
            st.lists(st.one_of(st.just(current), st.sampled_from([v for v in listed if V(v) <= cur] or [current])), min_size=1, max_size=3)
        )
        name = f"aks-sandbox-{i}"
        clusters.append(
            fleet_mod.Cluster(
                SUBSCRIPTION,
                "rg-sandbox",
                name,
                LOCATION,
                current,
                tags={"environment": "sandbox"},
                power_state=draw(st.sampled_from(["Running", "Running", "Running", "Stopped"])),
                provisioning_state=draw(st.sampled_from(["Succeeded", "Succeeded", "Succeeded", "Upgrading"])),
                agent_pools=tuple(fleet_mod.AgentPool(f"pool{k}", orchestrator_version=v) for k, v in enumerate(pool_versions)),
            )
        )
        plans[name] = draw(st.sampled_from(["KubernetesOfficial", "KubernetesOfficial", "AKSLongTermSupport", ""]))
        if draw(st.booleans()):
            asks[name] = draw(st.sampled_from(listed))
    fleet = fleet_mod.Fleet(
        subscriptions=(fleet_mod.Subscription(SUBSCRIPTION, "Platform Sandbox"),),
        kubernetes_versions={LOCATION: catalogue},
        clusters=tuple(clusters),
    )
    return fleet, plans, asks


def _plan(
    c: ClusterSnapshot, available: tuple[AvailableVersion, ...] | list[AvailableVersion], policy: str, region: list[RegionVersion]
) -> ClusterPlan | str:
    """The activity's plan of one cluster; a ValueError (the stable policy without a GA minor) fails it."""
    try:
        return planning.plan_cluster(c, available, selection=SANDBOX, now=NOW, role="lead", policy=policy, region_versions=region)
    except ValueError as exc:
        return f"failed: {exc}"


def _served(world: state_mod.World, name: str, plan: str, asks: str | None) -> state_mod.ClusterState:
    """The stored cluster with its support plan and, when upgrading, what its upgrade asks for."""
    cs = world.find_cluster(name)
    props = cs.doc["properties"]
    if plan:
        props["supportPlan"] = plan
    else:
        props.pop("supportPlan", None)
    if asks is not None and props["provisioningState"] == "Upgrading":
        props["kubernetesVersion"] = asks
        for pool in props["agentPoolProfiles"]:
            pool["orchestratorVersion"] = asks
    return cs


@PROPERTY
@given(fleets(), st.sampled_from(targets.POLICIES), st.integers(0, 2**32))
def test_the_region_list_and_each_clusters_own_profile_give_the_same_plan(
    drawn: tuple[fleet_mod.Fleet, dict[str, str], dict[str, str]], policy: str, seed: int
) -> None:
    fleet, plans, asks = drawn
    world = state_mod.World(fleet, lambda: 0.0, random.Random(seed))
    region = region_versions_from_list(state_mod.kubernetes_versions(world, LOCATION), LOCATION)
    listed = {r.version for r in region}

    for c in fleet.clusters:
        cs = _served(world, c.name, plans[c.name], asks.get(c.name))
        snapshot = snapshot_from_document(copy.deepcopy(cs.doc), SUBSCRIPTION, "Platform Sandbox")
        from_profile = available_from_profile(state_mod.upgrade_profile(world, cs))
        chosen = planning.options_source(snapshot, selection=SANDBOX, now=NOW, role="lead", ceiling=None, region_versions=region)

        # The activity's plan (options from the chosen source) is the plan from the cluster's own profile.
        used = from_profile if chosen.kind == "upgrade-profile" else chosen.offers
        assert _plan(snapshot, used, policy, region) == _plan(snapshot, from_profile, policy, region)
        # ... and the region list is chosen exactly where it can vouch for the cluster.
        vouched = plans[c.name] == "KubernetesOfficial" and V(snapshot.control_plane_version) in listed
        if chosen.kind != "none":
            assert (chosen.kind == "region-list") == vouched
