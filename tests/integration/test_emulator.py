"""The ARM emulator, driven by the unmodified Azure SDK clients over HTTPS."""

from __future__ import annotations

import copy
import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from ops.emulator import (
    ArmEmulator,
    FaultRule,
    StaticTokenCredential,
    fleet_from_dict,
    fleet_to_dict,
    generate_fleet,
    sample_fleet,
)
from tests.plugins.arm_emulator import NONPROD_SUBSCRIPTION, PROD_SUBSCRIPTION

CS = Callable[..., ContainerServiceClient]
SANDBOX_RG = "rg-aks-sandbox"
DEV_RG = "rg-aks-dev"


def _raw(arm: ArmEmulator, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """A plain HTTPS request (no SDK), for auth and control routes."""
    ctx = ssl.create_default_context(cafile=arm.ca_bundle_path)
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(arm.base_url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def _upgrade(client: ContainerServiceClient, rg: str, name: str, version: str, **kwargs: Any) -> Any:
    """GET, change control plane and every pool, PUT with If-Match: what a careful caller does."""
    mc = client.managed_clusters.get(rg, name)
    mc.properties.kubernetes_version = version
    for pool in mc.properties.agent_pool_profiles:
        pool.orchestrator_version = version
    return client.managed_clusters.begin_create_or_update(
        rg, name, mc, etag=mc.e_tag, match_condition=MatchConditions.IfNotModified, polling_interval=0, **kwargs
    )


def _requests_to(arm: ArmEmulator, method: str, fragment: str) -> list[Any]:
    return [r for r in arm.requests if r.method == method and fragment.lower() in r.path.lower()]


# --- auth, subscriptions, paging ---------------------------------------------------------


def test_requests_without_a_bearer_token_get_401_in_arm_shape(arm: ArmEmulator) -> None:
    status, body = _raw(arm, "GET", "/subscriptions?api-version=2022-12-01")
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"
    status, _ = _raw(arm, "GET", "/subscriptions?api-version=2022-12-01", token="anything")
    assert status == 200


def test_subscription_client_lists_both_subscriptions(
    arm: ArmEmulator, arm_credential: StaticTokenCredential, arm_client_kwargs: dict[str, Any]
) -> None:
    client = SubscriptionClient(arm_credential, **arm_client_kwargs)
    subs = {s.subscription_id: s.display_name for s in client.subscriptions.list()}
    assert subs == {NONPROD_SUBSCRIPTION: "Platform NonProd", PROD_SUBSCRIPTION: "Platform Prod"}
    assert client.subscriptions.get(PROD_SUBSCRIPTION).display_name == "Platform Prod"


def test_managed_cluster_list_pages_with_absolute_next_links(arm: ArmEmulator, container_service: CS) -> None:
    names = [mc.name for mc in container_service(NONPROD_SUBSCRIPTION).managed_clusters.list()]
    assert len(names) == 6 and len(set(names)) == 6
    pages = [r for r in arm.requests if r.path.lower().endswith("/managedclusters")]
    assert len(pages) == 2  # 4 + 2 at the session page size of 4
    assert pages[1].query["$skiptoken"] == "4"


def test_resource_group_scoped_list_and_unknown_group(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service(PROD_SUBSCRIPTION)
    assert sorted(mc.name for mc in client.managed_clusters.list_by_resource_group("rg-aks-prod")) == [
        "aks-prod-weu-1",
        "aks-prod-weu-batch",
        "aks-prod-weu-legacy",
    ]
    with pytest.raises(HttpResponseError) as err:
        list(client.managed_clusters.list_by_resource_group("rg-missing"))
    assert err.value.status_code == 404
    assert err.value.error is not None and err.value.error.code == "ResourceGroupNotFound"


# --- reads --------------------------------------------------------------------------------


def test_get_returns_a_full_resource_with_etag(arm: ArmEmulator, container_service: CS) -> None:
    mc = container_service().managed_clusters.get(SANDBOX_RG, "aks-sandbox-weu-1")
    props = mc.properties
    assert mc.e_tag and mc.identity.type == "SystemAssigned" and mc.identity.principal_id
    assert mc.tags == {"environment": "sandbox"}
    assert props.kubernetes_version == props.current_kubernetes_version == "1.30.4"
    assert props.provisioning_state == "Succeeded" and props.power_state.code == "Running"
    assert props.network_profile.network_plugin == "azure"
    assert props.service_principal_profile.client_id == "msi"
    assert {p.name: p.orchestrator_version for p in props.agent_pool_profiles} == {"system": "1.30.4", "user1": "1.30.4"}
    get = _requests_to(arm, "GET", "/aks-sandbox-weu-1")[-1]
    assert get.status == 200


def test_prod_fleet_has_an_opted_out_and_a_stopped_cluster(arm: ArmEmulator, container_service: CS) -> None:
    clusters = {mc.name: mc for mc in container_service(PROD_SUBSCRIPTION).managed_clusters.list()}
    assert clusters["aks-prod-weu-legacy"].tags["aks-upgrade"] == "skip"
    assert clusters["aks-prod-weu-batch"].properties.power_state.code == "Stopped"
    assert {mc.tags["environment"] for mc in clusters.values()} == {"prod"}


@pytest.mark.parametrize(
    ("rg", "name", "expected"),
    [
        (SANDBOX_RG, "aks-sandbox-weu-1", {("1.30.5", False), ("1.31.1", False), ("1.31.2", False)}),
        (SANDBOX_RG, "aks-sandbox-weu-2", {("1.31.2", False), ("1.32.0", True)}),
        (DEV_RG, "aks-dev-weu-2", {("1.30.4", False), ("1.30.5", False)}),
    ],
)
def test_upgrade_profile_offers_one_hop_in_no_particular_order(
    arm: ArmEmulator, container_service: CS, rg: str, name: str, expected: set[tuple[str, bool]]
) -> None:
    client = container_service()
    for _ in range(3):
        profile = client.managed_clusters.get_upgrade_profile(rg, name).properties
        offered = [(u.kubernetes_version, bool(u.is_preview)) for u in profile.control_plane_profile.upgrades]
        assert set(offered) == expected
        assert offered != sorted(offered, key=lambda u: tuple(int(x) for x in u[0].split(".")))
        for pool in profile.agent_pool_profiles:
            assert {(u.kubernetes_version, bool(u.is_preview)) for u in pool.upgrades} == expected


def test_kubernetes_versions_come_from_the_location_catalogue(container_service: CS) -> None:
    result = container_service().managed_clusters.list_kubernetes_versions("westeurope")
    by_minor = {v.version: v for v in result.values_property}
    assert set(by_minor) == {"1.29", "1.30", "1.31", "1.32"}
    assert by_minor["1.32"].is_preview is True and not by_minor["1.31"].is_preview
    assert set(by_minor["1.30"].patch_versions) == {"1.30.4", "1.30.5"}
    assert set(by_minor["1.30"].patch_versions["1.30.4"].upgrades) == {"1.30.5", "1.31.1", "1.31.2"}


# --- upgrade as a long-running operation ----------------------------------------------------


def test_upgrade_completes_after_the_configured_polls(arm: ArmEmulator, container_service: CS) -> None:
    poller = _upgrade(container_service(), SANDBOX_RG, "aks-sandbox-weu-1", "1.31.2")
    assert arm.cluster("aks-sandbox-weu-1")["properties"]["provisioningState"] == "Upgrading"
    result = poller.result()

    assert result.properties.provisioning_state == "Succeeded"
    assert result.properties.current_kubernetes_version == "1.31.2"
    assert {p.current_orchestrator_version for p in result.properties.agent_pool_profiles} == {"1.31.2"}
    polls = _requests_to(arm, "GET", "/operations/")
    assert [r.status for r in polls] == [200, 200]
    assert polls[0].query["api-version"] == "2017-08-31"


def test_recorded_put_carries_if_match_versions_and_untouched_fields(arm: ArmEmulator, container_service: CS) -> None:
    before = arm.cluster("aks-sandbox-weu-1")
    _upgrade(container_service(), SANDBOX_RG, "aks-sandbox-weu-1", "1.31.2").result()

    (put,) = _requests_to(arm, "PUT", "/aks-sandbox-weu-1")
    assert put.headers["If-Match"].strip('"') == before["eTag"]
    assert put.body["properties"]["kubernetesVersion"] == "1.31.2"
    assert [p["orchestratorVersion"] for p in put.body["properties"]["agentPoolProfiles"]] == ["1.31.2", "1.31.2"]
    sent_network = copy.deepcopy(before["properties"]["networkProfile"])
    del sent_network["loadBalancerProfile"]["effectiveOutboundIPs"]  # read-only: the SDK leaves it out
    assert put.body["properties"]["networkProfile"] == sent_network
    after = arm.cluster("aks-sandbox-weu-1")
    assert after["properties"]["networkProfile"] == before["properties"]["networkProfile"]
    assert after["properties"]["aadProfile"] == before["properties"]["aadProfile"]
    assert after["identity"] == before["identity"]
    assert after["eTag"] != before["eTag"]


def test_a_field_the_put_drops_is_really_dropped(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, "aks-sandbox-weu-1")
    body = mc.as_dict()
    del body["properties"]["networkProfile"]
    client.managed_clusters.begin_create_or_update(SANDBOX_RG, "aks-sandbox-weu-1", body, polling_interval=0).result()
    assert "networkProfile" not in arm.cluster("aks-sandbox-weu-1")["properties"]


def test_stale_etag_gets_412_precondition_failed(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, "aks-sandbox-weu-1")
    arm.set_cluster_state("aks-sandbox-weu-1", tags={"environment": "sandbox", "owner": "someone-else"})
    mc.properties.kubernetes_version = "1.30.5"
    with pytest.raises(ResourceModifiedError) as err:
        client.managed_clusters.begin_create_or_update(
            SANDBOX_RG, "aks-sandbox-weu-1", mc, etag=mc.e_tag, match_condition=MatchConditions.IfNotModified
        )
    assert err.value.status_code == 412
    assert err.value.error is not None and err.value.error.code == "PreconditionFailed"
    assert arm.cluster("aks-sandbox-weu-1")["properties"]["kubernetesVersion"] == "1.30.4"


def test_put_while_upgrading_gets_409_operation_not_allowed(arm: ArmEmulator, container_service: CS) -> None:
    client = container_service()
    _upgrade(client, SANDBOX_RG, "aks-sandbox-weu-1", "1.30.5", polling=False)  # nobody polls: still Upgrading
    with pytest.raises(ResourceExistsError) as err:
        _upgrade(client, SANDBOX_RG, "aks-sandbox-weu-1", "1.30.5")
    assert err.value.status_code == 409
    assert err.value.error is not None and err.value.error.code == "OperationNotAllowed"


@pytest.mark.parametrize(
    ("version", "pool_version", "code"),
    [
        ("1.32.0", None, "OperationNotAllowed"),  # two minors from 1.30.4 via preview: not one hop
        ("1.29.9", None, "OperationNotAllowed"),  # downgrade
        # a pool moved to anything but "unchanged" or the control plane's version (here: above it)
        ("1.30.5", "1.31.1", "NotAllAgentPoolOrchestratorVersionSpecifiedAndUnchanged"),
    ],
)
def test_invalid_target_versions_get_400(
    arm: ArmEmulator, container_service: CS, version: str, pool_version: str | None, code: str
) -> None:
    client = container_service()
    mc = client.managed_clusters.get(SANDBOX_RG, "aks-sandbox-weu-1")
    mc.properties.kubernetes_version = version
    for pool in mc.properties.agent_pool_profiles:
        pool.orchestrator_version = pool_version or version
    with pytest.raises(HttpResponseError) as err:
        client.managed_clusters.begin_create_or_update(SANDBOX_RG, "aks-sandbox-weu-1", mc, polling_interval=0)
    assert err.value.status_code == 400
    assert err.value.error is not None and err.value.error.code == code
    assert arm.cluster("aks-sandbox-weu-1")["properties"]["provisioningState"] == "Succeeded"


def test_upgrading_a_stopped_cluster_is_refused(arm: ArmEmulator, container_service: CS) -> None:
    with pytest.raises(HttpResponseError) as err:
        _upgrade(container_service(PROD_SUBSCRIPTION), "rg-aks-prod", "aks-prod-weu-batch", "1.31.2")
    assert err.value.status_code == 400
    assert arm.cluster("aks-prod-weu-batch")["properties"]["kubernetesVersion"] == "1.30.5"


def test_faults_in_the_fleet_file_are_live_after_reset(arm: ArmEmulator, container_service: CS) -> None:
    doc = fleet_to_dict(sample_fleet())
    doc["faults"] = [{"kind": "error", "method": "GET", "cluster": "aks-test-weu-1", "status": 500, "code": "Boom"}]
    arm.reset(fleet_from_dict(doc))
    with pytest.raises(HttpResponseError) as err:
        container_service().managed_clusters.get("rg-aks-test", "aks-test-weu-1")
    assert err.value.error is not None and err.value.error.code == "Boom"
    assert container_service().managed_clusters.get("rg-aks-test", "aks-test-weu-2").name == "aks-test-weu-2"


def test_operation_waits_for_the_injected_clock() -> None:
    now = [1000.0]
    fleet = fleet_from_dict({**fleet_to_dict(sample_fleet()), "operations": {"polls": 1, "seconds": 600}})
    with ArmEmulator(fleet, clock=lambda: now[0]) as emu:
        client = ContainerServiceClient(
            StaticTokenCredential(), NONPROD_SUBSCRIPTION, base_url=emu.base_url, connection_verify=emu.ca_bundle_path
        )
        _upgrade(client, SANDBOX_RG, "aks-sandbox-weu-1", "1.30.5", polling=False)
        for _ in range(3):
            assert client.managed_clusters.get(SANDBOX_RG, "aks-sandbox-weu-1").properties.provisioning_state == "Upgrading"
        now[0] += 600
        mc = client.managed_clusters.get(SANDBOX_RG, "aks-sandbox-weu-1")
        assert mc.properties.provisioning_state == "Succeeded"
        assert mc.properties.current_kubernetes_version == "1.30.5"


# --- faults -------------------------------------------------------------------------------


def test_429_carries_retry_after_and_the_sdk_retries(arm: ArmEmulator, container_service: CS) -> None:
    arm.add_fault(FaultRule(kind="error", method="GET", cluster="aks-dev-weu-1", status=429, retry_after=0.05, times=1))
    mc = container_service().managed_clusters.get(DEV_RG, "aks-dev-weu-1")
    assert mc.name == "aks-dev-weu-1"
    assert [r.status for r in _requests_to(arm, "GET", "/aks-dev-weu-1")] == [429, 200]


def test_429_answer_has_retry_after_header_and_arm_body(arm: ArmEmulator) -> None:
    arm.add_fault(FaultRule(kind="error", path=r"/subscriptions$", status=429, retry_after=7))
    ctx = ssl.create_default_context(cafile=arm.ca_bundle_path)
    req = urllib.request.Request(arm.base_url + "/subscriptions?api-version=x", headers={"Authorization": "Bearer t"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, context=ctx, timeout=10)
    assert err.value.code == 429 and err.value.headers["Retry-After"] == "7"
    assert json.loads(err.value.read())["error"]["code"] == "TooManyRequests"


def test_503_is_retried_until_it_clears(arm: ArmEmulator, container_service: CS) -> None:
    arm.add_fault(FaultRule(kind="error", method="GET", path=r"/managedclusters$", status=503, times=2))
    names = [mc.name for mc in container_service(PROD_SUBSCRIPTION).managed_clusters.list()]
    assert len(names) == 3
    assert [r.status for r in arm.requests] == [503, 503, 200]


def test_persistent_503_surfaces_as_an_error(arm: ArmEmulator, container_service: CS) -> None:
    arm.add_fault(FaultRule(kind="error", cluster="aks-dev-weu-1", status=503, code="ServiceUnavailable"))
    with pytest.raises(HttpResponseError) as err:
        container_service().managed_clusters.get(DEV_RG, "aks-dev-weu-1")
    assert err.value.status_code == 503


def test_dropped_connection_is_retried_by_the_sdk(arm: ArmEmulator, container_service: CS) -> None:
    arm.add_fault(FaultRule(kind="drop", method="GET", cluster="aks-dev-weu-1", times=1))
    assert container_service().managed_clusters.get(DEV_RG, "aks-dev-weu-1").name == "aks-dev-weu-1"
    assert [r.status for r in _requests_to(arm, "GET", "/aks-dev-weu-1")] == [0, 200]


def test_failed_operation_carries_arm_code_and_message(arm: ArmEmulator, container_service: CS) -> None:
    message = "Drain of node aks-nodepool1-123 did not complete."
    arm.add_fault(FaultRule(kind="outcome", cluster="aks-dev-weu-1", code="UpgradeFailed", message=message, times=1))
    poller = _upgrade(container_service(), DEV_RG, "aks-dev-weu-1", "1.31.2")
    with pytest.raises(HttpResponseError) as err:
        poller.result()
    assert err.value.error is not None
    assert (err.value.error.code, err.value.error.message) == ("UpgradeFailed", message)
    props = arm.cluster("aks-dev-weu-1")["properties"]
    assert props["provisioningState"] == "Failed"
    assert props["currentKubernetesVersion"] == "1.30.5"


def test_per_cluster_outcome_from_the_fleet_file(container_service: CS, arm: ArmEmulator) -> None:
    doc = fleet_to_dict(sample_fleet())
    for c in doc["clusters"]:
        if c["name"] == "aks-test-weu-2":
            c["operation"] = {"polls": 3, "outcome": {"status": "Canceled", "code": "OperationCanceled", "message": "stop"}}
    arm.reset(fleet_from_dict(doc))
    with pytest.raises(HttpResponseError) as err:
        _upgrade(container_service(), "rg-aks-test", "aks-test-weu-2", "1.31.2").result()
    assert err.value.error is not None and err.value.error.code == "OperationCanceled"
    assert len(_requests_to(arm, "GET", "/operations/")) == 3
    assert arm.cluster("aks-test-weu-2")["properties"]["provisioningState"] == "Canceled"


def test_state_fault_changes_the_cluster_between_get_and_put(arm: ArmEmulator, container_service: CS) -> None:
    arm.add_fault(FaultRule(kind="state", cluster="aks-dev-weu-1", nth=1, changes={"provisioningState": "Updating"}))
    client = container_service()
    mc = client.managed_clusters.get(DEV_RG, "aks-dev-weu-1")
    assert mc.properties.provisioning_state == "Succeeded"  # the answer predates the change
    mc.properties.kubernetes_version = "1.31.2"
    with pytest.raises(ResourceModifiedError):
        client.managed_clusters.begin_create_or_update(
            DEV_RG, "aks-dev-weu-1", mc, etag=mc.e_tag, match_condition=MatchConditions.IfNotModified
        )
    assert client.managed_clusters.get(DEV_RG, "aks-dev-weu-1").properties.provisioning_state == "Updating"


def test_latency_overlaps_across_concurrent_requests(arm: ArmEmulator, container_service: CS) -> None:
    # GIVEN each request's latency wait is a meeting point that lets no one through until six
    # requests wait at once: served one after the other, the first would wait alone and break it
    meeting = threading.Barrier(6)
    waits: list[float] = []

    def wait_for_all_six(seconds: float) -> None:
        waits.append(seconds)
        meeting.wait(timeout=60)  # a safety net only: the six normally meet at once

    arm.latency_ms = 300
    arm.latency_wait = wait_for_all_six
    client = container_service()
    failures: list[BaseException] = []

    def get() -> None:
        try:
            client.managed_clusters.get(DEV_RG, "aks-dev-weu-1")
        except Exception as err:  # collected and asserted below
            failures.append(err)

    threads = [threading.Thread(target=get) for _ in range(6)]
    # WHEN six requests are sent at once
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN all six were inside their latency at the same time, and each was answered
    assert failures == [] and not meeting.broken
    assert waits == [0.3] * 6
    assert [r.status for r in arm.requests] == [200] * 6


def test_latency_fault_slows_only_matching_requests(arm: ArmEmulator, container_service: CS) -> None:
    arm.add_fault(FaultRule(kind="latency", cluster="aks-dev-weu-2", latency_ms=250))
    waits: list[float] = []
    arm.latency_wait = waits.append
    client = container_service()

    client.managed_clusters.get(DEV_RG, "aks-dev-weu-1")
    assert waits == []
    client.managed_clusters.get(DEV_RG, "aks-dev-weu-2")
    assert waits == [0.25]


# --- control over HTTP ------------------------------------------------------------------------


def test_control_routes_manage_faults_and_show_requests(arm: ArmEmulator) -> None:
    status, body = _raw(arm, "POST", "/_emulator/faults", {"kind": "error", "path": "/subscriptions$", "status": 500})
    assert status == 201 and body["faults"][0]["status"] == 500
    assert _raw(arm, "GET", "/subscriptions?api-version=x", token="t")[0] == 500
    status, body = _raw(arm, "GET", "/_emulator/requests")
    assert [(r["method"], r["path"], r["status"]) for r in body["requests"]] == [("GET", "/subscriptions", 500)]
    assert _raw(arm, "DELETE", "/_emulator/faults")[0] == 200
    assert _raw(arm, "GET", "/subscriptions?api-version=x", token="t")[0] == 200
    assert _raw(arm, "DELETE", "/_emulator/requests")[0] == 200
    assert arm.requests == []
    status, body = _raw(arm, "GET", "/_emulator/clusters")
    assert status == 200 and len(body["clusters"]) == 9
    status, body = _raw(arm, "POST", "/_emulator/faults", {"kind": "nonsense"})
    assert status == 400 and body["error"]["code"] == "InvalidFault"


# --- fleets ---------------------------------------------------------------------------------


def test_sample_fleet_matches_the_demo_story() -> None:
    fleet = sample_fleet()
    by_env: dict[str, list[str]] = {}
    for c in fleet.clusters:
        by_env.setdefault(c.tags["environment"], []).append(c.kubernetes_version)
        assert {p.orchestrator_version for p in c.agent_pools} == {c.kubernetes_version}
        expected_sub = PROD_SUBSCRIPTION if c.tags["environment"] == "prod" else NONPROD_SUBSCRIPTION
        assert c.subscription_id == expected_sub
    assert {k: sorted(v) for k, v in by_env.items()} == {
        "sandbox": ["1.30.4", "1.31.1"],
        "dev": ["1.29.9", "1.30.5"],
        "test": ["1.30.5", "1.30.5"],
        "prod": ["1.30.5", "1.30.5", "1.30.5"],
    }
    catalogue = fleet.kubernetes_versions["westeurope"]
    assert [v.version for v in catalogue if v.is_preview] == ["1.32.0"]


def test_fleet_documents_round_trip() -> None:
    for fleet in (sample_fleet(), generate_fleet(subscriptions=2, resource_groups=2, resources_per_group=2, clusters=5)):
        assert fleet_from_dict(json.loads(json.dumps(fleet_to_dict(fleet)))) == fleet


def test_generated_fleet_serves_the_resource_walk_baseline(arm_credential: StaticTokenCredential) -> None:
    fleet = generate_fleet(subscriptions=2, resource_groups=3, resources_per_group=4, clusters=8, seed=1)
    assert {c.tags["environment"] for c in fleet.clusters} == {"sandbox", "dev", "test", "prod"}
    with ArmEmulator(fleet, page_size=3) as emu:
        kwargs: dict[str, Any] = {"base_url": emu.base_url, "connection_verify": emu.ca_bundle_path}
        subs = [s.subscription_id for s in SubscriptionClient(arm_credential, **kwargs).subscriptions.list()]
        assert len(subs) == 2
        walked_clusters = 0
        generic = 0
        for sub in subs:
            rm = ResourceManagementClient(arm_credential, sub, **kwargs)
            groups = [g.name for g in rm.resource_groups.list()]
            assert len(groups) == 3
            for rg in groups:
                for res in rm.resources.list_by_resource_group(rg):
                    if res.type.lower() == "microsoft.containerservice/managedclusters":
                        walked_clusters += 1
                    else:
                        generic += 1
        assert (walked_clusters, generic) == (8, 2 * 3 * 4)
        listed = sum(len(list(ContainerServiceClient(arm_credential, sub, **kwargs).managed_clusters.list())) for sub in subs)
        assert listed == 8
