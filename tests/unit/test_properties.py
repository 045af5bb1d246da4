"""Properties over random fleets and version catalogues: the safety rules hold whatever ARM lists."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shared.domain import clusters, freeze, planning, results, rollout, targets, upgrades, versions
from shared.domain.clusters import AvailableVersion, ClusterSnapshot
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.results import ClusterOutcome
from shared.domain.versions import KubernetesVersion

PROPERTY = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

version_st = st.builds(KubernetesVersion, st.just(1), st.integers(24, 33), st.integers(0, 15))
any_version_st = st.builds(KubernetesVersion, st.integers(0, 3), st.integers(0, 40), st.integers(0, 40))
catalogue_st = st.lists(st.builds(AvailableVersion, version_st, st.booleans()), max_size=12)
region_st = st.lists(st.builds(AvailableVersion, version_st, st.booleans()), max_size=12).filter(
    lambda vs: any(not a.is_preview for a in vs)
)


def ga(available: list[AvailableVersion]) -> set[KubernetesVersion]:
    return {a.version for a in available if not a.is_preview}


def one_hop(current: KubernetesVersion, target: KubernetesVersion) -> bool:
    return target.major == current.major and target >= current and target.minor - current.minor in (0, 1)


# -- versions -------------------------------------------------------------------------------------
@PROPERTY
@given(any_version_st, any_version_st)
def test_version_order_is_numeric_and_consistent_with_tuple_order(a: KubernetesVersion, b: KubernetesVersion) -> None:
    ta, tb = (a.major, a.minor, a.patch), (b.major, b.minor, b.patch)
    assert (a < b) == (ta < tb) and (a == b) == (ta == tb) and (a > b) == (ta > tb)
    assert sum((a < b, a == b, a > b)) == 1  # total: exactly one holds
    # ... and parsing the text back gives the same order, whatever the strings' own order is
    assert (versions.parse(str(a)) < versions.parse(str(b))) == (ta < tb)


@PROPERTY
@given(any_version_st, st.sampled_from(["", "v", "V"]))
def test_printed_versions_parse_back_with_or_without_a_leading_v(v: KubernetesVersion, prefix: str) -> None:
    assert versions.parse(prefix + str(v)) == v


@PROPERTY
@given(
    any_version_st,
    st.sampled_from(
        [
            "-rc1",
            "-rc.0",
            "-alpha",
            "-beta.2",
            "a0",
            "b1",
            "rc0",
            ".dev0",
            ".post0",
            "-0",
            "-1",
            "+abc",
            "+0",
            ".0",
            "-preview",
            "-hotfix.20240101",
            ".x",
        ]
    ),
)
def test_previews_and_decorated_versions_are_never_versions(v: KubernetesVersion, suffix: str) -> None:
    assert not versions.is_version(str(v) + suffix)


@PROPERTY
@given(st.text(max_size=20))
def test_parse_either_reads_a_plain_version_or_raises_value_error(text: str) -> None:
    try:
        parsed = versions.parse(text)
    except ValueError:
        return
    digits = text.strip().lstrip("vV").split(".")
    assert [int(d) for d in digits] == [parsed.major, parsed.minor, parsed.patch]


# -- lead -----------------------------------------------------------------------------------------
@PROPERTY
@given(version_st, catalogue_st, st.sampled_from(targets.POLICIES), region_st)
def test_lead_never_downgrades_never_takes_a_preview_never_skips_a_minor(
    current: KubernetesVersion, available: list[AvailableVersion], policy: str, region: list[AvailableVersion]
) -> None:
    decision = targets.lead_target(current, available, policy, region)
    if decision.action == "skipped":
        assert policy == "stable" and decision.reason is not None and decision.reason.startswith("above target")
        return
    target = decision.target
    assert target is not None
    assert one_hop(current, target)
    assert target == current or target in ga(available)
    assert (decision.action == "already-current") == (target == current)


@PROPERTY
@given(version_st, catalogue_st)
def test_lead_latest_is_the_newest_ga_version_one_hop_reaches(current: KubernetesVersion, available: list[AvailableVersion]) -> None:
    decision = targets.lead_target(current, available, "latest")
    assert decision.target == max({current} | {v for v in ga(available) if one_hop(current, v)})


@PROPERTY
@given(version_st, catalogue_st)
def test_lead_patch_stays_in_the_current_minor(current: KubernetesVersion, available: list[AvailableVersion]) -> None:
    decision = targets.lead_target(current, available, "patch")
    assert decision.target is not None and decision.target.minor_line == current.minor_line
    assert decision.target == max({current} | {v for v in ga(available) if v.minor_line == current.minor_line and v >= current})


@PROPERTY
@given(version_st, catalogue_st, region_st)
def test_lead_stable_is_the_newest_patch_of_minor_n_minus_1_within_one_hop(
    current: KubernetesVersion, available: list[AvailableVersion], region: list[AvailableVersion]
) -> None:
    n = max(ga(region)).minor_line
    stable_line = (n[0], n[1] - 1)
    decision = targets.lead_target(current, available, "stable", region)
    if current.minor_line > stable_line:
        assert decision.action == "skipped" and decision.target is None
        return
    allowed = {current} | {v for v in ga(available) if one_hop(current, v) and v.minor_line <= stable_line}
    assert decision.target == max(allowed)
    assert decision.target is not None and decision.target.minor_line <= stable_line


# -- follower -------------------------------------------------------------------------------------
@PROPERTY
@given(version_st, catalogue_st, version_st)
def test_follower_never_above_its_predecessor_never_down_never_a_preview_never_skips_a_minor(
    current: KubernetesVersion, available: list[AvailableVersion], ceiling: KubernetesVersion
) -> None:
    decision = targets.follower_target(current, available, ceiling)
    if current > ceiling:
        assert decision.action == "skipped" and decision.reason is not None and decision.reason.startswith("above target")
    elif current == ceiling:
        assert decision.action == "already-current" and decision.target == ceiling
    elif decision.action == "upgrade":
        target = decision.target
        assert target is not None
        assert current < target <= ceiling
        assert target in ga(available)
        assert one_hop(current, target)
        # and it is the highest such version on offer
        assert target == max(v for v in ga(available) if one_hop(current, v) and v <= ceiling)
    else:
        assert decision.action == "skipped" and decision.target is None
        assert not any(current < v <= ceiling and one_hop(current, v) for v in ga(available))


@PROPERTY
@given(st.integers(24, 30), st.integers(0, 9), st.integers(2, 3), st.integers(0, 9), st.lists(st.integers(0, 12), min_size=1, max_size=4))
def test_a_follower_two_or_more_minors_behind_moves_one_minor_toward_the_ceiling(
    minor: int, patch: int, behind: int, ceiling_patch: int, next_patches: list[int]
) -> None:
    # GIVEN a cluster `behind` minors below its ceiling whose profile offers patches of the next minor
    current = KubernetesVersion(1, minor, patch)
    ceiling = KubernetesVersion(1, minor + behind, ceiling_patch)
    offered = [AvailableVersion(KubernetesVersion(1, minor + 1, p), False) for p in next_patches]
    offered.append(AvailableVersion(ceiling, False))  # listed, but two minors away
    # THEN it moves to the newest offered patch of the next minor
    decision = targets.follower_target(current, offered, ceiling)
    assert decision == targets.TargetDecision("upgrade", KubernetesVersion(1, minor + 1, max(next_patches)))


# -- selection ------------------------------------------------------------------------------------
ENVIRONMENTS = ("sandbox", "dev", "test", "prod")
tag_name_st = st.sampled_from(["environment", "Environment", "ENVIRONMENT", "env", "stage", "aks-upgrade", "AKS-Upgrade", "owner"])
tag_value_st = st.sampled_from(["dev", "DEV", " Dev ", "prod", "Prod", "test", "sandbox", "skip", "SKIP", "", "develop", "de"])
tags_st = st.dictionaries(tag_name_st, tag_value_st, max_size=4).map(
    # ARM holds one value per case-insensitive tag name
    lambda d: tuple({k.lower(): (k, v) for k, v in d.items()}.values())
)
cluster_st = st.builds(
    ClusterSnapshot,
    id=st.uuids().map(lambda u: f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{u}"),
    name=st.just("aks"),
    subscription_id=st.just("s"),
    subscription_name=st.sampled_from(["Contoso Dev", "Contoso Prod", "contoso-test", "Sandbox", "Shared"]),
    resource_group=st.just("rg"),
    location=st.just("westeurope"),
    control_plane_version=version_st.map(str),
    provisioning_state=st.sampled_from(["Succeeded", "succeeded", "Failed", "Upgrading", "Canceled", ""]),
    power_state=st.sampled_from(["Running", "running", "Stopped", "Deallocated", ""]),
    tags=tags_st,
)
fleet_st = st.lists(cluster_st, max_size=12)


def environment_tag(c: ClusterSnapshot) -> str | None:
    return next((v.strip().lower() for k, v in c.tags if k.lower() == "environment"), None)


@PROPERTY
@given(fleet_st, st.sampled_from(ENVIRONMENTS))
def test_tag_selection_never_picks_a_cluster_of_another_environment(fleet: list[ClusterSnapshot], environment: str) -> None:
    chosen = [c for c in fleet if clusters.selected_for(c, environment, "tag")]
    assert all(environment_tag(c) == environment for c in chosen)
    assert len(chosen) == sum(1 for c in fleet if environment_tag(c) == environment)


@PROPERTY
@given(fleet_st)
def test_no_cluster_is_selected_for_two_environments_by_tag(fleet: list[ClusterSnapshot]) -> None:
    for c in fleet:
        assert sum(clusters.selected_for(c, e, "tag") for e in ENVIRONMENTS) <= 1


DEV = clusters.Selection("dev", "tag", "aks-upgrade")
CLOCK = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@PROPERTY
@given(cluster_st)
def test_only_selected_running_succeeded_clusters_without_the_opt_out_are_eligible(c: ClusterSnapshot) -> None:
    opted_out = (c.tag("aks-upgrade") or "").strip().lower() == "skip"
    healthy = c.power_state.lower() == "running" and c.provisioning_state.lower() == "succeeded"
    why = clusters.owner_veto(c, DEV, CLOCK) or clusters.state_veto(c)
    assert (why is None) == (environment_tag(c) == "dev" and healthy and not opted_out)


# -- node pools: no PUT moves anything more than one minor ------------------------------------------
@st.composite
def cluster_with_pools(draw: st.DrawFn) -> ClusterSnapshot:
    """A selected, healthy cluster whose pools run its control plane's version or up to two minors less."""
    control_plane = draw(version_st)
    pools = draw(
        st.lists(
            st.builds(
                KubernetesVersion,
                st.just(1),
                st.integers(max(control_plane.minor - 2, 0), control_plane.minor),
                st.integers(0, 15),
            ).filter(lambda v: v <= control_plane),
            min_size=1,
            max_size=4,
        )
    )
    base = draw(cluster_st)
    return replace(
        base,
        control_plane_version=str(control_plane),
        provisioning_state="Succeeded",
        power_state="Running",
        tags=(("environment", "dev"),),
        node_pools=tuple(clusters.NodePool(f"pool{i}", str(v), str(v)) for i, v in enumerate(pools)),
    )


@PROPERTY
@given(cluster_with_pools(), catalogue_st, st.one_of(st.none(), version_st), st.sampled_from(["latest", "patch"]))
def test_no_planned_upgrade_moves_the_control_plane_or_any_pool_more_than_one_minor(
    cluster: ClusterSnapshot, available: list[AvailableVersion], ceiling: KubernetesVersion | None, policy: str
) -> None:
    role = "lead" if ceiling is None else "follower"
    plan = planning.plan_cluster(cluster, available, selection=DEV, now=CLOCK, role=role, policy=policy, ceiling=ceiling)
    assert plan.from_version == cluster.runs  # the cluster runs its lowest version
    if plan.action != "upgrade":
        return
    target = versions.parse(plan.to_version or "")
    control_plane = versions.parse(cluster.control_plane_version)
    assert target >= control_plane  # never a downgrade
    for part in [control_plane, *(versions.parse(p.current_version) for p in cluster.node_pools)]:
        assert one_hop(part, target), (part, target)
    # ... and the PUT decided on the same cluster right before it moves exactly the pools below the target
    decision = upgrades.decide_start(cluster, target=str(target), selection=DEV, now=CLOCK)
    assert decision.kind == "put"
    assert set(decision.pools) == {p.name for p in cluster.node_pools if versions.parse(p.current_version) != target}


# -- a follower's whole run over a random fleet ---------------------------------------------------
@PROPERTY
@given(st.lists(st.tuples(cluster_st, catalogue_st), max_size=8), version_st, st.data())
def test_a_follower_run_records_at_most_its_ceiling_and_only_eligible_clusters_that_run_it(
    fleet: list[tuple[ClusterSnapshot, list[AvailableVersion]]], ceiling: KubernetesVersion, data: st.DataObject
) -> None:
    # GIVEN a random fleet planned as the follower activity plans it
    plans = []
    for c, available in fleet:
        plans.append(planning.plan_cluster(c, available, selection=DEV, now=CLOCK, role="follower", ceiling=ceiling))
    env = EnvironmentPlan("dev", "follower", "ready", None, str(ceiling), planning.sorted_plans(plans))
    # WHEN each upgrade succeeds or fails at random
    outcomes = []
    for p in env.clusters:
        outcome = results.outcome_from_plan(p)
        if p.action == "upgrade" and data.draw(st.booleans(), label=f"{p.id} fails"):
            outcome = ClusterOutcome(p.id, p.from_version, p.to_version, "failed", "UpgradeFailed: drain")
        outcomes.append(outcome)
    decision = results.record_decision(env, outcomes, str(ceiling))
    # THEN nothing is recorded after a failure; otherwise the record is the top eligible version, capped
    if any(o.result == "failed" for o in outcomes):
        assert decision is None
        return
    # What each eligible cluster runs now: its target when upgraded or current, else what it ran.
    running = {
        o.id: versions.parse(o.to_version if o.to_version is not None else o.from_version)
        for o, p in zip(outcomes, env.clusters, strict=True)
        if p.eligible
    }
    capped = {cid: v for cid, v in running.items() if v <= ceiling}
    if not capped:
        assert decision is None
        return
    assert decision is not None
    recorded = versions.parse(decision.version)
    assert recorded <= ceiling
    assert recorded == max(capped.values())
    assert set(decision.clusters) == {cid for cid, v in capped.items() if v == recorded}
    ineligible = {p.id for p in env.clusters if not p.eligible}
    assert not ineligible & set(decision.clusters)


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["upgrade", "already-current", "skipped", "failed"]),
            version_st,
            st.sampled_from(["upgraded", "already-current", "skipped", "failed", "planned"]),
        ),
        max_size=8,
    ),
    version_st,
)
def test_record_decision_over_arbitrary_outcomes(rows: list[tuple[str, KubernetesVersion, str]], target: KubernetesVersion) -> None:
    plans = tuple(ClusterPlan(f"c{i}", f"c{i}", "s", "rg", "l", None, str(v), action) for i, (action, v, _) in enumerate(rows))
    env = EnvironmentPlan("dev", "follower", "ready", None, str(target), plans)
    outcomes = [ClusterOutcome(f"c{i}", None, str(v), result) for i, (_, v, result) in enumerate(rows)]
    decision = results.record_decision(env, outcomes, str(target))
    if any(result == "failed" for _, _, result in rows):
        assert decision is None
        return
    counted = {
        f"c{i}": v
        for i, (action, v, result) in enumerate(rows)
        if action != "skipped" and result in ("upgraded", "already-current") and v <= target
    }
    if not counted:
        assert decision is None
        return
    assert decision is not None
    top = max(counted.values())
    assert decision.version == str(top)
    assert set(decision.clusters) == {cid for cid, v in counted.items() if v == top}


# -- rollout and freeze ---------------------------------------------------------------------------
@PROPERTY
@given(st.lists(st.sampled_from(range(7)), min_size=1, max_size=7, unique=True), st.dates(date(2020, 1, 1), date(2035, 12, 31)))
def test_choose_wave_gives_the_days_wave_with_the_role_its_position_implies(days: list[int], day: date) -> None:
    names = [f"env{i}" for i in range(len(days))]
    plan = rollout.RolloutPlan("UTC", tuple(rollout.Wave(d, n) for d, n in zip(days, names, strict=True)))
    chosen = rollout.choose_wave(plan, day, None)
    if day.weekday() not in days:
        assert chosen == rollout.ChosenWave(None, "none", None)
        return
    index = days.index(day.weekday())
    assert chosen.environment == names[index]
    assert chosen.role == ("lead" if index == 0 else "follower")
    assert chosen.predecessor == (names[index - 1] if index else None)
    # and naming an environment gives the same wave on any date
    assert rollout.choose_wave(plan, day + timedelta(days=3), names[index]) == chosen


@PROPERTY
@given(st.dates(date(2020, 1, 1), date(2035, 12, 31)), st.integers(0, 40), st.integers(-50, 50))
def test_freeze_ranges_are_inclusive(first: date, length: int, offset: int) -> None:
    last = first + timedelta(days=length)
    windows = freeze.parse_freeze_dates(f"{first}..{last}")
    day = first + timedelta(days=offset)
    assert (freeze.freeze_covering(day, windows) is not None) == (first <= day <= last)


@PROPERTY
@given(st.lists(st.text(alphabet="0123456789-.W ", max_size=12), min_size=1, max_size=5))
def test_freeze_dates_either_parse_to_real_windows_or_name_each_bad_item(items: list[str]) -> None:
    assume(all("," not in i for i in items))
    try:
        windows = freeze.parse_freeze_dates(",".join(items))
    except ValueError as exc:
        message = str(exc)
        assert any(repr(i.strip()) in message for i in items if i.strip())
        return
    assert all(w.first <= w.last for w in windows)
    assert len(windows) == sum(1 for i in items if i.strip())
