"""Decisions at the moment of acting on one cluster, after a fresh GET.

Planning decided the target earlier; by the time we PUT, the cluster may have changed, or a
previous attempt (a re-run, a replay, a crash after the PUT) may already be moving it. These
rules make a second PUT for a cluster already upgrading to, or already at, the target impossible.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain import versions

TERMINAL_STATES = ("succeeded", "failed", "canceled", "cancelled")


@dataclass(frozen=True)
class StartDecision:
    """``put``: send the upgrade; ``resume``: an upgrade to the target already runs, monitor it;
    ``already-current``: nothing to do; ``changed``: the cluster is not as planned, do not touch."""

    kind: str
    reason: str | None = None


def decide_start(*, provisioning_state: str, power_state: str, current_version: str, requested_version: str, target: str) -> StartDecision:
    state = provisioning_state.lower()
    if state not in TERMINAL_STATES and requested_version == target:
        return StartDecision("resume", f"an upgrade to {target} is already running (provisioningState {provisioning_state})")
    # At the target is at the target, whatever kubernetesVersion says (it may hold a minor alias such as
    # "1.30"): never PUT a cluster that already runs the target.
    if state == "succeeded" and current_version == target:
        return StartDecision("already-current")
    if power_state.lower() != "running":
        return StartDecision("changed", f"ClusterChanged: powerState is {power_state or 'unknown'} since planning; not upgraded")
    if state != "succeeded":
        return StartDecision(
            "changed", f"ClusterChanged: provisioningState is {provisioning_state or 'unknown'} since planning; not upgraded"
        )
    try:
        if versions.parse(current_version) > versions.parse(target):
            return StartDecision("changed", f"ClusterChanged: now runs {current_version}, above the target {target}")
    except ValueError:
        return StartDecision("changed", f"ClusterChanged: runs unreadable version {current_version!r}")
    return StartDecision("put")


@dataclass(frozen=True)
class Progress:
    """Where a started upgrade stands: ``inProgress``, ``succeeded`` or ``failed`` (with ARM's words)."""

    state: str
    reason: str | None = None


def progress_from_operation(status: str, code: str | None, message: str | None) -> Progress:
    lowered = status.lower()
    if lowered == "succeeded":
        return Progress("succeeded")
    if lowered in ("failed", "canceled", "cancelled"):
        default_code = "UpgradeCanceled" if lowered.startswith("cancel") else "UpgradeFailed"
        return Progress("failed", f"{code or default_code}: {message or f'the operation ended {status}'}")
    return Progress("inProgress")


def progress_from_cluster(provisioning_state: str, current_version: str, target: str) -> Progress:
    """Fallback when no operation URL is known (a resumed upgrade): judge by the cluster itself."""
    lowered = provisioning_state.lower()
    if lowered == "succeeded":
        if current_version == target:
            return Progress("succeeded")
        return Progress("failed", f"UpgradeNotApplied: provisioningState Succeeded but runs {current_version}, not {target}")
    if lowered in ("failed", "canceled", "cancelled"):
        return Progress("failed", f"UpgradeFailed: provisioningState {provisioning_state} while upgrading to {target}")
    return Progress("inProgress")


def retry_delay_seconds(attempt: int, retry_after: float | None, base: float = 30.0, cap: float = 600.0) -> float:
    """Backoff for a transient start failure: exponential from ``base``, at least ARM's Retry-After."""
    delay = min(cap, base * float(2 ** max(attempt - 1, 0)))
    return max(delay, retry_after or 0.0)
