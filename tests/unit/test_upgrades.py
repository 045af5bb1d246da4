"""Decisions at the moment of acting on one cluster: never a second PUT, ARM's words kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain import upgrades
from shared.domain.clusters import ClusterSnapshot, ForceUpgradeOverride, NodePool, Selection

TARGET = "1.31.2"


SELECTION = Selection("dev", "tag", "aks-upgrade")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def fresh(
    *,
    state: str = "Succeeded",
    power: str = "Running",
    current: str = "1.30.5",
    requested: str | None = None,
    pools: tuple[tuple[str, ...], ...] | None = None,
    tags: dict[str, str] | None = None,
    override: ForceUpgradeOverride | None = None,
) -> ClusterSnapshot:
    """A fresh GET: by default a Running, Succeeded dev cluster with one pool at the control plane's version.

    ``pools`` are (name, current) or (name, current, orchestratorVersion); by default a pool's
    orchestratorVersion is the cluster's kubernetesVersion when the cluster is busy (what an
    upgrade PUT leaves behind) and its own current version otherwise.
    """
    busy = state.lower() not in ("succeeded", "failed", "canceled")
    wanted = requested if requested is not None else current
    return ClusterSnapshot(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-dev-1",
        name="aks-dev-1",
        subscription_id="s",
        subscription_name="Contoso",
        resource_group="rg",
        location="westeurope",
        control_plane_version=current,
        provisioning_state=state,
        power_state=power,
        tags=tuple((tags if tags is not None else {"environment": "dev"}).items()),
        requested_version=wanted,
        node_pools=tuple(
            NodePool(p[0], p[1], p[2] if len(p) > 2 else (wanted if busy else p[1]))
            for p in (pools if pools is not None else (("system", current),))
        ),
        override=override,
    )


def decide(cluster: ClusterSnapshot, target: str = TARGET) -> upgrades.StartDecision:
    return upgrades.decide_start(cluster, target=target, selection=SELECTION, now=NOW)


@pytest.mark.parametrize(
    ("cluster", "kind", "reason_contains"),
    [
        # an upgrade to the target is already running (a replay, a re-run, a crash after the PUT): join it
        (fresh(state="Upgrading", requested=TARGET), "resume", "joined an upgrade already in progress to 1.31.2"),
        (fresh(state="Updating", requested=TARGET), "resume", "this run sent no PUT"),
        # already there, control plane and every pool
        (fresh(current=TARGET), "already-current", None),
        (fresh(state="succeeded", power="running", current=TARGET), "already-current", None),
        # already there, even though kubernetesVersion holds the minor alias: no PUT
        (fresh(current=TARGET, requested="1.31"), "already-current", None),
        # no longer eligible since planning: skipped, with what changed
        (fresh(power="Stopped"), "skipped", "changed since planning: not running (powerState Stopped)"),
        (fresh(power=""), "skipped", "powerState not reported"),
        (fresh(state="Failed"), "skipped", "provisioningState is Failed"),
        (fresh(state="Upgrading", requested="1.31.4"), "skipped", "provisioningState is Upgrading"),
        (fresh(tags={"environment": "dev", "aks-upgrade": "skip"}), "skipped", "changed since planning: opted out (tag aks-upgrade=skip)"),
        (fresh(tags={"environment": "prod"}), "skipped", "changed since planning: not selected for dev: tag environment=prod"),
        (fresh(tags={}), "skipped", "not selected for dev"),
        # an opt-out wins over joining a running upgrade
        (fresh(state="Upgrading", requested=TARGET, tags={"environment": "dev", "aks-upgrade": "skip"}), "skipped", "opted out"),
        # above the target now
        (fresh(current="1.31.4"), "skipped", "the control plane now runs 1.31.4, above the target 1.31.2"),
        (fresh(current="1.31.10"), "skipped", "above the target"),  # 1.31.10 > 1.31.2
        (fresh(current="garbage"), "failed", "InvalidClusterVersion"),
        # a pool that would have to move more than one minor
        (fresh(current="1.30.5", pools=(("system", "1.30.5"), ("user", "1.29.9"))), "skipped", "node pool user runs 1.29.9"),
        # as planned: send the upgrade, every pool below the target moves with the control plane
        (fresh(current="1.30.5"), "put", None),
        (fresh(current="1.31.1"), "put", None),
    ],
)
def test_decide_start(cluster: ClusterSnapshot, kind: str, reason_contains: str | None) -> None:
    decision = decide(cluster)
    assert decision.kind == kind, decision
    if reason_contains is None:
        assert decision.reason is None
    else:
        assert decision.reason is not None and reason_contains in decision.reason


def test_every_pool_below_the_target_moves_and_a_pool_at_the_target_stays() -> None:
    decision = decide(fresh(current="1.31.1", pools=(("system", "1.31.1"), ("user", "1.30.9"), ("spot", TARGET))))
    assert decision == upgrades.StartDecision("put", pools=("system", "user"))


def test_a_control_plane_at_the_target_with_a_lagging_pool_gets_the_put_that_brings_the_pool_up() -> None:
    decision = decide(fresh(current=TARGET, pools=(("system", TARGET), ("user", "1.30.5"))))
    assert decision == upgrades.StartDecision("put", pools=("user",))


@pytest.mark.parametrize(
    ("override", "skipped"),
    [
        (ForceUpgradeOverride(True, "2026-12-03T00:00:00Z"), True),  # ends after the run's clock
        (ForceUpgradeOverride(True, None), False),  # no end: AKS applies an override only with an until
        (ForceUpgradeOverride(True, "soon"), True),  # an end we cannot read: effective, the stricter reading
        (ForceUpgradeOverride(True, "2026-12-03T00:00:00"), True),  # no offset: ARM's UTC
        (ForceUpgradeOverride(True, "2026-11-30T00:00:00Z"), False),  # ended before the run
        (ForceUpgradeOverride(False, "2026-12-03T00:00:00Z"), False),  # not forcing
    ],
)
def test_a_force_upgrade_override_in_effect_is_never_upgraded_through(override: ForceUpgradeOverride, skipped: bool) -> None:
    decision = decide(fresh(override=override))
    if skipped:
        assert decision.kind == "skipped" and decision.reason is not None
        assert "forceUpgrade" in decision.reason
    else:
        assert decision.kind == "put"


def test_the_override_reason_names_its_end() -> None:
    decision = decide(fresh(override=ForceUpgradeOverride(True, "2026-12-03T06:30:00+01:00")))
    assert decision.reason is not None and "until 2026-12-03T05:30:00+00:00" in decision.reason


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
    ("cluster", "progress", "reason_start"),
    [
        (fresh(current=TARGET), "succeeded", None),
        (fresh(current="1.30.5"), "failed", "UpgradeNotApplied:"),
        # the operation may end Succeeded while a pool stays behind: the operation is over, and the
        # health gate (tests/unit/test_gates_domain.py) fails the cluster for the pool
        (fresh(current=TARGET, pools=(("system", TARGET), ("user", "1.30.5"))), "succeeded", None),
        (fresh(state="Failed"), "failed", "UpgradeFailed:"),
        (fresh(state="Canceled"), "failed", "UpgradeFailed:"),
        (fresh(state="Upgrading"), "inProgress", None),
    ],
)
def test_progress_from_cluster_judges_a_joined_upgrade_by_the_cluster_and_its_pools(
    cluster: ClusterSnapshot, progress: str, reason_start: str | None
) -> None:
    found = upgrades.progress_from_cluster(cluster, TARGET)
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


# -- joining only what this app's own PUT would have started ---------------------------------------
def test_a_busy_cluster_whose_pool_is_not_asked_for_the_target_is_not_joined_but_skipped() -> None:
    # Control plane already at the target, pool behind and NOT asked to move: someone's scale or update.
    cluster = fresh(state="Updating", current=TARGET, pools=(("system", TARGET), ("user", "1.30.5", "1.30.5")))
    decision = decide(cluster)
    assert decision.kind == "skipped"
    assert decision.reason is not None and "provisioningState is Updating" in decision.reason


def test_a_pool_only_upgrade_this_app_sent_is_joined() -> None:
    cluster = fresh(state="Upgrading", current=TARGET, pools=(("system", TARGET), ("user", "1.30.5", TARGET)))
    assert decide(cluster).kind == "resume"


def test_a_cluster_fully_at_the_target_and_ready_is_already_current() -> None:
    assert decide(fresh(current=TARGET)) == upgrades.StartDecision("already-current")


@pytest.mark.parametrize("state", ["Updating", "Deleting", "Failed", "Canceled"])
def test_a_cluster_at_the_target_but_busy_or_broken_is_not_counted_as_current(state: str) -> None:
    # It would count for the record; its state is re-checked first, as for any cluster.
    decision = decide(fresh(state=state, current=TARGET))
    assert decision.kind == "skipped" and decision.reason is not None and state in decision.reason


def test_a_stopped_cluster_at_the_target_is_not_counted_as_current() -> None:
    decision = decide(fresh(power="Stopped", current=TARGET))
    assert decision.kind == "skipped" and decision.reason is not None and "not running" in decision.reason


def test_an_opt_out_beats_a_running_upgrade_and_says_it_is_not_monitored() -> None:
    cluster = fresh(state="Upgrading", requested=TARGET, tags={"environment": "dev", "aks-upgrade": "skip"})
    decision = decide(cluster)
    assert decision.kind == "skipped"
    assert decision.reason is not None and decision.reason.endswith(f"an upgrade to {TARGET} is already running and is not monitored")


def test_pools_without_an_orchestrator_version_are_not_put_half_specified() -> None:
    decision = decide(fresh(pools=(("system", "1.30.5", "1.30.5"), ("user", "1.30.5", ""))))
    assert decision.kind == "skipped"
    assert decision.reason is not None and "node pools user report no orchestratorVersion" in decision.reason
