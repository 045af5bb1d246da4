"""Which clusters a run selects for an environment, and which of those it may touch."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.domain import clusters
from shared.domain.clusters import ClusterSnapshot

DEV = clusters.Selection("dev", "tag", "aks-upgrade")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def cluster(
    *,
    tags: dict[str, str] | None = None,
    subscription_name: str = "Contoso Platform",
    power: str = "Running",
    state: str = "Succeeded",
) -> ClusterSnapshot:
    return ClusterSnapshot(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1",
        name="aks1",
        subscription_id="s",
        subscription_name=subscription_name,
        resource_group="rg",
        location="westeurope",
        control_plane_version="1.30.5",
        provisioning_state=state,
        power_state=power,
        tags=tuple((tags or {}).items()),
    )


def veto(c: ClusterSnapshot, selection: clusters.Selection = DEV) -> str | None:
    """What planning and the GET before each PUT both ask: the owners' veto, then the state's."""
    return clusters.owner_veto(c, selection, NOW) or clusters.state_veto(c)


@pytest.mark.parametrize(
    ("tags", "selected"),
    [
        ({"environment": "dev"}, True),
        ({"Environment": "dev"}, True),  # tag names are case-insensitive in ARM
        ({"ENVIRONMENT": "DEV"}, True),  # and so is the value we compare
        ({"environment": " Dev "}, True),
        ({"environment": "prod"}, False),
        ({"environment": "dev2"}, False),
        ({"environment": "de"}, False),
        ({"env": "dev"}, False),
        ({"stage": "dev"}, False),
        ({}, False),
        ({"environment": ""}, False),
    ],
)
def test_tag_selector_matches_the_environment_tag_in_any_case(tags: dict[str, str], selected: bool) -> None:
    assert clusters.selected_for(cluster(tags=tags), "dev", "tag") is selected


def test_tag_selector_ignores_the_subscription_name() -> None:
    assert not clusters.selected_for(cluster(subscription_name="dev subscription"), "dev", "tag")


@pytest.mark.parametrize(
    ("subscription_name", "selected"),
    [("Contoso-DEV", True), ("dev", True), ("contoso dev platform", True), ("Contoso-PROD", False), ("", False)],
)
def test_subscription_name_selector_looks_for_the_environment_in_the_display_name(subscription_name: str, selected: bool) -> None:
    # Tags play no part under this selector: the environment tag says prod.
    c = cluster(tags={"environment": "prod"}, subscription_name=subscription_name)
    assert clusters.selected_for(c, "dev", "subscription-name") is selected


def test_an_unknown_selector_is_an_error_not_a_silent_empty_fleet() -> None:
    with pytest.raises(ValueError, match="unknown cluster selector"):
        clusters.selected_for(cluster(tags={"environment": "dev"}), "dev", "resource-group")


def test_tag_lookup_is_case_insensitive_and_none_when_absent() -> None:
    c = cluster(tags={"AKS-Upgrade": "Skip"})
    assert c.tag("aks-upgrade") == "Skip"
    assert c.tag("AKS-UPGRADE") == "Skip"
    assert c.tag("environment") is None


@pytest.mark.parametrize(
    ("tags", "power", "state", "reason_contains"),
    [
        ({}, "Running", "Succeeded", None),
        ({"aks-upgrade": "keep"}, "Running", "Succeeded", None),
        ({"aks-upgrade": "skip"}, "Running", "Succeeded", "opted out (tag aks-upgrade=skip)"),
        ({"AKS-Upgrade": "SKIP"}, "Running", "Succeeded", "opted out"),
        ({"aks-upgrade": " Skip "}, "Running", "Succeeded", "opted out"),
        ({}, "Stopped", "Succeeded", "not running (powerState Stopped)"),
        ({}, "", "Succeeded", "not running (powerState not reported)"),
        ({}, "running", "succeeded", None),
        ({}, "Running", "Failed", "provisioningState is Failed, not Succeeded"),
        ({}, "Running", "Upgrading", "provisioningState is Upgrading, not Succeeded"),
        ({}, "Running", "", "provisioningState is unknown, not Succeeded"),
    ],
)
def test_ineligible_clusters_are_named_with_a_reason(tags: dict[str, str], power: str, state: str, reason_contains: str | None) -> None:
    why = veto(cluster(tags={"environment": "dev", **tags}, power=power, state=state))
    if reason_contains is None:
        assert why is None
    else:
        assert why is not None and reason_contains in why


def test_the_opt_out_tag_name_is_configurable() -> None:
    custom = clusters.Selection("dev", "tag", "do-not-touch")
    c = cluster(tags={"environment": "dev", "aks-upgrade": "skip", "Do-Not-Touch": "skip"})
    assert veto(c, custom) is not None
    assert veto(replace(c, tags=(("environment", "dev"), ("aks-upgrade", "skip"))), custom) is None


def test_a_cluster_of_another_environment_is_never_eligible() -> None:
    why = veto(cluster(tags={"environment": "prod"}))
    assert why == "not selected for dev: tag environment=prod"


def test_a_cluster_runs_the_lowest_version_of_its_control_plane_and_pools() -> None:
    c = replace(cluster(), node_pools=(clusters.NodePool("system", "1.30.5"), clusters.NodePool("user", "1.29.9")))
    assert c.runs == "1.29.9"
    assert replace(c, node_pools=()).runs == "1.30.5"
    # 1.30.10 is above 1.30.9 numerically, not as text
    assert replace(c, control_plane_version="1.30.10", node_pools=(clusters.NodePool("a", "1.30.9"),)).runs == "1.30.9"


@pytest.mark.parametrize(
    ("value", "opted_out"),
    [("skip", True), ("SKIP", True), (" Skip ", True), ("no", False), ("skipped", False), ("", False), (None, False)],
)
def test_opted_out_means_the_tag_value_skip_in_any_case(value: str | None, opted_out: bool) -> None:
    tags = {} if value is None else {"Aks-Upgrade": value}
    assert clusters.opted_out(cluster(tags=tags), "aks-upgrade") is opted_out


@pytest.mark.parametrize(
    ("selector", "subscription_name", "may_hold"),
    [
        ("subscription-name", "Contoso-DEV", True),
        ("subscription-name", "Contoso-PROD", False),
        ("subscription-name", "", False),
        ("tag", "Contoso-PROD", True),  # under the tag selector any subscription may hold a dev cluster
        ("tag", "", True),
    ],
)
def test_a_subscription_is_listed_only_when_it_can_hold_the_environment(selector: str, subscription_name: str, may_hold: bool) -> None:
    assert clusters.subscription_may_hold(subscription_name, "dev", selector) is may_hold
    # The pruning never drops a cluster the selector would pick.
    if not may_hold:
        assert not clusters.selected_for(cluster(tags={"environment": "dev"}, subscription_name=subscription_name), "dev", selector)
