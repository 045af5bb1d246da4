"""Decisions at the moment of acting on one cluster, after a fresh GET.

Planning decided the target earlier; by the time we PUT, the cluster may have changed, or a
previous attempt (a re-run, a replay, a crash after the PUT) may already be moving it. These
rules make a second PUT for a cluster already upgrading to, or already at, the target impossible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shared.domain import clusters, versions
from shared.domain.clusters import ClusterSnapshot, Selection

#: What a cluster that joined someone's (or an earlier attempt's) upgrade reports: no PUT went out.
JOINED = "joined an upgrade already in progress to {target} (this run sent no PUT)"

StartKind = Literal["put", "resume", "already-current", "skipped", "failed"]
#: Where a started upgrade stands.
ProgressState = Literal["inProgress", "succeeded", "failed"]


@dataclass(frozen=True)
class StartDecision:
    """``put``: send the upgrade (moving ``pools`` to the target with the control plane);
    ``resume``: an upgrade to the target already runs, monitor it; ``already-current``: nothing
    to do; ``skipped``: the cluster is no longer as planned (not eligible any more, above the
    target, pools out of reach), so it is left alone; ``failed``: its state cannot be read."""

    kind: StartKind
    reason: str | None = None
    #: Names of the node pools whose orchestratorVersion the PUT sets to the target.
    pools: tuple[str, ...] = ()


def decide_start(fresh: ClusterSnapshot, *, target: str, selection: Selection, now: datetime) -> StartDecision:
    """What to do with a cluster right before its PUT, judged on a fresh GET.

    Every reason the cluster was eligible when the run planned is checked again (the cluster may
    have waited for a free slot under MAX_PARALLEL_UPGRADES meanwhile), with the same function
    planning used. A running upgrade to exactly the target is joined, never sent again.
    """

    def changed(why: str) -> StartDecision:
        return StartDecision("skipped", f"changed since planning: {why}; not upgraded")

    running_to = clusters.upgrading_to(fresh)
    veto = clusters.owner_veto(fresh, selection, now)
    if veto is not None:
        if running_to is not None:
            # Possibly this run's own PUT whose answer was lost: say so rather than "not upgraded".
            return StartDecision(
                "skipped", f"changed since planning: {veto}; an upgrade to {running_to} is already running and is not monitored"
            )
        return changed(veto)
    if running_to == target:
        return StartDecision("resume", JOINED.format(target=target))
    try:
        wanted = versions.parse(target)
        control_plane = versions.parse(fresh.control_plane_version)
        pools = {p.name: versions.parse(p.current_version) for p in fresh.node_pools}
    except ValueError:
        return StartDecision(
            "failed",
            f"InvalidClusterVersion: the cluster reports versions {fresh.control_plane_version!r}, "
            f"{[p.current_version for p in fresh.node_pools]!r}; not upgraded",
        )
    moving = tuple(sorted(name for name, version in pools.items() if version != wanted))
    # Eligibility first: a cluster that is stopped, failed or busy (Updating, Deleting, ...) is
    # not counted as current even when it runs the target, since it would count for the record.
    veto = clusters.state_veto(fresh)
    if veto is not None:
        return changed(veto)
    if control_plane == wanted and not moving:
        # It runs the target already (someone else's upgrade, or this run's own PUT whose answer
        # was lost): nothing to send; the health gate still checks it before it counts.
        return StartDecision("already-current")
    if control_plane > wanted:
        return changed(f"the control plane now runs {control_plane}, above the target {wanted}")
    for name, version in sorted(pools.items()):
        if version > wanted:
            return changed(f"node pool {name} runs {version}, above the target {wanted}")
        if not versions.is_one_hop(version, wanted):
            return changed(f"node pool {name} runs {version}, more than one minor below the target {wanted}")
    if not versions.is_one_hop(control_plane, wanted):
        return changed(f"the control plane runs {control_plane}, more than one minor below the target {wanted}")
    unspecified = sorted(p.name for p in fresh.node_pools if not p.requested_version)
    if unspecified:
        # A managed-cluster PUT must give every pool an orchestratorVersion or none (AKS refuses a mix).
        return changed(f"node pools {', '.join(unspecified)} report no orchestratorVersion")
    return StartDecision("put", pools=moving)


def decide_vanished(code: str, message: str) -> StartDecision:
    """A cluster that no longer exists when its turn comes (ARM answers 404 to the GET) stopped
    being eligible like any other change since planning: skipped, neither failing nor blocking."""
    return StartDecision("skipped", f"changed since planning: the cluster no longer exists ({code}: {message}); not upgraded")


@dataclass(frozen=True)
class Progress:
    """Where a started upgrade stands: ``inProgress``, ``succeeded`` or ``failed`` (with ARM's words)."""

    state: ProgressState
    reason: str | None = None


def progress_from_operation(status: str, code: str | None, message: str | None) -> Progress:
    lowered = status.lower()
    if lowered == "succeeded":
        return Progress("succeeded")
    if lowered in ("failed", "canceled", "cancelled"):
        default_code = "UpgradeCanceled" if lowered.startswith("cancel") else "UpgradeFailed"
        return Progress("failed", f"{code or default_code}: {message or f'the operation ended {status}'}")
    return Progress("inProgress")


def progress_from_cluster(cluster: ClusterSnapshot, target: str) -> Progress:
    """Fallback when no operation URL is known (a joined upgrade): judge by the cluster itself.

    Succeeded with the control plane at the target ends the operation; whether every node pool
    got there too is the health gate's question (as for an upgrade watched through its operation).
    """
    lowered = cluster.provisioning_state.lower()
    if lowered == "succeeded":
        if cluster.control_plane_version != target:
            runs = cluster.control_plane_version
            return Progress("failed", f"UpgradeNotApplied: provisioningState Succeeded but runs {runs}, not {target}")
        return Progress("succeeded")
    if lowered in ("failed", "canceled", "cancelled"):
        return Progress("failed", f"UpgradeFailed: provisioningState {cluster.provisioning_state} while upgrading to {target}")
    return Progress("inProgress")


def retry_delay_seconds(attempt: int, retry_after: float | None, base: float = 30.0, cap: float = 600.0) -> float:
    """Backoff for a transient start failure: exponential from ``base``, at least ARM's Retry-After."""
    delay = min(cap, base * float(2 ** max(attempt - 1, 0)))
    return max(delay, retry_after or 0.0)
