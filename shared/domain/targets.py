"""Target selection for one cluster: never a preview, never a downgrade, never a skipped minor.

Both roles pick from the control plane's one-hop offers (its upgrade profile, or for the lead the
region's version list; see ``planning.options_source``) plus its current version, filtered again by
the one-hop rule, so a source that lists too much cannot cause a wrong move.

Node pools: a cluster runs the lowest version among its control plane and pools, and no PUT may
move the control plane or any pool more than one minor. So a cluster whose pools lag is capped
at one minor above its lowest pool; when the control plane is already at the target, the upgrade
is the one that brings the lagging pools up to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shared.domain import versions
from shared.domain.clusters import AvailableVersion
from shared.domain.versions import KubernetesVersion

POLICIES = ("latest", "stable", "patch")


@dataclass(frozen=True)
class TargetDecision:
    """What to do with one eligible cluster."""

    action: Literal["upgrade", "already-current", "skipped"]
    target: KubernetesVersion | None
    reason: str | None = None


def reachable(current: KubernetesVersion, available: Sequence[AvailableVersion]) -> list[KubernetesVersion]:
    """GA versions the cluster can move to in one hop, plus where it is now."""
    found = {a.version for a in available if not a.is_preview and versions.is_one_hop(current, a.version)}
    found.add(current)
    return sorted(found)


def newest_ga_minor(region_versions: Sequence[AvailableVersion]) -> tuple[int, int] | None:
    """N for the stable policy: the newest GA minor the region offers."""
    newest = versions.newest(a.version for a in region_versions if not a.is_preview)
    return newest.minor_line if newest else None


def policy_ceiling(
    current: KubernetesVersion,
    policy: str,
    region_versions: Sequence[AvailableVersion] = (),
) -> tuple[int, int] | None:
    """The highest minor line a policy allows; None means no cap beyond one hop (``latest``)."""
    if policy == "latest":
        return None
    if policy == "patch":
        return current.minor_line
    if policy == "stable":
        newest = newest_ga_minor(region_versions)
        if newest is None:
            raise ValueError("the stable policy needs the region's version list, and it lists no GA version")
        return (newest[0], newest[1] - 1)
    raise ValueError(f"unknown target policy {policy!r}")


def pool_cap(control_plane: KubernetesVersion, lowest: KubernetesVersion | None) -> tuple[int, int] | str:
    """The highest minor line any target may have: one above the lowest pool's.

    Returns a reason instead when the control plane is already more than one minor above its
    lowest pool: a managed-cluster PUT can only leave a pool where it is or move it to the
    control plane's version, which would be a move of two minors or more.
    """
    low = lowest if lowest is not None else control_plane
    cap = (low.major, low.minor + 1)
    if control_plane.minor_line > cap:
        return (
            f"a node pool runs {low}, more than one minor below the control plane's {control_plane}: "
            "bring that pool up first (az aks nodepool upgrade)"
        )
    return cap


def _settle(current: KubernetesVersion, lowest: KubernetesVersion | None, target: KubernetesVersion) -> TargetDecision:
    """Upgrade to ``target``, or, when the control plane is already there, bring the pools up to it."""
    if target != current:
        return TargetDecision("upgrade", target)
    if lowest is not None and lowest < current:
        return TargetDecision("upgrade", current, f"node pools at {lowest} are brought up to the control plane's {current}")
    return TargetDecision("already-current", current)


def lead_target(
    current: KubernetesVersion,
    available: Sequence[AvailableVersion],
    policy: str,
    region_versions: Sequence[AvailableVersion] = (),
    *,
    lowest: KubernetesVersion | None = None,
) -> TargetDecision:
    """The lead's choice: the newest GA version the policy allows within one hop.

    ``current`` is the control plane's version; ``lowest`` the lowest of the cluster's pools and
    control plane when a pool lags (None when none does).
    """
    ceiling = policy_ceiling(current, policy, region_versions)
    if ceiling is not None and current.minor_line > ceiling:
        return TargetDecision("skipped", None, f"above target: runs {current}, {policy} policy allows up to {ceiling[0]}.{ceiling[1]}.x")
    cap = pool_cap(current, lowest)
    if isinstance(cap, str):
        return TargetDecision("skipped", None, cap)
    candidates = [v for v in reachable(current, available) if (ceiling is None or v.minor_line <= ceiling) and v.minor_line <= cap]
    return _settle(current, lowest, max(candidates))


def follower_target(
    current: KubernetesVersion,
    available: Sequence[AvailableVersion],
    ceiling: KubernetesVersion,
    *,
    lowest: KubernetesVersion | None = None,
) -> TargetDecision:
    """The follower's choice: the highest reachable version not above the predecessor's record.

    A cluster two minors behind moves one minor toward the ceiling this week.
    """
    if current > ceiling:
        return TargetDecision("skipped", None, f"above target: runs {current}, the validated version is {ceiling}")
    cap = pool_cap(current, lowest)
    if isinstance(cap, str):
        return TargetDecision("skipped", None, cap)
    target = max(v for v in reachable(current, available) if v <= ceiling and v.minor_line <= cap)
    decision = _settle(current, lowest, target)
    if decision.action == "already-current" and current != ceiling:
        return TargetDecision("skipped", None, f"no upgrade toward {ceiling} is offered for {current} (upgrade profile)")
    return decision
