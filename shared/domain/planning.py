"""An environment's plan for one run: per-cluster decisions and the gates before any upgrade.

The planning activities (lead and follower) gather facts from ARM and the version store, then
call these functions; the orchestrator receives the resulting plan as plain JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shared.domain import clusters as clusters_mod
from shared.domain import targets, versions
from shared.domain.clusters import AvailableVersion, ClusterSnapshot

ACTIONS = ("upgrade", "already-current", "skipped", "failed")


@dataclass(frozen=True)
class ClusterPlan:
    """The decision for one selected cluster, and where to find it in ARM."""

    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    from_version: str | None
    to_version: str | None
    action: str  # one of ACTIONS
    reason: str | None = None
    #: Selected, not opted out, Running and Succeeded when planned (ARCHITECTURE.md "Eligible
    #: cluster"). An eligible cluster may still be skipped ("above target", no upgrade offered);
    #: it then counts for the record with the version it runs.
    #: Defaults to "not skipped"; planning passes True for eligible clusters it leaves alone.
    eligible: bool | None = None

    def __post_init__(self) -> None:
        if self.eligible is None:
            object.__setattr__(self, "eligible", self.action != "skipped")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "subscriptionId": self.subscription_id,
            "resourceGroup": self.resource_group,
            "location": self.location,
            "from": self.from_version,
            "to": self.to_version,
            "action": self.action,
            "reason": self.reason,
            "eligible": self.eligible,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterPlan:
        return cls(
            id=data["id"],
            name=data["name"],
            subscription_id=data["subscriptionId"],
            resource_group=data["resourceGroup"],
            location=data["location"],
            from_version=data.get("from"),
            to_version=data.get("to"),
            action=data["action"],
            reason=data.get("reason"),
            eligible=data.get("eligible"),
        )


@dataclass(frozen=True)
class EnvironmentPlan:
    """What one run will do in one environment."""

    environment: str
    role: str  # "lead" | "follower"
    status: str  # "ready" | "skipped" | "failed"
    reason: str | None = None
    #: Follower: the predecessor's recorded version. Lead: the highest of its clusters' targets.
    target_version: str | None = None
    clusters: tuple[ClusterPlan, ...] = field(default_factory=tuple)

    @property
    def to_upgrade(self) -> tuple[ClusterPlan, ...]:
        return tuple(c for c in self.clusters if c.action == "upgrade")

    @property
    def has_eligible(self) -> bool:
        return any(c.eligible for c in self.clusters)

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "role": self.role,
            "status": self.status,
            "reason": self.reason,
            "targetVersion": self.target_version,
            "clusters": [c.to_dict() for c in self.clusters],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnvironmentPlan:
        return cls(
            environment=data["environment"],
            role=data["role"],
            status=data["status"],
            reason=data.get("reason"),
            target_version=data.get("targetVersion"),
            clusters=tuple(ClusterPlan.from_dict(c) for c in data.get("clusters", [])),
        )


def _base(cluster: ClusterSnapshot, action: str, to: str | None, reason: str | None, eligible: bool) -> ClusterPlan:
    return ClusterPlan(
        id=cluster.id,
        name=cluster.name,
        subscription_id=cluster.subscription_id,
        resource_group=cluster.resource_group,
        location=cluster.location,
        from_version=cluster.current_version or None,
        to_version=to,
        action=action,
        reason=reason,
        eligible=eligible,
    )


def skipped(cluster: ClusterSnapshot, reason: str) -> ClusterPlan:
    """An ineligible cluster (opted out, stopped, busy): reported, never counted, never touched."""
    return _base(cluster, "skipped", None, reason, eligible=False)


def failed(cluster: ClusterSnapshot, reason: str) -> ClusterPlan:
    return _base(cluster, "failed", None, reason, eligible=True)


def decide_cluster(
    cluster: ClusterSnapshot,
    available: Sequence[AvailableVersion],
    *,
    role: str,
    policy: str = "latest",
    ceiling: versions.KubernetesVersion | None = None,
    region_versions: Sequence[AvailableVersion] = (),
) -> ClusterPlan:
    """Decide one eligible cluster's move (lead by policy, follower capped at ``ceiling``)."""
    try:
        current = versions.parse(cluster.current_version)
    except ValueError:
        return failed(cluster, f"InvalidClusterVersion: currentKubernetesVersion {cluster.current_version!r} is not a version")
    if role == "lead":
        decision = targets.lead_target(current, available, policy, region_versions)
    else:
        if ceiling is None:
            raise ValueError("a follower needs its predecessor's validated version")
        decision = targets.follower_target(current, available, ceiling)
    target = str(decision.target) if decision.target is not None else None
    return _base(cluster, decision.action, target, decision.reason, eligible=True)


def needs_upgrade_profile(cluster: ClusterSnapshot, *, role: str, ceiling: versions.KubernetesVersion | None) -> bool:
    """Whether deciding this cluster depends on its upgrade profile at all.

    A follower cluster at or above the predecessor's version is ``already-current`` or ``above
    target`` whatever its profile lists, and a cluster whose version cannot be read fails before
    any option matters. Skipping those reads keeps a quiet week (most followers already current)
    at one request per subscription instead of one per cluster.
    """
    try:
        current = versions.parse(cluster.current_version)
    except ValueError:
        return False
    return role == "lead" or ceiling is None or current < ceiling


IN_FLIGHT_STATES = ("upgrading", "updating")


def resumable(
    cluster: ClusterSnapshot,
    available: Sequence[AvailableVersion],
    *,
    role: str,
    policy: str = "latest",
    ceiling: versions.KubernetesVersion | None = None,
    region_versions: Sequence[AvailableVersion] = (),
) -> ClusterPlan | None:
    """A cluster already upgrading to exactly the version this run would choose (a re-run after a
    crash between PUT and record): plan it as an upgrade, so the run resumes monitoring it instead
    of skipping it as busy. Any other in-flight upgrade is someone else's and stays skipped."""
    if cluster.provisioning_state.lower() not in IN_FLIGHT_STATES or not cluster.requested_version:
        return None
    if cluster.requested_version == cluster.current_version:
        return None
    settled = replace(cluster, provisioning_state="Succeeded", power_state="Running")
    plan = decide_cluster(settled, available, role=role, policy=policy, ceiling=ceiling, region_versions=region_versions)
    if plan.action == "upgrade" and plan.to_version == cluster.requested_version:
        return replace(plan, reason=f"resuming: an upgrade to {plan.to_version} is already running")
    return None


def classify(cluster: ClusterSnapshot, opt_out_tag: str) -> str | None:
    """Why a selected cluster is skipped before planning (opt-out, stopped, busy), or None."""
    return clusters_mod.ineligibility(cluster, opt_out_tag)


def lead_target_version(plans: Sequence[ClusterPlan]) -> str | None:
    """The lead's targetVersion: the highest of its eligible clusters' targets."""
    found = [versions.parse(p.to_version) for p in plans if p.action in ("upgrade", "already-current") and p.to_version]
    newest = versions.newest(found)
    return str(newest) if newest else None


def sorted_plans(plans: Sequence[ClusterPlan]) -> tuple[ClusterPlan, ...]:
    """Stable, readable order (by cluster id) so results and PUT order do not depend on ARM's paging."""
    return tuple(sorted(plans, key=lambda p: p.id.lower()))


def with_reason(plan: ClusterPlan, reason: str) -> ClusterPlan:
    return replace(plan, reason=reason)
