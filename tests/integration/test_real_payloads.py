"""The official Azure REST API example cluster (api-version 2026-08-01, tests/fixtures/arm) served by
the ARM emulator as published, read and upgraded through ArmGateway and the unmodified SDK: GET →
snapshot → plan → start decision → PUT body → the emulator's strict PUT validation → operation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ops.emulator import ArmEmulator, CatalogueVersion, Fleet, StaticTokenCredential, Subscription
from shared.adapters.arm import ArmGateway, OperationStatus
from shared.domain import planning, upgrades
from shared.domain.clusters import NodePool, Selection
from tests.fixtures.arm import EXAMPLE_SUBSCRIPTION, LISTED_VERSION, response_body

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
#: The published cluster has no environment tag; its subscription's name selects it for sandbox.
BY_SUBSCRIPTION = Selection("sandbox", "subscription-name", "aks-upgrade")
SUBSCRIPTION_NAME = "Example Sandbox"


def published_catalogue() -> tuple[CatalogueVersion, ...]:
    """Every patch of the published version list, preview as its minor is."""
    return tuple(
        CatalogueVersion(patch, bool(minor.get("isPreview")))
        for minor in response_body("KubernetesVersions_List")["values"]
        for patch in minor["patchVersions"]
    )


@pytest.fixture
def example_arm(arm: ArmEmulator) -> ArmEmulator:
    """The emulator serving the published GET's cluster as published, in its own subscription,
    with the published version list as its location's catalogue."""
    arm.reset(
        Fleet(
            subscriptions=(Subscription(EXAMPLE_SUBSCRIPTION, SUBSCRIPTION_NAME),),
            kubernetes_versions={"location1": published_catalogue()},
            clusters=(),
        )
    )
    arm.adopt_cluster_document(response_body("ManagedClustersGet"))
    return arm


@pytest.fixture
def gateway(example_arm: ArmEmulator) -> Iterator[ArmGateway]:
    gateway = ArmGateway(StaticTokenCredential(), example_arm.base_url, client_options={"connection_verify": example_arm.ca_bundle_path})
    yield gateway
    gateway.close()


def put_bodies(arm: ArmEmulator) -> list[dict[str, Any]]:
    return [r.body for r in arm.requests if r.method == "PUT"]


def test_the_published_cluster_served_as_published_is_read_unchanged_and_skipped_as_not_known_to_be_running(
    example_arm: ArmEmulator, gateway: ArmGateway
) -> None:
    [subscription] = gateway.list_subscriptions()
    [listed] = gateway.list_clusters(subscription)
    fresh = gateway.get_for_update(listed.id, subscription.display_name)

    assert fresh.document == response_body("ManagedClustersGet")  # over HTTPS, through the SDK model
    assert (fresh.etag, fresh.snapshot) == ("beywbwei", listed)
    plan = planning.plan_cluster(listed, [], selection=BY_SUBSCRIPTION, now=NOW, role="lead")
    assert (plan.action, plan.reason) == ("skipped", "not running (powerState not reported)")
    # The check on the GET before a PUT says the same, so no PUT could go out for it either.
    decision = upgrades.decide_start(fresh.snapshot, target="1.10.0", selection=BY_SUBSCRIPTION, now=NOW)
    assert (decision.kind, decision.reason) == ("skipped", "changed since planning: not running (powerState not reported); not upgraded")
    assert put_bodies(example_arm) == []


def test_the_published_cluster_once_running_on_a_listed_version_is_upgraded_through_the_strict_put(
    example_arm: ArmEmulator, gateway: ArmGateway
) -> None:
    # Someone starts the cluster and brings it onto a version the published version list offers.
    example_arm.set_cluster_state("clustername1", powerState="Running", kubernetesVersion=LISTED_VERSION)
    published = response_body("ManagedClustersGet")["properties"]

    [subscription] = gateway.list_subscriptions()
    [cluster] = gateway.list_clusters(subscription)
    plan = planning.plan_cluster(
        cluster,
        gateway.upgrade_options(cluster.id),
        selection=BY_SUBSCRIPTION,
        now=NOW,
        role="lead",
        region_versions=gateway.region_versions(subscription.id, cluster.location),
    )
    assert (plan.action, plan.from_version, plan.to_version) == ("upgrade", LISTED_VERSION, "1.25.5")

    fresh = gateway.get_for_update(cluster.id, subscription.display_name)
    decision = upgrades.decide_start(fresh.snapshot, target="1.25.5", selection=BY_SUBSCRIPTION, now=NOW)
    assert (decision.kind, decision.pools) == ("put", ("nodepool1",))
    operation_url = gateway.put_upgrade(fresh, "1.25.5", decision.pools)

    [sent] = put_bodies(example_arm)
    props = sent["properties"]
    assert (props["kubernetesVersion"], [p["orchestratorVersion"] for p in props["agentPoolProfiles"]]) == ("1.25.5", ["1.25.5"])
    assert "nodeImageVersion" not in props["agentPoolProfiles"][0] and "servicePrincipalProfile" not in props
    for field in ("linuxProfile", "diskEncryptionSetID", "dnsPrefix", "enableRBAC", "nodeResourceGroup", "upgradeSettings"):
        assert props[field] == published[field], field
    assert (
        props["networkProfile"]["loadBalancerProfile"]["outboundIPs"] == published["networkProfile"]["loadBalancerProfile"]["outboundIPs"]
    )
    assert props["agentPoolProfiles"][0]["upgradeSettings"] == {"maxSurge": "33%"}
    assert sent["tags"] == {"archv2": "", "tier": "production"}

    assert operation_url is not None
    status = OperationStatus("InProgress")
    for _ in range(5):  # the emulator finishes an operation after two reads
        status = gateway.operation_status(cluster.id, operation_url)
        if status.status != "InProgress":
            break
    assert status.status == "Succeeded"
    after = gateway.get_cluster(cluster.id, subscription.display_name)
    assert (after.control_plane_version, after.node_pools) == ("1.25.5", (NodePool("nodepool1", "1.25.5", "1.25.5"),))
    stored = example_arm.cluster("clustername1")["properties"]
    assert (stored["linuxProfile"], stored["upgradeSettings"]) == (published["linuxProfile"], published["upgradeSettings"])


def test_a_document_in_a_subscription_the_fleet_lacks_is_refused_naming_the_subscription(example_arm: ArmEmulator) -> None:
    elsewhere = response_body("ManagedClustersGet")
    elsewhere["id"] = elsewhere["id"].replace(EXAMPLE_SUBSCRIPTION, "11111111-1111-1111-1111-111111111111")
    with pytest.raises(ValueError, match="subscription 11111111-1111-1111-1111-111111111111 is not in the fleet"):
        example_arm.adopt_cluster_document(elsewhere)
    assert [c["id"] for c in example_arm.clusters()] == [response_body("ManagedClustersGet")["id"]]
