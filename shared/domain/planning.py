"""An environment's plan for one run: per-cluster decisions and the gates before any upgrade.

The planning activities (lead and follower) gather facts from ARM and the version store, then
call these functions; the orchestrator receives the resulting plan as plain JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, get_args

from shared.domain import clusters as clusters_mod
from shared.domain import findings as findings_mod
from shared.domain import targets, versions
from shared.domain.clusters import OFFICIAL_SUPPORT_PLAN, AvailableVersion, ClusterSnapshot, RegionVersion, Selection
from shared.domain.literals import one_of
from shared.domain.rollout import Role

#: What a run does with one selected cluster.
Action = Literal["upgrade", "already-current", "skipped", "failed"]
ACTIONS: tuple[Action, ...] = get_args(Action)
#: ``ready``: upgrade the clusters as planned; ``skipped``/``failed``: upgrade nothing, say why.
PlanStatus = Literal["ready", "skipped", "failed"]
#: Where one cluster's upgrade options come from (see :class:`OptionsSource`).
OptionsKind = Literal["none", "region-list", "upgrade-profile"]


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
    action: Action
    reason: str | None = None
    #: Selected, not opted out, Running and Succeeded when planned (docs/architecture.md,
    #: "Eligibility"). An eligible cluster may still be skipped ("above target", no upgrade offered);
    #: it then counts for the record with the version it runs.
    #: Defaults to "not skipped"; planning passes True for eligible clusters it leaves alone.
    eligible: bool | None = None
    #: The subscription's display name (the subscription-name selector re-checks it before a PUT).
    subscription_name: str = ""
    #: Pre-flight findings (domain.findings): what an operator should know; carried as reasons.
    findings: tuple[str, ...] = ()

    @property
    def notes(self) -> str | None:
        """The findings as one reason, for an outcome that has none of its own."""
        return "; ".join(self.findings) or None

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
            "subscriptionName": self.subscription_name,
            "findings": list(self.findings),
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
            action=one_of(data["action"], Action, "action"),
            reason=data.get("reason"),
            eligible=data.get("eligible"),
            subscription_name=data.get("subscriptionName", ""),
            findings=tuple(data.get("findings", ())),
        )


@dataclass(frozen=True)
class EnvironmentPlan:
    """What one run will do in one environment."""

    environment: str
    role: Role
    status: PlanStatus
    reason: str | None = None
    #: Follower: the predecessor's recorded version. Lead: the highest of its clusters' targets.
    target_version: str | None = None
    clusters: tuple[ClusterPlan, ...] = field(default_factory=tuple)
    #: The environment's own validated version when it planned (None: no record, or not readable).
    current_record: str | None = None
    #: The rules the run follows (``PROTOCOL``); see there.
    protocol: int = field(default_factory=lambda: PROTOCOL)

    @property
    def checks_already_current(self) -> bool:
        """Clusters found already at the target are health checked before they count (protocol 2)."""
        return self.protocol >= 2

    @property
    def to_upgrade(self) -> tuple[ClusterPlan, ...]:
        return tuple(c for c in self.clusters if c.action == "upgrade")

    @property
    def to_recheck(self) -> tuple[ClusterPlan, ...]:
        """Eligible clusters already at a target above the environment's record (or with no record):
        the run would promote that version on their word, so the health gate checks them first (a
        re-run after a failed health check must not record what that check refused). A quiet week,
        whose clusters run the recorded version, checks nothing; nor do clusters on a version below
        the record (a lead on mixed minors): they add no version the record does not hold yet."""
        if not self.checks_already_current:
            return ()
        return tuple(c for c in self.clusters if c.eligible and c.action == "already-current" and self._above_record(c.to_version))

    def _above_record(self, version: str | None) -> bool:
        if self.current_record is None or version is None:
            return True
        try:
            return versions.parse(version) > versions.parse(self.current_record)
        except ValueError:
            return True  # a version that does not parse is never taken on trust: check it

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
            "currentRecord": self.current_record,
            "protocol": self.protocol,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnvironmentPlan:
        return cls(
            environment=data["environment"],
            role=one_of(data["role"], Role, "role"),
            status=one_of(data["status"], PlanStatus, "status"),
            reason=data.get("reason"),
            target_version=data.get("targetVersion"),
            clusters=tuple(ClusterPlan.from_dict(c) for c in data.get("clusters", [])),
            current_record=data.get("currentRecord"),
            protocol=_protocol(data.get("protocol", 1)),
        )


#: The rules a run follows, stamped on its plan by the planning activity, so that a run already
#: under way when the app is deployed again replays the history it wrote with the rules that
#: wrote it (an orchestrator's replay must schedule exactly what its history holds):
#:
#: 1. a plan with no ``protocol`` key, from the release before 2: already-current clusters count
#:    without a health check, and an approval is one decision read after the Slack message;
#: 2. already-current clusters are health checked before they count; the approval wait opens with
#:    the awaiting-approval status, every decision raised meanwhile is read, and an approved run
#:    listens for a late reject while it upgrades.
#:
#: A run planned after the deploy follows the newest. Raise it with any change to what the
#: orchestrator schedules, and keep the older rules until no run under them can be in flight.
PROTOCOL = 2


def _protocol(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= PROTOCOL:
        raise ValueError(f"plan protocol must be a whole number 1..{PROTOCOL}, not {value!r}")
    return value


def _base(cluster: ClusterSnapshot, action: Action, to: str | None, reason: str | None, eligible: bool) -> ClusterPlan:
    return ClusterPlan(
        id=cluster.id,
        name=cluster.name,
        subscription_id=cluster.subscription_id,
        resource_group=cluster.resource_group,
        location=cluster.location,
        from_version=cluster.runs or None,
        to_version=to,
        action=action,
        reason=reason,
        eligible=eligible,
        subscription_name=cluster.subscription_name,
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
    region_versions: Sequence[AvailableVersion] | None = None,
) -> ClusterPlan:
    """Decide one eligible cluster's move (lead by policy, follower capped at ``ceiling``).

    The control plane's version is where one-hop options start; the lowest version among the
    control plane and its pools is what the cluster runs (its ``from``, the one-minor cap, and
    "already current"). A cluster on a version the region lists only as a preview is left alone
    and kept out of the record: a preview is never validated.
    """
    try:
        control_plane = versions.parse(cluster.control_plane_version)
        pools = [versions.parse(p.current_version) for p in cluster.node_pools]
    except ValueError:
        texts = [cluster.control_plane_version, *(p.current_version for p in cluster.node_pools)]
        bad = next(t for t in texts if not versions.is_version(t))
        return failed(cluster, f"InvalidClusterVersion: the cluster reports version {bad!r}, which is not a Kubernetes version")
    lowest = min([control_plane, *pools])
    if region_versions is not None:
        doubt = runs_not_known_ga(cluster, region_versions)
        if doubt is not None:
            return skipped(cluster, doubt)
        available = [a for a in available if not_known_ga(region_versions, a.version) is None]
    lagging = lowest if lowest < control_plane else None
    if role == "lead":
        decision = targets.lead_target(control_plane, available, policy, region_versions or (), lowest=lagging)
    else:
        if ceiling is None:
            raise ValueError("a follower needs its predecessor's validated version")
        decision = targets.follower_target(control_plane, available, ceiling, lowest=lagging)
    target = str(decision.target) if decision.target is not None else None
    return _base(cluster, decision.action, target, decision.reason, eligible=True)


def runs_not_known_ga(cluster: ClusterSnapshot, region_versions: Sequence[AvailableVersion] | None) -> str | None:
    """Why the cluster's control plane or a pool runs a version the region's list does not vouch
    for as GA (the highest such part first), or None: such a cluster is never upgraded from."""
    if region_versions is None:
        return None
    try:
        parts = {versions.parse(cluster.control_plane_version), *(versions.parse(p.current_version) for p in cluster.node_pools)}
    except ValueError:
        return None
    for part in sorted(parts, reverse=True):
        doubt = not_known_ga(region_versions, part)
        if doubt is not None:
            return doubt
    return None


def not_known_ga(region_versions: Sequence[AvailableVersion], version: versions.KubernetesVersion) -> str | None:
    """Why the region's version list does not vouch for ``version`` being GA (a skip reason), or
    None when it does.

    The list flags previews per minor, so a patch counts as preview when its minor does, listed
    or not. A minor above the newest GA minor the region lists (or any version, when it lists
    no GA at all) is not known to be GA either: an unlisted preview patch must not pass as GA.
    A minor below that is an older GA line the region no longer offers.
    """
    minors: dict[tuple[int, int], bool] = {}
    for entry in region_versions:
        line = entry.version.minor_line
        minors[line] = minors.get(line, True) and entry.is_preview
    if minors.get(version.minor_line) is True:
        return f"runs preview {version}: a preview is never upgraded from or recorded"
    unknown = "a version not known to be GA is never upgraded from or recorded"
    newest_ga = max((line for line, preview in minors.items() if not preview), default=None)
    if newest_ga is None:
        return f"runs {version}, and the region's version list vouches for no GA version: {unknown}"
    if version.minor_line > newest_ga:
        return f"runs {version}, above every GA minor the region lists: {unknown}"
    return None


def needs_upgrade_profile(cluster: ClusterSnapshot, *, role: str, ceiling: versions.KubernetesVersion | None) -> bool:
    """Whether deciding this cluster depends on its upgrade profile at all.

    A follower cluster at or above the predecessor's version is ``already-current`` or ``above
    target`` whatever its profile lists, and a cluster whose version cannot be read fails before
    any option matters. Skipping those reads keeps a quiet week (most followers already current)
    at one request per subscription instead of one per cluster.
    """
    try:
        control_plane = versions.parse(cluster.control_plane_version)
    except ValueError:
        return False
    # A control plane at or above the ceiling needs no option from the profile: it is above
    # target, already current, or has only lagging pools to bring up to its own version.
    return role == "lead" or ceiling is None or control_plane < ceiling


def plan_cluster(
    cluster: ClusterSnapshot,
    available: Sequence[AvailableVersion],
    *,
    selection: Selection,
    now: datetime,
    role: str,
    policy: str = "latest",
    ceiling: versions.KubernetesVersion | None = None,
    region_versions: Sequence[AvailableVersion] | None = None,
) -> ClusterPlan:
    """One selected cluster's plan: skipped with the reason it is not eligible, resumed when an
    upgrade to exactly this run's target already runs, otherwise decided by role and policy."""
    found = findings_mod.of_cluster(cluster, selection, now)
    preview = runs_not_known_ga(cluster, region_versions)
    if preview is not None:
        found = (*found, preview)
    veto = clusters_mod.owner_veto(cluster, selection, now)
    if veto is not None:
        return replace(skipped(cluster, veto), findings=found)
    busy = clusters_mod.state_veto(cluster)
    if busy is not None:
        resumed = resumable(cluster, available, role=role, policy=policy, ceiling=ceiling, region_versions=region_versions)
        return replace(resumed or skipped(cluster, busy), findings=found)
    plan = decide_cluster(cluster, available, role=role, policy=policy, ceiling=ceiling, region_versions=region_versions)
    return replace(plan, findings=found)


def reads_upgrade_profile(
    cluster: ClusterSnapshot, *, selection: Selection, now: datetime, role: str, ceiling: versions.KubernetesVersion | None
) -> bool:
    """Whether :func:`plan_cluster` can depend on this cluster's upgrade profile at all.

    A cluster its owners rule out, or one that is neither eligible nor possibly resumable, is
    skipped whatever its profile lists, so its profile is never read.
    """
    if clusters_mod.owner_veto(cluster, selection, now):
        return False
    if clusters_mod.state_veto(cluster) is not None and not _may_resume(cluster):
        return False
    return needs_upgrade_profile(cluster, role=role, ceiling=ceiling)


@dataclass(frozen=True)
class OptionsSource:
    """Where planning takes one cluster's one-hop upgrade options from, decided before any read.

    ``none``: the decision cannot depend on them (the cluster is skipped whatever they are, or a
    follower already runs the validated version or more); ``region-list``: ``offers``, taken from
    the region's version list that the run reads once per location; ``upgrade-profile``: the
    cluster's own upgrade profile, one GET for this cluster.
    """

    kind: OptionsKind
    offers: tuple[AvailableVersion, ...] = ()


def options_source(
    cluster: ClusterSnapshot,
    *,
    selection: Selection,
    now: datetime,
    role: str,
    ceiling: versions.KubernetesVersion | None,
    region_versions: Sequence[AvailableVersion] | None,
) -> OptionsSource:
    """Which read (if any) one cluster's plan needs.

    Only the lead plans from the region's version list (its options are the newest it can reach;
    a follower's are capped by the predecessor and read from its own profile, and only when it is
    below the validated version). Whichever source is used, ARM validates the PUT itself.
    """
    if not reads_upgrade_profile(cluster, selection=selection, now=now, role=role, ceiling=ceiling):
        return OptionsSource("none")
    if role == "lead" and region_versions is not None:
        offers = region_offers(cluster, region_versions)
        if offers is not None:
            return OptionsSource("region-list", offers)
    return OptionsSource("upgrade-profile")


def region_offers(cluster: ClusterSnapshot, region_versions: Sequence[AvailableVersion]) -> tuple[AvailableVersion, ...] | None:
    """The control plane's one-hop upgrades as the region's version list names them, or None when
    the list cannot stand in for the cluster's own upgrade profile.

    It can for a cluster on the KubernetesOfficial support plan whose control plane runs a patch
    that the list names, under that plan: AKS offers such a cluster the upgrades its region lists
    for that patch. An empty support plan is not taken for KubernetesOfficial: the published
    managed-cluster examples leave the field out, so its absence says nothing about the plan (a
    cluster on long-term support read through an API version older than the field shows none
    either), and such a cluster reads its own profile. An offer is a preview when the list marks
    its minor one, or does not list its minor at all.
    """
    if cluster.support_plan.lower() != OFFICIAL_SUPPORT_PLAN.lower():
        return None
    try:
        control_plane = versions.parse(cluster.control_plane_version)
    except ValueError:
        return None
    listed = next((e for e in region_versions if isinstance(e, RegionVersion) and e.version == control_plane), None)
    if listed is None or not listed.offered_under(OFFICIAL_SUPPORT_PLAN):
        return None
    preview_minors: dict[tuple[int, int], bool] = {}
    for entry in region_versions:
        line = entry.version.minor_line
        preview_minors[line] = preview_minors.get(line, True) and entry.is_preview
    return tuple(AvailableVersion(v, preview_minors.get(v.minor_line, True)) for v in listed.upgrades)


def _may_resume(cluster: ClusterSnapshot) -> bool:
    return clusters_mod.upgrading_to(cluster) is not None


def resumable(
    cluster: ClusterSnapshot,
    available: Sequence[AvailableVersion],
    *,
    role: str,
    policy: str = "latest",
    ceiling: versions.KubernetesVersion | None = None,
    region_versions: Sequence[AvailableVersion] | None = None,
) -> ClusterPlan | None:
    """A cluster already upgrading to exactly the version this run would choose (a re-run after a
    crash between PUT and record): plan it as an upgrade, so the run resumes monitoring it instead
    of skipping it as busy. Any other in-flight upgrade is someone else's and stays skipped."""
    if not _may_resume(cluster):
        return None
    settled = replace(cluster, provisioning_state="Succeeded", power_state="Running")
    plan = decide_cluster(settled, available, role=role, policy=policy, ceiling=ceiling, region_versions=region_versions)
    if plan.action == "upgrade" and plan.to_version == clusters_mod.upgrading_to(cluster):
        return replace(plan, reason=f"resuming: an upgrade to {plan.to_version} is already running")
    return None


def lead_target_version(plans: Sequence[ClusterPlan]) -> str | None:
    """The lead's targetVersion: the highest of its eligible clusters' targets."""
    found = [versions.parse(p.to_version) for p in plans if p.action in ("upgrade", "already-current") and p.to_version]
    newest = versions.newest(found)
    return str(newest) if newest else None


def sorted_plans(plans: Sequence[ClusterPlan]) -> tuple[ClusterPlan, ...]:
    """Stable, readable order (by cluster id) so results and PUT order do not depend on ARM's paging."""
    return tuple(sorted(plans, key=lambda p: p.id.lower()))
