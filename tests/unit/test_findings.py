"""Pre-flight findings: what an operator should know about a cluster before its upgrade."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.domain import clusters, findings, planning, versions
from shared.domain.clusters import AvailableVersion, ClusterSnapshot, NodePool, Selection

MONDAY_10_OSLO = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DEV = Selection("dev", "tag", "aks-upgrade")


def cluster(**changes: Any) -> ClusterSnapshot:
    base = ClusterSnapshot(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1",
        name="aks1",
        subscription_id="s",
        subscription_name="sub",
        resource_group="rg",
        location="westeurope",
        control_plane_version="1.30.5",
        provisioning_state="Succeeded",
        power_state="Running",
        tags=(("environment", "dev"),),
        node_pools=(NodePool("system", "1.30.5", "1.30.5"),),
    )
    return replace(base, **changes)


@pytest.mark.parametrize("channel", ["patch", "stable", "rapid", "Stable"])
def test_a_cluster_on_its_own_version_channel_is_skipped_because_the_order_cannot_hold(channel: str) -> None:
    veto = clusters.owner_veto(cluster(auto_upgrade_channel=channel), DEV, MONDAY_10_OSLO)
    assert veto is not None and f"auto-upgrade channel is {channel!r}" in veto


@pytest.mark.parametrize("channel", ["", "none", "node-image"])
def test_no_channel_or_a_node_image_channel_is_fine(channel: str) -> None:
    assert clusters.owner_veto(cluster(auto_upgrade_channel=channel), DEV, MONDAY_10_OSLO) is None


def test_the_plan_lists_every_finding_and_an_upgrade_carries_them_as_its_reason() -> None:
    lagging = cluster(node_pools=(NodePool("system", "1.30.5", "1.30.5"), NodePool("user", "1.29.9", "1.29.9")))
    plan = planning.plan_cluster(
        lagging, [AvailableVersion(versions.parse("1.30.9"), False)], selection=DEV, now=MONDAY_10_OSLO, role="lead"
    )

    assert plan.action == "upgrade"
    assert plan.findings == ("node pools lag the control plane (1.30.5): user at 1.29.9",)
    assert plan.to_dict()["findings"] == list(plan.findings)
    assert plan.notes == "node pools lag the control plane (1.30.5): user at 1.29.9"


def test_a_skipped_cluster_keeps_its_own_reason_and_lists_the_findings() -> None:
    plan = planning.plan_cluster(
        cluster(power_state="Stopped", auto_upgrade_channel="rapid"), [], selection=DEV, now=MONDAY_10_OSLO, role="lead"
    )

    assert plan.action == "skipped" and plan.reason is not None and "auto-upgrade channel" in plan.reason
    assert any("auto-upgrade channel" in f for f in plan.findings) and "not running (powerState Stopped)" in plan.findings


def weekly(day: str, start: str = "00:00", hours: int = 4, offset: str = "+00:00", **extra: Any) -> dict[str, Any]:
    window = {
        "schedule": {"weekly": {"intervalWeeks": 1, "dayOfWeek": day}},
        "durationHours": hours,
        "utcOffset": offset,
        "startTime": start,
    }
    return {"name": "aksManagedAutoUpgradeSchedule", "properties": {"maintenanceWindow": {**window, **extra}}}


@pytest.mark.parametrize(
    ("configuration", "finding"),
    [
        (weekly("Sunday"), "does not include 2026-11-30T09:00:00+00:00"),  # Sunday 00:00-04:00: not Monday 09:00
        (weekly("Monday", "08:00"), None),  # Monday 08:00-12:00 UTC
        (weekly("Monday", "10:00", offset="+01:00"), None),  # Monday 10:00-14:00 Oslo = 09:00 UTC
        (weekly("Sunday", "22:00", hours=12), None),  # crosses midnight into Monday 10:00
        (weekly("Monday", "08:00", notAllowedDates=[{"start": "2026-11-30", "end": "2026-12-01"}]), "is a not-allowed date"),
        ({"name": "default", "properties": {"timeInWeek": [{"day": "Monday", "hourSlots": [9, 10]}]}}, None),
        ({"name": "default", "properties": {"timeInWeek": [{"day": "Tuesday", "hourSlots": [9]}]}}, "timeInWeek"),
        (
            {"name": "aksManagedAutoUpgradeSchedule", "properties": {"maintenanceWindow": {"schedule": {"absoluteMonthly": {}}}}},
            "not checked here",
        ),
        (
            {"name": "default", "properties": {"notAllowedTime": [{"start": "2026-11-30T00:00:00Z", "end": "2026-11-30T23:59:59Z"}]}},
            "is in a not-allowed time",
        ),
    ],
)
def test_planned_maintenance_that_would_not_let_aks_act_now_is_reported(configuration: dict[str, Any], finding: str | None) -> None:
    found = findings.of_maintenance([configuration], MONDAY_10_OSLO)
    if finding is None:
        assert found == ()
    else:
        assert len(found) == 1 and finding in found[0] and found[0].startswith(f"planned maintenance {configuration['name']!r}")


def test_a_cluster_on_a_preview_is_skipped_and_the_plan_lists_the_preview_as_a_finding() -> None:
    region = [
        clusters.RegionVersion(versions.parse("1.30.5"), False),
        clusters.RegionVersion(versions.parse("1.31.2"), False),
        clusters.RegionVersion(versions.parse("1.32.0"), True),
    ]
    on_preview = cluster(control_plane_version="1.32.0", node_pools=(NodePool("system", "1.32.0", "1.32.0"),))

    plan = planning.plan_cluster(on_preview, [], selection=DEV, now=MONDAY_10_OSLO, role="lead", region_versions=region)

    preview = "runs preview 1.32.0: a preview is never upgraded from or recorded"
    assert plan.action == "skipped" and plan.reason == preview
    assert preview in plan.findings


def test_a_pool_on_a_version_the_region_does_not_vouch_for_is_a_finding_too() -> None:
    region = [clusters.RegionVersion(versions.parse("1.30.5"), False)]
    odd_pool = cluster(node_pools=(NodePool("system", "1.30.5", "1.30.5"), NodePool("user", "1.31.0", "1.31.0")))

    plan = planning.plan_cluster(odd_pool, [], selection=DEV, now=MONDAY_10_OSLO, role="lead", region_versions=region)

    assert plan.action == "skipped"
    assert [f for f in plan.findings if "1.31.0" in f and "not known to be GA" in f] == [plan.reason]


def test_a_cluster_on_ga_versions_has_no_preview_finding() -> None:
    region = [clusters.RegionVersion(versions.parse("1.30.5"), False), clusters.RegionVersion(versions.parse("1.31.2"), False)]

    plan = planning.plan_cluster(cluster(), [], selection=DEV, now=MONDAY_10_OSLO, role="lead", region_versions=region)

    assert not [f for f in plan.findings if "preview" in f or "GA" in f]
