"""What the rollout knows about a managed cluster, and which clusters a run may touch.

The same eligibility rules run twice for every upgrade: when the run plans, and again on the
fresh GET just before the PUT (a cluster may be opted out, re-tagged, stopped or given a
forceUpgrade override while it waits for a free slot). Both ask :func:`owner_veto` and
:func:`state_veto`; planning alone lets an upgrade already under way be resumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain import dates, versions

SELECTORS = ("tag", "subscription-name")
ENVIRONMENT_TAG = "environment"
OPT_OUT_VALUE = "skip"


@dataclass(frozen=True)
class AvailableVersion:
    """One entry of a cluster's upgrade profile (or the region's version list)."""

    version: versions.KubernetesVersion
    is_preview: bool


#: AKS's standard support plan. The region's version list describes the one-hop upgrades of this
#: plan; a cluster on another plan (AKSLongTermSupport) may be offered other paths by its own profile.
OFFICIAL_SUPPORT_PLAN = "KubernetesOfficial"


@dataclass(frozen=True)
class RegionVersion(AvailableVersion):
    """One patch of the region's version list (``locations/{location}/kubernetesVersions``).

    Besides the version and its minor's preview flag: the versions a control plane on this patch
    reaches in one hop (the list's ``upgrades``) and the support plans its minor is offered under
    (``capabilities.supportPlan``). Empty when the list did not say.
    """

    upgrades: tuple[versions.KubernetesVersion, ...] = ()
    support_plans: tuple[str, ...] = ()

    def offered_under(self, plan: str) -> bool:
        """Whether the list names ``plan`` (any case) among this minor's support plans."""
        return plan.lower() in (p.lower() for p in self.support_plans)


@dataclass(frozen=True)
class NodePool:
    """One agent pool of a managed cluster, as far as versions go."""

    name: str
    #: currentOrchestratorVersion (the patch its nodes run), falling back to orchestratorVersion.
    current_version: str
    #: orchestratorVersion as the owner set it; may be a minor alias such as "1.30".
    requested_version: str = ""


@dataclass(frozen=True)
class ForceUpgradeOverride:
    """``upgradeSettings.overrideSettings``: an operator's request that upgrades bypass AKS's
    deprecated-API and PodDisruptionBudget safeguards, effective for upgrades that start before
    ``until`` (raw ISO 8601 text as ARM returned it; None when it was not set)."""

    force_upgrade: bool
    until: str | None = None


@dataclass(frozen=True)
class ClusterSnapshot:
    """A managed cluster as ARM returns it (list or GET), reduced to what the decisions need."""

    id: str
    name: str
    subscription_id: str
    subscription_name: str
    resource_group: str
    location: str
    #: The control plane's currentKubernetesVersion, falling back to kubernetesVersion.
    control_plane_version: str
    provisioning_state: str
    power_state: str
    tags: tuple[tuple[str, str], ...] = ()
    #: kubernetesVersion: what the cluster was last asked to run (differs from current mid-upgrade).
    requested_version: str = ""
    node_pools: tuple[NodePool, ...] = ()
    #: properties.supportPlan (KubernetesOfficial, AKSLongTermSupport); "" when ARM did not say.
    support_plan: str = ""
    override: ForceUpgradeOverride | None = None
    #: autoUpgradeProfile.upgradeChannel: none, patch, stable, rapid, node-image ("" when absent).
    auto_upgrade_channel: str = ""

    def tag(self, name: str) -> str | None:
        """A tag's value; names match case-insensitively, as ARM treats them."""
        wanted = name.lower()
        return next((value for key, value in self.tags if key.lower() == wanted), None)

    @property
    def runs(self) -> str:
        """The version the cluster runs: the lowest of its control plane and node pools.

        A cluster whose control plane is at 1.31 while a pool still runs 1.30 is a 1.30 cluster
        for every decision (targets, "already current", the record). Unreadable versions are
        left to the caller: when any version cannot be parsed, the control plane's text is given.
        """
        texts = [self.control_plane_version, *(p.current_version for p in self.node_pools)]
        try:
            parsed = [versions.parse(t) for t in texts]
        except ValueError:
            return self.control_plane_version
        return str(min(parsed))


@dataclass(frozen=True)
class Selection:
    """How a run picks and respects its clusters (CLUSTER_SELECTOR, OPT_OUT_TAG) for one environment."""

    environment: str
    selector: str
    opt_out_tag: str


def selected_for(cluster: ClusterSnapshot, environment: str, selector: str) -> bool:
    """Whether ``cluster`` belongs to ``environment`` under CLUSTER_SELECTOR."""
    if selector == "tag":
        value = cluster.tag(ENVIRONMENT_TAG)
        return value is not None and value.strip().lower() == environment.lower()
    if selector == "subscription-name":
        return subscription_may_hold(cluster.subscription_name, environment, selector)
    raise ValueError(f"unknown cluster selector {selector!r}")


def subscription_may_hold(subscription_name: str, environment: str, selector: str) -> bool:
    """Whether a subscription can hold any of ``environment``'s clusters, judged by its name alone.

    Under the subscription-name selector a subscription whose name lacks the environment holds
    none of them, so its cluster list is one ARM request for nothing; under the tag selector any
    subscription may.
    """
    if selector == "subscription-name":
        return environment.lower() in subscription_name.lower()
    return True


def opted_out(cluster: ClusterSnapshot, opt_out_tag: str) -> bool:
    """The cluster carries ``<opt_out_tag>=skip`` (any case): never touch it."""
    value = cluster.tag(opt_out_tag)
    return value is not None and value.strip().lower() == OPT_OUT_VALUE


def override_problem(cluster: ClusterSnapshot, now: datetime) -> str | None:
    """Why an operator's forceUpgrade override forbids an unattended upgrade now, or None.

    An upgrade that starts while ``forceUpgrade`` is effective skips AKS's checks for deprecated
    API use and PodDisruptionBudgets. The conductor never starts one, and never clears the
    operator's setting either: it skips the cluster until the override has ended.

    AKS applies an override only when ``until`` is set ("it must be set for the overrides to take
    effect") and only to upgrades that start before it, so an override without an end has no
    effect and does not hold the cluster back. ARM writes UTC; an ``until`` without an offset is
    read as UTC, and one we cannot read at all is treated as effective (the stricter reading).
    """
    override = cluster.override
    if override is None or not override.force_upgrade or not override.until:
        return None
    try:
        until = dates.parse_utc_instant(override.until, naive_means_utc=True)
    except ValueError as exc:
        return f"upgradeSettings.overrideSettings.forceUpgrade is true until an end that cannot be read ({exc})"
    if until <= now:
        return None
    return f"upgradeSettings.overrideSettings.forceUpgrade is true until {until.isoformat()}"


def owner_veto(cluster: ClusterSnapshot, selection: Selection, now: datetime) -> str | None:
    """Why the cluster's owners rule this run out, or None: not selected for ``environment``,
    opted out, or under a forceUpgrade override. These hold whatever the cluster is doing."""
    environment = selection.environment
    if not selected_for(cluster, environment, selection.selector):
        if selection.selector == "tag":
            return f"not selected for {environment}: tag {ENVIRONMENT_TAG}={cluster.tag(ENVIRONMENT_TAG)}"
        return f"not selected for {environment}: subscription {cluster.subscription_name!r}"
    if opted_out(cluster, selection.opt_out_tag):
        return f"opted out (tag {selection.opt_out_tag}={cluster.tag(selection.opt_out_tag)})"
    override = override_problem(cluster, now)
    if override is not None:
        return f"operator override: {override}; upgrades wait until it ends"
    return channel_problem(cluster)


#: AKS auto-upgrade channels that move a cluster's Kubernetes version on their own.
VERSION_CHANNELS = ("patch", "stable", "rapid")


def channel_problem(cluster: ClusterSnapshot) -> str | None:
    """A cluster on its own version auto-upgrade channel moves by itself: the order cannot hold for it."""
    if cluster.auto_upgrade_channel.lower() not in VERSION_CHANNELS:
        return None
    return (
        f"its own AKS auto-upgrade channel is {cluster.auto_upgrade_channel!r}: AKS moves it on its own, "
        "so the environment order cannot hold for it (set the channel to none or node-image)"
    )


#: provisioningState values AKS shows while a version change runs (an upgrade PUT is an update).
UPGRADING_STATES = ("upgrading", "updating")


def upgrading_to(cluster: ClusterSnapshot) -> str | None:
    """The version an upgrade in progress is moving the whole cluster to, or None.

    The cluster is upgrading or updating (not deleting, stopping, ...) and its spec asks for more than it
    runs: ``kubernetesVersion`` differs from the control plane's current version, or a pool's
    ``orchestratorVersion`` from its current one; and every pool not yet at ``kubernetesVersion``
    is asked for exactly that, so that when the operation ends the whole cluster runs it. This
    is what this app's own PUT leaves behind (also a pool-only one), so a re-run or a retried
    start joins it instead of sending it again. Anything else in flight is someone else's work.
    """
    wanted = cluster.requested_version
    if cluster.provisioning_state.lower() not in UPGRADING_STATES or not wanted:
        return None
    pools_behind = [p for p in cluster.node_pools if p.current_version != wanted]
    asks_more = wanted != cluster.control_plane_version or any(p.requested_version != p.current_version for p in cluster.node_pools)
    if asks_more and all(p.requested_version == wanted for p in pools_behind):
        return wanted
    return None


def state_veto(cluster: ClusterSnapshot) -> str | None:
    """Why the cluster's state rules an upgrade out, or None: it must be Running and Succeeded.

    An absent power state (older API versions and the REST API examples omit it) counts as "not
    known to be running": the cluster is skipped rather than upgraded blind.
    """
    if cluster.power_state.lower() != "running":
        return f"not running (powerState {cluster.power_state or 'not reported'})"
    if cluster.provisioning_state.lower() != "succeeded":
        return f"provisioningState is {cluster.provisioning_state or 'unknown'}, not Succeeded"
    return None
