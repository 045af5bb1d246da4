"""Decisions at the moment of acting on one cluster: never a second PUT, ARM's words kept."""

from __future__ import annotations

import pytest

from shared.domain import upgrades

TARGET = "1.31.2"


@pytest.mark.parametrize(
    ("state", "power", "current", "requested", "kind", "reason_contains"),
    [
        # an upgrade to the target is already running (a replay, a re-run, a crash after the PUT)
        ("Upgrading", "Running", "1.30.5", TARGET, "resume", "already running"),
        ("Updating", "Running", "1.30.5", TARGET, "resume", "provisioningState Updating"),
        # already there
        ("Succeeded", "Running", TARGET, TARGET, "already-current", None),
        ("succeeded", "running", TARGET, TARGET, "already-current", None),
        # already there, even though kubernetesVersion holds the minor alias: no PUT
        ("Succeeded", "Running", TARGET, "1.31", "already-current", None),
        # the cluster changed since planning
        ("Succeeded", "Stopped", "1.30.5", "1.30.5", "changed", "ClusterChanged: powerState is Stopped"),
        ("Succeeded", "", "1.30.5", "1.30.5", "changed", "ClusterChanged: powerState is unknown"),
        ("Failed", "Running", "1.30.5", "1.30.5", "changed", "ClusterChanged: provisioningState is Failed"),
        ("Upgrading", "Running", "1.30.5", "1.31.4", "changed", "ClusterChanged: provisioningState is Upgrading"),
        ("Succeeded", "Running", "1.31.4", "1.31.4", "changed", "ClusterChanged: now runs 1.31.4, above the target 1.31.2"),
        ("Succeeded", "Running", "1.32.0", "1.32.0", "changed", "above the target"),
        ("Succeeded", "Running", "garbage", "garbage", "changed", "ClusterChanged: runs unreadable version"),
        # as planned: send the upgrade
        ("Succeeded", "Running", "1.30.5", "1.30.5", "put", None),
        ("Succeeded", "Running", "1.31.1", "1.31.1", "put", None),
        ("Succeeded", "Running", "1.31.10", "1.31.10", "changed", "above the target"),  # 1.31.10 > 1.31.2
    ],
)
def test_decide_start(state: str, power: str, current: str, requested: str, kind: str, reason_contains: str | None) -> None:
    decision = upgrades.decide_start(
        provisioning_state=state, power_state=power, current_version=current, requested_version=requested, target=TARGET
    )
    assert decision.kind == kind
    if reason_contains is None:
        assert decision.reason is None or kind == "resume"
    else:
        assert decision.reason is not None and reason_contains in decision.reason


def test_every_changed_reason_starts_with_the_cluster_changed_code() -> None:
    for state, power, current in [("Succeeded", "Stopped", "1.30.5"), ("Failed", "Running", "1.30.5"), ("Succeeded", "Running", "1.32.0")]:
        decision = upgrades.decide_start(
            provisioning_state=state, power_state=power, current_version=current, requested_version=current, target=TARGET
        )
        assert decision.kind == "changed" and decision.reason is not None
        assert decision.reason.startswith("ClusterChanged: ")


@pytest.mark.parametrize(
    ("status", "code", "message", "state", "reason"),
    [
        ("Succeeded", None, None, "succeeded", None),
        ("InProgress", None, None, "inProgress", None),
        ("Running", None, None, "inProgress", None),
        (
            "Failed",
            "UpgradeFailed",
            "Drain of node aks-nodepool1-123 did not complete.",
            "failed",
            "UpgradeFailed: Drain of node aks-nodepool1-123 did not complete.",
        ),
        (
            "Failed",
            "QuotaExceeded",
            "Operation could not be completed as it results in exceeding approved quota.",
            "failed",
            "QuotaExceeded: Operation could not be completed as it results in exceeding approved quota.",
        ),
        ("Failed", None, None, "failed", "UpgradeFailed: the operation ended Failed"),
        ("Canceled", None, None, "failed", "UpgradeCanceled: the operation ended Canceled"),
        ("Cancelled", "OperationCanceled", "Canceled by user", "failed", "OperationCanceled: Canceled by user"),
    ],
)
def test_progress_from_operation_keeps_arms_code_and_message(
    status: str, code: str | None, message: str | None, state: str, reason: str | None
) -> None:
    assert upgrades.progress_from_operation(status, code, message) == upgrades.Progress(state, reason)


@pytest.mark.parametrize(
    ("state", "current", "progress", "reason_start"),
    [
        ("Succeeded", TARGET, "succeeded", None),
        ("Succeeded", "1.30.5", "failed", "UpgradeNotApplied:"),
        ("Failed", "1.30.5", "failed", "UpgradeFailed:"),
        ("Canceled", "1.30.5", "failed", "UpgradeFailed:"),
        ("Upgrading", "1.30.5", "inProgress", None),
    ],
)
def test_progress_from_cluster_judges_a_resumed_upgrade_by_the_cluster(
    state: str, current: str, progress: str, reason_start: str | None
) -> None:
    found = upgrades.progress_from_cluster(state, current, TARGET)
    assert found.state == progress
    if reason_start is None:
        assert found.reason is None
    else:
        assert found.reason is not None and found.reason.startswith(reason_start)


@pytest.mark.parametrize(
    ("attempt", "retry_after", "delay"),
    [(1, None, 30.0), (2, None, 60.0), (3, None, 120.0), (10, None, 600.0), (1, 90.0, 90.0), (3, 5.0, 120.0), (0, None, 30.0)],
)
def test_retry_delay_backs_off_exponentially_is_capped_and_honours_retry_after(
    attempt: int, retry_after: float | None, delay: float
) -> None:
    assert upgrades.retry_delay_seconds(attempt, retry_after) == delay
