"""Planning activities: discover an environment's clusters, read what the decisions need, and let
the domain plan each cluster (``UpgradeLeadEnvironment``, ``UpgradeFollowerEnvironment``)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared import logs, runtime
from shared.activities.common import cluster_selection, parallel, parse_time
from shared.domain import clusters as clusters_mod
from shared.domain import gates, planning, versions
from shared.domain.clusters import AvailableVersion, ClusterSnapshot, selected_for
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.records import ValidatedRecord
from shared.errors import ArmPermanentError, StoreError, VersionTableMissingError


def _discover(environment: str) -> list[ClusterSnapshot]:
    svc = runtime.services()
    selector = svc.settings.cluster_selector
    subscriptions = [
        s
        for s in svc.arm.list_subscriptions(svc.settings.subscription_ids)
        if clusters_mod.subscription_may_hold(s.display_name, environment, selector)
    ]
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
            needs_profile = planning.reads_upgrade_profile(cluster, selection=selection, now=clock, role=role, ceiling=ceiling)
            available = svc.arm.upgrade_options(cluster.id) if needs_profile else []
            return planning.plan_cluster(
                cluster,
                available,
                selection=selection,
                now=clock,
                role=role,
                policy=policy,
                ceiling=ceiling,
                region_versions=region_versions.get(cluster.location.lower(), ()),
            )
        except ArmPermanentError as exc:
            return planning.failed(cluster, f"{exc.code}: {exc.arm_message}")
        except ValueError as exc:
            return planning.failed(cluster, f"PlanningError: {exc}")

    return planning.sorted_plans(parallel(plan_one, selected))


def _region_versions(found: list[ClusterSnapshot]) -> dict[str, tuple[AvailableVersion, ...]]:
    """The region's version list, read once per location of the run (not per cluster).

    The lead needs it for every cluster: it says which versions are previews (a cluster running
    one is never recorded) and where the stable policy's newest GA minor is.
    """
    arm = runtime.services().arm
    by_location: dict[str, str] = {}
    for cluster in found:
        by_location.setdefault(cluster.location.lower(), cluster.subscription_id)
    locations = sorted(by_location)

    def read(location: str) -> tuple[AvailableVersion, ...]:
        return tuple(arm.region_versions(by_location[location], location))

    return dict(zip(locations, parallel(read, locations), strict=True))


def plan_lead_environment(payload: dict[str, Any]) -> dict[str, Any]:
    """Discover the lead's clusters and pick each one's newest allowed GA version."""
    environment = payload["environment"]
    try:
        clusters = _plan_clusters(environment, role="lead", ceiling=None, clock=parse_time(payload["clock"]))
    except ArmPermanentError as exc:
        return EnvironmentPlan(environment, "lead", "failed", f"discovery failed: {exc.code}: {exc.arm_message}").to_dict()
    plan = EnvironmentPlan(environment, "lead", "ready", None, planning.lead_target_version(clusters), clusters)
    _log_plan(plan, payload.get("instanceId"))
    return plan.to_dict()


def _predecessor_record(predecessor: str, lead: bool) -> ValidatedRecord | None:
    store = runtime.services().versions
    record = store.read_validated(predecessor)
    if record is None and lead:
        record = store.read_legacy()
    return record


def plan_follower_environment(payload: dict[str, Any]) -> dict[str, Any]:
    """Gate on the predecessor's record (present, readable, soaked), then plan up to its version."""
    environment, predecessor = payload["environment"], payload["predecessor"]
    clock = parse_time(payload["clock"])
    svc = runtime.services()
    lead = predecessor == svc.settings.rollout_plan.lead
    try:
        record = _predecessor_record(predecessor, lead)
    except VersionTableMissingError as exc:
        reason = f"no validated version recorded for {predecessor}: {exc}; nothing to follow"
        return EnvironmentPlan(environment, "follower", "skipped", reason).to_dict()
    except StoreError as exc:
        reason = f"version store: {exc}; no upgrades"
        logs.event(logging.ERROR, "cannot read predecessor record", environment=environment, error=reason)
        return EnvironmentPlan(environment, "follower", "failed", reason).to_dict()
    if record is None:
        where = f"validated/{predecessor}" + (" (nor the legacy aksversion/1 row)" if lead else "")
        reason = f"no validated version recorded for {predecessor} ({where} in table {svc.settings.version_table}); nothing to follow"
        return EnvironmentPlan(environment, "follower", "skipped", reason).to_dict()
    try:
        ceiling = versions.parse(record.version)
    except ValueError:
        reason = f"version store: {predecessor}'s recorded version {record.version!r} is not a Kubernetes version; no upgrades"
        return EnvironmentPlan(environment, "follower", "failed", reason).to_dict()
    waiting = gates.soak_problem(record, clock, float(payload.get("minSoakHours", svc.settings.min_soak_hours)))
    if waiting:
        return EnvironmentPlan(environment, "follower", "skipped", waiting, str(ceiling)).to_dict()
    try:
        clusters = _plan_clusters(environment, role="follower", ceiling=ceiling, clock=clock)
    except ArmPermanentError as exc:
        return EnvironmentPlan(
            environment, "follower", "failed", f"discovery failed: {exc.code}: {exc.arm_message}", str(ceiling)
        ).to_dict()
    plan = EnvironmentPlan(environment, "follower", "ready", None, str(ceiling), clusters)
    _log_plan(plan, payload.get("instanceId"))
    return plan.to_dict()


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
