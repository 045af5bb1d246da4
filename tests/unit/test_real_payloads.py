"""The official Azure REST API examples (api-version 2026-08-01, tests/fixtures/arm) through the code
production runs: the SDK models, the adapters' pure parsers, planning, the start decision and the
PUT builder. No network: the SDK models are built from the published bodies directly."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.mgmt.containerservice._utils.model_base import SdkJSONEncoder
from azure.mgmt.containerservice.models import KubernetesVersionListResult, ManagedCluster, ManagedClusterUpgradeProfile

from shared.adapters.arm import available_from_profile, region_versions_from_list, snapshot_from_document, upgrade_body
from shared.domain import planning, upgrades, versions
from shared.domain.clusters import AvailableVersion, ClusterSnapshot, ForceUpgradeOverride, NodePool, RegionVersion, Selection
from tests.fixtures.arm import EXAMPLE_SUBSCRIPTION, LISTED_VERSION, at_version, example, response_body, running

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
#: The published cluster has no environment tag; its subscription's name selects it for sandbox.
BY_SUBSCRIPTION = Selection("sandbox", "subscription-name", "aks-upgrade")
SUBSCRIPTION_NAME = "Example Sandbox"


def available(*pairs: tuple[str, bool]) -> list[AvailableVersion]:
    return [AvailableVersion(versions.parse(text), preview) for text, preview in pairs]


def through_sdk(document: dict[str, Any]) -> dict[str, Any]:
    """What ArmGateway.get_for_update keeps of a GET: the SDK model's dict."""
    kept: dict[str, Any] = ManagedCluster(document).as_dict()
    return kept


def snapshot_of(document: dict[str, Any]) -> ClusterSnapshot:
    return snapshot_from_document(through_sdk(document), EXAMPLE_SUBSCRIPTION, SUBSCRIPTION_NAME)


def on_the_wire(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON the SDK sends for a managed-cluster PUT, serialized as its create_or_update does
    (read-only fields left out)."""
    sent: dict[str, Any] = json.loads(json.dumps(ManagedCluster(body), cls=SdkJSONEncoder, exclude_readonly=True))
    return sent


def version_list() -> dict[str, Any]:
    return response_body("KubernetesVersions_List")


def offered_to(current: str) -> list[AvailableVersion]:
    """The upgrades the published version list names for ``current``, preview as their minor is:
    what the upgrade profile of a cluster on ``current`` in that region offers."""
    previews = {minor["version"]: bool(minor.get("isPreview")) for minor in version_list()["values"]}
    for minor in version_list()["values"]:
        if current in minor["patchVersions"]:
            upgrades_listed = minor["patchVersions"][current]["upgrades"]
            return [AvailableVersion(versions.parse(v), previews[v.rsplit(".", 1)[0]]) for v in upgrades_listed]
    raise AssertionError(f"the published version list has no {current}")


# -- the SDK keeps what ARM sent ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "status"),
    [("ManagedClustersGet", "200"), ("ManagedClustersCreate_Update", "200"), ("ManagedClustersCreate_Update", "201")],
)
def test_the_sdk_model_gives_back_every_published_cluster_document_unchanged(name: str, status: str) -> None:
    document = response_body(name, status)
    assert through_sdk(copy.deepcopy(document)) == document


def test_the_sdk_models_give_back_the_published_list_profile_and_version_list_unchanged() -> None:
    listed = response_body("ManagedClustersList")["value"][0]
    profile = response_body("ManagedClustersGetUpgradeProfile")
    assert through_sdk(copy.deepcopy(listed)) == listed
    assert ManagedClusterUpgradeProfile(copy.deepcopy(profile)).as_dict() == profile
    assert KubernetesVersionListResult(copy.deepcopy(version_list())).as_dict() == version_list()


# -- adapters ----------------------------------------------------------------------------------------
def test_the_published_get_reads_as_a_snapshot_with_versions_pools_tags_and_the_override() -> None:
    cluster = snapshot_of(response_body("ManagedClustersGet"))

    assert (cluster.name, cluster.resource_group, cluster.location) == ("clustername1", "rg1", "location1")
    assert (cluster.control_plane_version, cluster.requested_version, cluster.runs) == ("1.9.6", "1.9.6", "1.9.6")
    assert cluster.node_pools == (NodePool("nodepool1", "1.9.6", "1.9.6"),)
    assert (cluster.provisioning_state, cluster.power_state, cluster.support_plan) == ("Succeeded", "", "")
    assert cluster.tags == (("archv2", ""), ("tier", "production"))
    assert cluster.override == ForceUpgradeOverride(True, "2022-11-01T13:00:00Z")


def test_the_published_list_item_reads_like_the_get() -> None:
    listed = snapshot_of(response_body("ManagedClustersList")["value"][0])
    got = snapshot_of(response_body("ManagedClustersGet"))
    assert (listed.id, listed.control_plane_version, listed.node_pools, listed.power_state) == (
        got.id,
        got.control_plane_version,
        got.node_pools,
        "",
    )
    assert listed.override is None  # the list example has no upgradeSettings


def test_the_published_upgrade_profile_gives_the_control_planes_offers_with_its_preview_flags() -> None:
    profile = response_body("ManagedClustersGetUpgradeProfile")
    # isPreview is absent when false; the pools' flags (the other way round) are not the control plane's.
    expected = available(("1.7.9", True), ("1.7.11", False))
    assert available_from_profile(profile) == expected
    assert available_from_profile(ManagedClusterUpgradeProfile(copy.deepcopy(profile))) == expected


def test_the_published_version_list_gives_every_patch_with_its_minors_preview_flag_upgrades_and_support_plans() -> None:
    official = ("KubernetesOfficial",)
    expected = [
        RegionVersion(v.version, v.is_preview, tuple(versions.parse(u) for u in ups), official)
        for v, ups in zip(
            available(
                ("1.23.12", False),
                ("1.23.15", False),
                ("1.24.6", False),
                ("1.24.9", False),
                ("1.25.4", False),
                ("1.25.5", False),
                ("1.26.0", True),
            ),
            [
                ("1.23.15", "1.24.6", "1.24.9"),
                ("1.24.6", "1.24.9"),
                ("1.24.9", "1.25.4", "1.25.5"),
                ("1.25.4", "1.25.5"),
                ("1.25.5", "1.26.0"),
                ("1.26.0",),
                (),
            ],
            strict=True,
        )
    ]
    assert region_versions_from_list(version_list(), "location1") == expected
    assert region_versions_from_list(KubernetesVersionListResult(copy.deepcopy(version_list())), "location1") == expected


# -- planning: the absent powerState ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["ManagedClustersGet", "ManagedClustersList"])
def test_the_published_cluster_without_a_power_state_is_skipped_as_not_known_to_be_running(name: str) -> None:
    document = response_body(name)
    if name == "ManagedClustersList":
        document = document["value"][0]
    cluster = snapshot_of(document)

    plan = planning.plan_cluster(cluster, [], selection=BY_SUBSCRIPTION, now=NOW, role="lead", region_versions=[])

    assert (plan.action, plan.reason, plan.eligible) == ("skipped", "not running (powerState not reported)", False)
    assert not planning.reads_upgrade_profile(cluster, selection=BY_SUBSCRIPTION, now=NOW, role="lead", ceiling=None)


def test_the_published_cluster_without_an_environment_tag_is_never_selected_by_tag() -> None:
    cluster = snapshot_of(running(response_body("ManagedClustersGet")))
    plan = planning.plan_cluster(cluster, [], selection=Selection("prod", "tag", "aks-upgrade"), now=NOW, role="lead")
    # Its tier=production tag is not the environment tag: a cluster is never guessed into an environment.
    assert (plan.action, plan.reason) == ("skipped", "not selected for prod: tag environment=None")


def test_the_published_create_response_still_creating_is_skipped_even_when_running() -> None:
    cluster = snapshot_of(running(response_body("ManagedClustersCreate_Update", "201")))
    plan = planning.plan_cluster(cluster, [], selection=BY_SUBSCRIPTION, now=NOW, role="lead")
    assert (plan.action, plan.reason) == ("skipped", "provisioningState is Creating, not Succeeded")


# -- planning: the cluster once it reports Running --------------------------------------------------
def test_the_published_cluster_reporting_running_is_already_current_against_the_published_profile() -> None:
    cluster = snapshot_of(running(response_body("ManagedClustersGet")))
    offers = available_from_profile(response_body("ManagedClustersGetUpgradeProfile"))

    plan = planning.plan_cluster(cluster, offers, selection=BY_SUBSCRIPTION, now=NOW, role="lead")

    # The profile offers only 1.7.x, below the cluster's 1.9.6: never a downgrade. Its
    # forceUpgrade override ended in 2022, so it does not hold the cluster back.
    assert (plan.action, plan.from_version, plan.to_version, plan.reason) == ("already-current", "1.9.6", "1.9.6", None)


def test_the_published_cluster_at_the_published_profiles_version_takes_its_newest_ga_offer() -> None:
    cluster = snapshot_of(running(at_version(response_body("ManagedClustersGet"), "1.7.7")))
    offers = available_from_profile(response_body("ManagedClustersGetUpgradeProfile"))

    plan = planning.plan_cluster(cluster, offers, selection=BY_SUBSCRIPTION, now=NOW, role="lead")

    assert (plan.action, plan.from_version, plan.to_version) == ("upgrade", "1.7.7", "1.7.11")


@pytest.mark.parametrize(
    ("role", "policy", "ceiling", "to"),
    [
        ("lead", "latest", None, "1.25.5"),  # 1.26.0 is listed only as a preview, and two minors away
        ("lead", "stable", None, "1.24.9"),  # newest GA minor 1.25, so N-1 = 1.24
        ("lead", "patch", None, "1.24.9"),
        ("follower", "latest", "1.25.4", "1.25.4"),
    ],
)
def test_the_published_cluster_on_a_listed_version_is_planned_from_the_published_version_list(
    role: str, policy: str, ceiling: str | None, to: str
) -> None:
    cluster = snapshot_of(running(at_version(response_body("ManagedClustersGet"), LISTED_VERSION)))

    plan = planning.plan_cluster(
        cluster,
        offered_to(LISTED_VERSION),
        selection=BY_SUBSCRIPTION,
        now=NOW,
        role=role,
        policy=policy,
        ceiling=versions.parse(ceiling) if ceiling else None,
        region_versions=region_versions_from_list(version_list(), "location1"),
    )

    assert (plan.action, plan.from_version, plan.to_version, plan.eligible) == ("upgrade", LISTED_VERSION, to, True)


def test_a_cluster_on_the_published_preview_version_is_skipped_and_never_recorded() -> None:
    cluster = snapshot_of(running(at_version(response_body("ManagedClustersGet"), "1.26.0")))
    region = region_versions_from_list(version_list(), "location1")
    plan = planning.plan_cluster(cluster, [], selection=BY_SUBSCRIPTION, now=NOW, role="lead", region_versions=region)
    assert (plan.action, plan.reason) == ("skipped", "runs preview 1.26.0: a preview is never upgraded from or recorded")


# -- the start decision and the PUT body -----------------------------------------------------------
def test_the_put_for_the_published_cluster_changes_only_the_versions_and_leaves_out_what_a_get_cannot_send_back() -> None:
    document = through_sdk(running(at_version(response_body("ManagedClustersGet"), LISTED_VERSION)))
    fresh = snapshot_from_document(document, EXAMPLE_SUBSCRIPTION, SUBSCRIPTION_NAME)

    decision = upgrades.decide_start(fresh, target="1.25.5", selection=BY_SUBSCRIPTION, now=NOW)
    body = upgrade_body(document, "1.25.5", decision.pools)

    assert (decision.kind, decision.pools) == ("put", ("nodepool1",))
    expected = copy.deepcopy(document)
    expected["properties"]["kubernetesVersion"] = "1.25.5"
    expected["properties"]["agentPoolProfiles"][0]["orchestratorVersion"] = "1.25.5"
    # The pool's image (a value there asks for that old image) and the service principal profile
    # (a GET never returns its secret) are left out; every other field goes back as it was.
    del expected["properties"]["agentPoolProfiles"][0]["nodeImageVersion"]
    del expected["properties"]["servicePrincipalProfile"]
    assert body == expected
    sent = on_the_wire(body)["properties"]
    assert (sent["kubernetesVersion"], [p["orchestratorVersion"] for p in sent["agentPoolProfiles"]]) == ("1.25.5", ["1.25.5"])
    assert "nodeImageVersion" not in sent["agentPoolProfiles"][0] and "creationData" not in sent["agentPoolProfiles"][0]
    assert "servicePrincipalProfile" not in sent
    assert sent["upgradeSettings"] == document["properties"]["upgradeSettings"]  # the operator's setting is never cleared
    customer_ips = document["properties"]["networkProfile"]["loadBalancerProfile"]["outboundIPs"]
    assert sent["networkProfile"]["loadBalancerProfile"]["outboundIPs"] == customer_ips


def test_the_put_for_the_published_created_cluster_carries_everything_its_creator_sent_but_the_secret() -> None:
    published = example("ManagedClustersCreate_Update")
    request = published["parameters"]["parameters"]
    document = through_sdk(published["responses"]["200"]["body"])

    sent = on_the_wire(upgrade_body(document, "1.10.0", ("nodepool1",)))

    # The creator sent a service principal secret; the GET (the 200 body) has none to send back.
    assert "secret" in request["properties"]["servicePrincipalProfile"]
    assert "secret" not in document["properties"]["servicePrincipalProfile"]
    assert "servicePrincipalProfile" not in sent["properties"]
    # Every other property the creator set is in the PUT (addonProfiles was empty; the GET omits it).
    assert set(request["properties"]) - {"servicePrincipalProfile", "addonProfiles"} <= set(sent["properties"])
    assert sent["properties"]["autoScalerProfile"] == request["properties"]["autoScalerProfile"]
    assert sent["properties"]["windowsProfile"] == {"adminUsername": "azureuser"}  # a GET never returns the password
    assert sent["identity"] == request["identity"]  # the identity's read-only ids are the SDK's to leave out
    assert sent["tags"] == request["tags"]
