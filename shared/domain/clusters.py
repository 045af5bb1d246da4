"""What the rollout knows about a managed cluster, and which clusters a run may touch."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain import versions

SELECTORS = ("tag", "subscription-name")
ENVIRONMENT_TAG = "environment"
OPT_OUT_VALUE = "skip"


@dataclass(frozen=True)
class AvailableVersion:
    """One entry of a cluster's upgrade profile (or the region's version list)."""

    version: versions.KubernetesVersion
    is_preview: bool


@dataclass(frozen=True)
class ClusterSnapshot:
    """A managed cluster as listed by ARM, reduced to what planning needs."""

    id: str
    name: str
    subscription_id: str
    subscription_name: str
    resource_group: str
    location: str
    #: currentKubernetesVersion, falling back to kubernetesVersion (what the cluster runs).
    current_version: str
    provisioning_state: str
    power_state: str
    tags: tuple[tuple[str, str], ...] = ()
    #: kubernetesVersion: what the cluster was last asked to run (differs from current mid-upgrade).
    requested_version: str = ""

    def tag(self, name: str) -> str | None:
        """A tag's value; names match case-insensitively, as ARM treats them."""
        wanted = name.lower()
        return next((value for key, value in self.tags if key.lower() == wanted), None)


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


def ineligibility(cluster: ClusterSnapshot, opt_out_tag: str) -> str | None:
    """Why a selected cluster must not be touched this run, or None when it may be upgraded."""
    if opted_out(cluster, opt_out_tag):
        return f"opted out (tag {opt_out_tag}={cluster.tag(opt_out_tag)})"
    if cluster.power_state.lower() != "running":
        return f"not running (powerState {cluster.power_state or 'unknown'})"
    if cluster.provisioning_state.lower() != "succeeded":
        return f"provisioningState is {cluster.provisioning_state or 'unknown'}, not Succeeded"
    return None
