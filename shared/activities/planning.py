"""Planning activities: discover an environment's clusters, read what the decisions need, and let
the domain plan each cluster (``UpgradeLeadEnvironment``, ``UpgradeFollowerEnvironment``).

What the orchestrator already decided on (the clock, the soak, whether the predecessor is the
lead) comes in the request; what only planning needs (selector, opt-out tag, policy,
subscriptions) comes from the settings here."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from shared import logs, runtime
from shared.activities.common import cluster_selection, parallel
from shared.activity_messages import FollowerPlanRequest, LeadPlanRequest
from shared.domain import clusters as clusters_mod
from shared.domain import gates, planning, versions
from shared.domain.clusters import ClusterSnapshot, RegionVersion, selected_for
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.records import ValidatedRecord
from shared.errors import ArmPermanentError, StoreError, VersionTableMissingError


def _discover(environment: str) -> list[ClusterSnapshot]:
    svc = runtime.services()
    selector = svc.settings.cluster_selector
    listed = svc.arm.list_subscriptions(svc.settings.subscription_ids)
    for unseen in (s for s in listed if not s.display_name):
        # Named in SUBSCRIPTION_IDS but not visible to the identity: its clusters cannot be found
        # (and under the subscription-name selector it is not even looked at). Say so.
        logs.event(
            logging.WARNING,
            "subscription in SUBSCRIPTION_IDS is not visible to this identity; its clusters are not planned",
            environment=environment,
            subscription_id=unseen.id,
        )
    subscriptions = [s for s in listed if clusters_mod.subscription_may_hold(s.display_name, environment, selector)]
    per_subscription = parallel(svc.arm.list_clusters, subscriptions)
    found = [c for group in per_subscription for c in group]
    return [c for c in found if selected_for(c, environment, selector)]


def _plan_clusters(environment: str, *, role: str, ceiling: versions.KubernetesVersion | None, clock: datetime) -> tuple[ClusterPlan, ...]:
    """Discover, read what the decisions need (in parallel), and let the domain plan each cluster."""
    svc = runtime.services()
    selection = cluster_selection(environment)
    policy = svc.settings.target_policy
    selected = _discover(environment)
    region_versions = _region_versions(selected) if role == "lead" else {}

    def plan_one(cluster: ClusterSnapshot) -> ClusterPlan:
        try:
            region = region_versions.get(cluster.location.lower(), ()) if role == "lead" else None
            source = planning.options_source(cluster, selection=selection, now=clock, role=role, ceiling=ceiling, region_versions=region)
            available = svc.arm.upgrade_options(cluster.id) if source.kind == "upgrade-profile" else source.offers
            return planning.plan_cluster(
                cluster,
                available,
                selection=selection,
                now=clock,
                role=role,
                policy=policy,
                ceiling=ceiling,
                region_versions=region,
            )
        except ArmPermanentError as exc:
            return planning.failed(cluster, f"{exc.code}: {exc.arm_message}")
        except ValueError as exc:
            return planning.failed(cluster, f"PlanningError: {exc}")

    return planning.sorted_plans(parallel(plan_one, selected))


def _region_versions(found: list[ClusterSnapshot]) -> dict[str, tuple[RegionVersion, ...]]:
    """The region's version list, read once per location of the run (not per cluster).

    The lead needs it for every cluster: it lists the one-hop upgrades of every patch (the planning
    source for clusters on the standard support plan, instead of one upgrade profile each), says
    which versions are previews (a cluster running one is never recorded) and where the stable
    policy's newest GA minor is.
    """
    arm = runtime.services().arm
    by_location: dict[str, str] = {}
    for cluster in found:
        by_location.setdefault(cluster.location.lower(), cluster.subscription_id)
    locations = sorted(by_location)

    def read(location: str) -> tuple[RegionVersion, ...]:
        return tuple(arm.region_versions(by_location[location], location))

    return dict(zip(locations, parallel(read, locations), strict=True))


def plan_lead_environment(request: LeadPlanRequest) -> EnvironmentPlan:
    """Discover the lead's clusters and pick each one's newest allowed GA version."""
    environment = request.environment
    try:
        clusters = _plan_clusters(environment, role="lead", ceiling=None, clock=request.clock)
    except ArmPermanentError as exc:
        return EnvironmentPlan(environment, "lead", "failed", f"discovery failed: {exc.code}: {exc.arm_message}")
    plan = EnvironmentPlan(environment, "lead", "ready", None, planning.lead_target_version(clusters), clusters)
    plan = _with_current_record(plan, lead=True)
    _log_plan(plan, request.instance_id)
    return plan


def _validated_record(environment: str, lead: bool) -> ValidatedRecord | None:
    """An environment's record; for the lead, the original deployment's row when it has none."""
    store = runtime.services().versions
    record = store.read_validated(environment)
    if record is None and lead:
        record = store.read_legacy()
    return record


def plan_follower_environment(request: FollowerPlanRequest) -> EnvironmentPlan:
    """Gate on the predecessor's record (present, readable, soaked), then plan up to its version."""
    environment, predecessor, lead = request.environment, request.predecessor, request.predecessor_is_lead
    try:
        record = _validated_record(predecessor, lead)
    except VersionTableMissingError as exc:
        reason = f"no validated version recorded for {predecessor}: {exc}; nothing to follow"
        return EnvironmentPlan(environment, "follower", "skipped", reason)
    except StoreError as exc:
        reason = f"version store: {exc}; no upgrades"
        logs.event(logging.ERROR, "cannot read predecessor record", environment=environment, error=reason)
        return EnvironmentPlan(environment, "follower", "failed", reason)
    if record is None:
        where = f"validated/{predecessor}" + (" (nor the legacy aksversion/1 row)" if lead else "")
        table = runtime.services().settings.version_table
        reason = f"no validated version recorded for {predecessor} ({where} in table {table}); nothing to follow"
        return EnvironmentPlan(environment, "follower", "skipped", reason)
    try:
        ceiling = versions.parse(record.version)
    except ValueError:
        reason = f"version store: {predecessor}'s recorded version {record.version!r} is not a Kubernetes version; no upgrades"
        return EnvironmentPlan(environment, "follower", "failed", reason)
    waiting = gates.soak_problem(record, request.clock, request.min_soak_hours)
    if waiting:
        return EnvironmentPlan(environment, "follower", "skipped", waiting, str(ceiling))
    try:
        clusters = _plan_clusters(environment, role="follower", ceiling=ceiling, clock=request.clock)
    except ArmPermanentError as exc:
        return EnvironmentPlan(environment, "follower", "failed", f"discovery failed: {exc.code}: {exc.arm_message}", str(ceiling))
    plan = EnvironmentPlan(environment, "follower", "ready", None, str(ceiling), clusters)
    plan = _with_current_record(plan, lead=False)
    _log_plan(plan, request.instance_id)
    return plan


def _with_current_record(plan: EnvironmentPlan, *, lead: bool) -> EnvironmentPlan:
    """The plan with its environment's own recorded version, read only when a cluster is already at
    its target (whether the run must health check it depends on it). Unreadable counts as none:
    every such cluster is then checked, the safe side."""
    if not any(c.action == "already-current" for c in plan.clusters):
        return plan
    try:
        record = _validated_record(plan.environment, lead)
    except VersionTableMissingError:
        return plan  # no table yet: no record
    except StoreError as exc:
        logs.event(
            logging.WARNING,
            "cannot read the environment's own record; its clusters at the target are health checked",
            environment=plan.environment,
            error=str(exc),
        )
        return plan
    return replace(plan, current_record=record.version if record is not None else None)


def _log_plan(plan: EnvironmentPlan, instance_id: str | None) -> None:
    for c in plan.clusters:
        logs.event(
            logging.INFO,
            "planned",
            environment=plan.environment,
            cluster_id=c.id,
            instance_id=instance_id,
            action=c.action,
            from_version=c.from_version,
            to_version=c.to_version,
            reason=c.reason,
        )
