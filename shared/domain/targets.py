"""Target selection for one cluster: never a preview, never a downgrade, never a skipped minor.

Both roles pick from what the cluster's upgrade profile offers (plus its current version),
filtered again by the one-hop rule, so a profile that lists too much cannot cause a wrong move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.domain import versions
from shared.domain.clusters import AvailableVersion
from shared.domain.versions import KubernetesVersion

POLICIES = ("latest", "stable", "patch")


@dataclass(frozen=True)
class TargetDecision:
    """What to do with one eligible cluster."""

    action: str  # "upgrade" | "already-current" | "skipped"
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


def lead_target(
    current: KubernetesVersion,
    available: Sequence[AvailableVersion],
    policy: str,
    region_versions: Sequence[AvailableVersion] = (),
) -> TargetDecision:
    """The lead's choice: the newest GA version the policy allows within one hop."""
    ceiling = policy_ceiling(current, policy, region_versions)
    if ceiling is not None and current.minor_line > ceiling:
        return TargetDecision("skipped", None, f"above target: runs {current}, {policy} policy allows up to {ceiling[0]}.{ceiling[1]}.x")
    candidates = [v for v in reachable(current, available) if ceiling is None or v.minor_line <= ceiling]
    target = max(candidates)
    if target == current:
        return TargetDecision("already-current", current)
    return TargetDecision("upgrade", target)


def follower_target(
    current: KubernetesVersion,
    available: Sequence[AvailableVersion],
    ceiling: KubernetesVersion,
) -> TargetDecision:
    """The follower's choice: the highest reachable version not above the predecessor's record.

    A cluster two minors behind moves one minor toward the ceiling this week.
    """
    if current > ceiling:
        return TargetDecision("skipped", None, f"above target: runs {current}, the validated version is {ceiling}")
    if current == ceiling:
        return TargetDecision("already-current", current)
    target = max(v for v in reachable(current, available) if v <= ceiling)
    if target == current:
        return TargetDecision("skipped", None, f"no upgrade toward {ceiling} is offered for {current} (upgrade profile)")
    return TargetDecision("upgrade", target)
