"""The ARM emulator refuses what AKS refuses, and answers in AKS's shape, so that the suite sees the
class of defect a lenient fake hides (a PUT that moves a pool two minors, echoes a node image, ...).

Each case is driven through the unmodified Azure SDK, as the app drives ARM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerservice import ContainerServiceClient

from ops.emulator import ArmEmulator
from ops.emulator.state import NODE_IMAGE, NODE_IMAGE_LATEST

CS = Callable[..., ContainerServiceClient]
SANDBOX_RG = "rg-aks-sandbox"
CLUSTER = "aks-sandbox-weu-1"  # control plane 1.30.4, pools "system" and "user1" at 1.30.4


def _put(client: ContainerServiceClient, mc: Any) -> Any:
    return client.managed_clusters.begin_create_or_update(
        SANDBOX_RG, CLUSTER, mc, etag=mc.e_tag, match_condition=MatchConditions.IfNotModified, polling_interval=0
    )


def _refused(client: ContainerServiceClient, mc: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as err:
        _put(client, mc)
    assert err.value.status_code == 400
    return err.value


def _finish(arm: ArmEmulator, client: ContainerServiceClient) -> dict[str, Any]:
    """Poll the cluster until its operation ends (the sample fleet's operations end after 2 polls)."""
    for _ in range(5):
        client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    return arm.cluster(CLUSTER)


def test_a_pool_that_would_skip_a_minor_is_refused(arm: ArmEmulator, container_service: CS) -> None:
    # GIVEN a pool one minor behind its control plane
    arm.set_cluster_state(CLUSTER, agentPools={"user1": "1.29.9"})
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    # WHEN a PUT moves the control plane one minor and that pool two (to the control plane's version)
    mc.properties.kubernetes_version = "1.31.2"
    for pool in mc.properties.agent_pool_profiles:
        pool.orchestrator_version = "1.31.2"
    # THEN AKS's answer: one minor at a time
    error = _refused(client, mc)
    assert error.error is not None and error.error.code == "AgentPoolUpgradeVersionNotAllowed"
    assert "from 1.29.9 to 1.31.2 is not allowed" in str(error.message)
    assert arm.cluster(CLUSTER)["properties"]["kubernetesVersion"] == "1.30.4"


def test_a_pool_moved_to_neither_its_own_nor_the_control_planes_version_is_refused(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    mc.properties.kubernetes_version = "1.31.2"
    mc.properties.agent_pool_profiles[0].orchestrator_version = "1.31.2"
    mc.properties.agent_pool_profiles[1].orchestrator_version = "1.30.5"  # a third version
    error = _refused(client, mc)
    assert error.error is not None and error.error.code == "NotAllAgentPoolOrchestratorVersionSpecifiedAndUnchanged"


def test_some_pools_with_a_version_and_some_without_is_refused(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    mc.properties.kubernetes_version = "1.31.2"
    mc.properties.agent_pool_profiles[0].orchestrator_version = "1.31.2"
    del mc.properties.agent_pool_profiles[1]["orchestratorVersion"]
    error = _refused(client, mc)
    assert error.error is not None and error.error.code == "NotAllAgentPoolOrchestratorVersionSpecifiedAndUnchanged"


def test_a_control_plane_only_upgrade_leaves_unchanged_pools_where_they_are(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    mc.properties.kubernetes_version = "1.31.2"  # pools keep "1.30.4": unchanged is allowed
    _put(client, mc)
    done = _finish(arm, client)
    assert done["properties"]["currentKubernetesVersion"] == "1.31.2"
    assert {p["currentOrchestratorVersion"] for p in done["properties"]["agentPoolProfiles"]} == {"1.30.4"}


def test_a_node_image_version_in_the_put_is_a_request_for_that_image(arm: ArmEmulator, container_service: CS) -> None:
    # GIVEN a GET whose pools report today's (older) node image, PUT back unchanged with the upgrade
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    assert {p.node_image_version for p in mc.properties.agent_pool_profiles} == {NODE_IMAGE}
    mc.properties.kubernetes_version = "1.31.2"
    for pool in mc.properties.agent_pool_profiles:
        pool.orchestrator_version = "1.31.2"
    _put(client, mc)
    # THEN the pools stay pinned to that image instead of taking the one the upgrade brings
    done = _finish(arm, client)
    assert {p["nodeImageVersion"] for p in done["properties"]["agentPoolProfiles"]} == {NODE_IMAGE}


def test_an_upgrade_without_a_node_image_version_brings_the_newer_image(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    mc.properties.kubernetes_version = "1.31.2"
    for pool in mc.properties.agent_pool_profiles:
        pool.orchestrator_version = "1.31.2"
        del pool["nodeImageVersion"]
    _put(client, mc)
    done = _finish(arm, client)
    assert {p["nodeImageVersion"] for p in done["properties"]["agentPoolProfiles"]} == {NODE_IMAGE_LATEST}


def test_is_preview_appears_only_when_true(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    profile = client.managed_clusters.get_upgrade_profile(SANDBOX_RG, "aks-sandbox-weu-2")  # 1.31.1: offers 1.31.2 and 1.32.0
    offered = {u["kubernetesVersion"]: u for u in profile.properties.control_plane_profile["upgrades"]}
    assert offered["1.32.0"]["isPreview"] is True
    assert "isPreview" not in offered["1.31.2"]
    listed = client.managed_clusters.list_kubernetes_versions("westeurope")
    minors = {v["version"]: v for v in listed["values"]}
    assert minors["1.32"]["isPreview"] is True
    assert all("isPreview" not in minors[m] for m in ("1.29", "1.30", "1.31"))


def test_every_pool_carries_its_own_etag_which_changes_when_the_pool_does(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    before = {p.name: p.e_tag for p in client.managed_clusters.get(SANDBOX_RG, CLUSTER).properties.agent_pool_profiles}
    assert all(before.values()) and len(set(before.values())) == len(before)
    arm.set_cluster_state(CLUSTER, agentPools={"user1": "1.29.9"})
    after = {p.name: p.e_tag for p in client.managed_clusters.get(SANDBOX_RG, CLUSTER).properties.agent_pool_profiles}
    assert after["user1"] != before["user1"]


def test_a_minor_alias_resolves_to_a_full_patch_version(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    mc.properties.kubernetes_version = "1.31"
    for pool in mc.properties.agent_pool_profiles:
        pool.orchestrator_version = "1.31"
    _put(client, mc)
    done = _finish(arm, client)
    assert done["properties"]["kubernetesVersion"] == "1.31"
    assert done["properties"]["currentKubernetesVersion"] == "1.31.2"  # the newest GA patch, never "1.31"
    assert {p["currentOrchestratorVersion"] for p in done["properties"]["agentPoolProfiles"]} == {"1.31.2"}


def test_a_force_upgrade_override_is_served_and_kept_through_a_put(arm: ArmEmulator, container_service: CS) -> None:
    override = {"overrideSettings": {"forceUpgrade": True, "until": "2026-12-03T00:00:00Z"}}
    arm.set_cluster_state(CLUSTER, upgradeSettings=override)
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    assert mc.properties.upgrade_settings.override_settings.force_upgrade is True
    _put(client, mc)
    stored = arm.cluster(CLUSTER)["properties"]["upgradeSettings"]
    assert stored["overrideSettings"]["forceUpgrade"] is True


def test_a_pool_added_through_the_managed_cluster_put_is_refused(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    extra = dict(mc.properties.agent_pool_profiles[1])
    extra["name"] = "user2"
    mc.properties.agent_pool_profiles.append(type(mc.properties.agent_pool_profiles[1])(extra))
    error = _refused(client, mc)
    assert error.error is not None and error.error.code == "OperationNotAllowed"
    assert "A new agent pool was introduced (user2)" in str(error.message)


def test_a_pool_left_out_of_the_put_is_kept_as_it_was(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    del mc.properties.agent_pool_profiles[1]  # user1
    _put(client, mc)
    done = _finish(arm, client)
    assert [p["name"] for p in done["properties"]["agentPoolProfiles"]] == ["system", "user1"]


def test_a_pool_only_upgrade_of_a_stopped_cluster_is_refused(arm: ArmEmulator, container_service: CS) -> None:
    arm.set_cluster_state(CLUSTER, agentPools={"user1": "1.29.9"})
    arm.set_cluster_state(CLUSTER, powerState="Stopped")
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    mc.properties.agent_pool_profiles[1].orchestrator_version = "1.30.4"  # up to the control plane's version
    error = _refused(client, mc)
    assert error.error is not None and error.error.code == "OperationNotAllowed" and "stopped" in str(error.message)


def test_pools_can_be_added_and_removed_by_someone_else(arm: ArmEmulator) -> None:
    arm.set_cluster_state(CLUSTER, agentPools={"spot": "1.29.9"})
    assert {p["name"]: p["currentOrchestratorVersion"] for p in arm.cluster(CLUSTER)["properties"]["agentPoolProfiles"]} == {
        "system": "1.30.4",
        "user1": "1.30.4",
        "spot": "1.29.9",
    }
    arm.set_cluster_state(CLUSTER, agentPools={"spot": None})
    assert [p["name"] for p in arm.cluster(CLUSTER)["properties"]["agentPoolProfiles"]] == ["system", "user1"]


# -- Azure Monitor alerts (Alerts Management) ---------------------------------------------------------
def _alerts_client(arm: ArmEmulator) -> Any:
    from azure.mgmt.alertsmanagement import AlertsManagementClient

    from ops.emulator import StaticTokenCredential
    from tests.plugins.arm_emulator import NONPROD_SUBSCRIPTION

    return AlertsManagementClient(
        StaticTokenCredential(), NONPROD_SUBSCRIPTION, base_url=arm.base_url, connection_verify=arm.ca_bundle_path
    )


def test_alerts_are_listed_per_cluster_and_time_range_through_the_sdk(arm: ArmEmulator) -> None:
    from datetime import UTC, datetime

    t0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    target = arm.cluster(CLUSTER)["id"]
    arm.add_alert(CLUSTER, severity="Sev1", fired_at=t0, name="in-range")
    arm.add_alert(CLUSTER, severity="Sev0", fired_at=t0.replace(hour=7), name="too-early")
    arm.add_alert("aks-sandbox-weu-2", severity="Sev0", fired_at=t0, name="other-cluster")
    client = _alerts_client(arm)

    found = list(client.alerts.get_all(target_resource=target, custom_time_range="2026-11-30T08:00:00Z/2026-11-30T12:00:00Z"))

    assert [(a.name, a.properties.essentials.severity) for a in found] == [("in-range", "Sev1")]
    assert found[0].properties.essentials.start_date_time == t0


def test_the_alerts_list_refuses_both_time_filters_and_ranges_over_30_days(arm: ArmEmulator) -> None:
    client = _alerts_client(arm)
    with pytest.raises(HttpResponseError) as both:
        list(client.alerts.get_all(time_range="1d", custom_time_range="2026-11-30T08:00:00Z/2026-11-30T12:00:00Z"))
    with pytest.raises(HttpResponseError) as too_long:
        list(client.alerts.get_all(custom_time_range="2026-10-01T00:00:00Z/2026-11-30T00:00:00Z"))
    assert both.value.status_code == 400 and too_long.value.status_code == 400


def test_an_operation_can_end_succeeded_while_a_pool_stays_behind(arm: ArmEmulator, container_service: CS) -> None:
    from ops.emulator import FaultRule

    arm.add_fault(FaultRule(kind="outcome", cluster=CLUSTER, outcome="Succeeded", pools_behind=("user1",)))
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, CLUSTER)
    mc.properties.kubernetes_version = "1.31.2"
    for pool in mc.properties.agent_pool_profiles:
        pool.orchestrator_version = "1.31.2"
    _put(client, mc)

    done = _finish(arm, client)

    assert done["properties"]["provisioningState"] == "Succeeded"
    assert {p["name"]: p["currentOrchestratorVersion"] for p in done["properties"]["agentPoolProfiles"]} == {
        "system": "1.31.2",
        "user1": "1.30.4",
    }
