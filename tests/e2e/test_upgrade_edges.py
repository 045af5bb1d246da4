"""The edges real operations and real Azure hit: every case here once sent an upgrade it must not
send (or reported one it did not make). Whole runs through the real app, the ARM emulator (as strict
as AKS) and Azurite; each test asserts the PUTs that reached ARM and what was recorded.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.mgmt.containerservice import ContainerServiceClient

from ops import runner
from ops.emulator import FaultRule, StaticTokenCredential, sample_fleet
from ops.emulator.fleet import OperationBehaviour
from ops.emulator.state import NODE_IMAGE_LATEST
from shared import runtime
from tests.e2e.conftest import MON, Conductor, by_name
from tests.plugins.arm_emulator import NONPROD_SUBSCRIPTION

NEWEST_GA = "1.31.2"


def accepted_puts(conductor: Conductor) -> Counter[str]:
    return Counter(r.path.rsplit("/", 1)[-1] for r in conductor.puts() if r.status is not None and 200 <= r.status < 300)


def record_names(conductor: Conductor, environment: str) -> list[str]:
    record = conductor.record(environment)
    assert record is not None, f"nothing recorded for {environment}"
    return [c.rsplit("/", 1)[-1] for c in record.clusters]


def change_while_the_first_upgrade_runs(cluster: str, **changes: Any) -> FaultRule:
    """Someone changes ``cluster`` while it waits for a free slot: right after the PUT of the
    cluster upgraded before it (with MAX_PARALLEL_UPGRADES=1 it is still queued then)."""
    return FaultRule(kind="state", method="PUT", cluster="aks-sandbox-weu-1", target=cluster, changes=changes, times=1)


# -- 1. eligibility at the moment of the PUT -----------------------------------------------------------
def test_a_cluster_opted_out_while_it_waited_for_a_slot_is_not_upgraded(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        change_while_the_first_upgrade_runs("aks-sandbox-weu-2", tags={"environment": "sandbox", "aks-upgrade": "skip"})
    )
    result = conductor.run(MON, MAX_PARALLEL_UPGRADES="1")

    clusters = by_name(result)
    assert result["status"] == "succeeded"
    assert clusters["aks-sandbox-weu-2"]["result"] == "skipped"
    assert clusters["aks-sandbox-weu-2"]["reason"] == "changed since planning: opted out (tag aks-upgrade=skip); not upgraded"
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-1": 1})
    assert conductor.arm.cluster("aks-sandbox-weu-2")["properties"]["kubernetesVersion"] == "1.31.1"
    assert record_names(conductor, "sandbox") == ["aks-sandbox-weu-1"]


def test_a_cluster_retagged_to_another_environment_while_it_waited_is_not_upgraded(conductor: Conductor) -> None:
    conductor.arm.add_fault(change_while_the_first_upgrade_runs("aks-sandbox-weu-2", tags={"environment": "prod"}))
    result = conductor.run(MON, MAX_PARALLEL_UPGRADES="1")

    cluster = by_name(result)["aks-sandbox-weu-2"]
    assert (cluster["result"], cluster["reason"]) == (
        "skipped",
        "changed since planning: not selected for sandbox: tag environment=prod; not upgraded",
    )
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-1": 1})
    assert record_names(conductor, "sandbox") == ["aks-sandbox-weu-1"]


# -- 2. node pools ---------------------------------------------------------------------------------------
def test_a_pool_one_minor_behind_caps_the_upgrade_so_nothing_moves_two_minors(conductor: Conductor) -> None:
    # GIVEN sandbox-weu-1: control plane 1.30.4, pool user1 still on 1.29.9
    conductor.arm.set_cluster_state("aks-sandbox-weu-1", agentPools={"user1": "1.29.9"})

    result = conductor.run(MON)

    # THEN it runs 1.29.9, so it goes to 1.30.x (the pool moves one minor), not to 1.31.2
    cluster = by_name(result)["aks-sandbox-weu-1"]
    assert (cluster["from"], cluster["to"], cluster["result"]) == ("1.29.9", "1.30.5", "upgraded")
    put = next(r for r in conductor.puts() if r.path.endswith("/aks-sandbox-weu-1"))
    assert put.body["properties"]["kubernetesVersion"] == "1.30.5"
    assert {p["name"]: p["orchestratorVersion"] for p in put.body["properties"]["agentPoolProfiles"]} == {
        "system": "1.30.5",
        "user1": "1.30.5",
    }
    pools = conductor.arm.cluster("aks-sandbox-weu-1")["properties"]["agentPoolProfiles"]
    assert {p["currentOrchestratorVersion"] for p in pools} == {"1.30.5"}
    # ... and the record is what every eligible cluster's lowest part runs, capped at the target
    assert result["status"] == "succeeded" and result["recordedVersion"] == NEWEST_GA


def test_a_control_plane_at_the_target_with_a_lagging_pool_gets_the_pool_upgraded(conductor: Conductor) -> None:
    # GIVEN sandbox-weu-2 whose control plane already runs the newest GA while pool user1 lags
    conductor.arm.set_cluster_state("aks-sandbox-weu-2", kubernetesVersion=NEWEST_GA)
    conductor.arm.set_cluster_state("aks-sandbox-weu-2", agentPools={"user1": "1.31.1"})

    result = conductor.run(MON)

    # THEN it is not "already-current": one PUT brings the pool up; the system pool is left as it is
    cluster = by_name(result)["aks-sandbox-weu-2"]
    assert (cluster["from"], cluster["to"], cluster["result"]) == ("1.31.1", NEWEST_GA, "upgraded")
    put = next(r for r in conductor.puts() if r.path.endswith("/aks-sandbox-weu-2"))
    assert put.body["properties"]["kubernetesVersion"] == NEWEST_GA
    assert {p["name"]: p["orchestratorVersion"] for p in put.body["properties"]["agentPoolProfiles"]} == {
        "system": NEWEST_GA,
        "user1": NEWEST_GA,
    }
    pools = conductor.arm.cluster("aks-sandbox-weu-2")["properties"]["agentPoolProfiles"]
    assert {p["currentOrchestratorVersion"] for p in pools} == {NEWEST_GA}


def test_a_lagging_pool_is_not_counted_as_current_in_a_followers_record(conductor: Conductor) -> None:
    conductor.run(MON)
    # dev-weu-1 control plane at the validated version, its user pool one minor behind
    conductor.arm.set_cluster_state("aks-dev-weu-1", kubernetesVersion=NEWEST_GA)
    conductor.arm.set_cluster_state("aks-dev-weu-1", agentPools={"user1": "1.30.5"})
    conductor.arm.clear_requests()

    result = conductor.run(MON + timedelta(days=1), MIN_SOAK_HOURS="0")

    cluster = by_name(result)["aks-dev-weu-1"]
    assert (cluster["from"], cluster["to"], cluster["result"]) == ("1.30.5", NEWEST_GA, "upgraded")
    assert accepted_puts(conductor)["aks-dev-weu-1"] == 1


# -- 3. forceUpgrade override ----------------------------------------------------------------------------
def test_a_cluster_under_a_force_upgrade_override_is_skipped_until_it_ends(conductor: Conductor) -> None:
    until = datetime.combine(MON + timedelta(days=2), time(0, 0), tzinfo=UTC)
    override = {"overrideSettings": {"forceUpgrade": True, "until": until.isoformat().replace("+00:00", "Z")}}
    conductor.arm.set_cluster_state("aks-sandbox-weu-1", upgradeSettings=override)

    result = conductor.run(MON)

    cluster = by_name(result)["aks-sandbox-weu-1"]
    assert cluster["result"] == "skipped"
    assert "forceUpgrade" in cluster["reason"] and until.isoformat() in cluster["reason"]
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-2": 1})
    # never cleared: the operator's setting is as they left it
    assert conductor.arm.cluster("aks-sandbox-weu-1")["properties"]["upgradeSettings"] == override


def test_an_expired_override_goes_back_unchanged_with_the_upgrade(conductor: Conductor) -> None:
    ended = datetime.combine(MON - timedelta(days=1), time(0, 0), tzinfo=UTC).isoformat().replace("+00:00", "Z")
    conductor.arm.set_cluster_state("aks-sandbox-weu-1", upgradeSettings={"overrideSettings": {"forceUpgrade": True, "until": ended}})

    result = conductor.run(MON)

    assert by_name(result)["aks-sandbox-weu-1"]["result"] == "upgraded"
    put = next(r for r in conductor.puts() if r.path.endswith("/aks-sandbox-weu-1"))
    assert put.body["properties"]["upgradeSettings"]["overrideSettings"]["forceUpgrade"] is True


# -- 4. nodeImageVersion ---------------------------------------------------------------------------------
def test_the_put_never_asks_for_the_old_node_image(conductor: Conductor) -> None:
    result = conductor.run(MON)

    assert result["status"] == "succeeded"
    for put in conductor.puts():
        assert all("nodeImageVersion" not in pool for pool in put.body["properties"]["agentPoolProfiles"]), put.path
    for name in ("aks-sandbox-weu-1", "aks-sandbox-weu-2"):
        pools = conductor.arm.cluster(name)["properties"]["agentPoolProfiles"]
        assert {p["nodeImageVersion"] for p in pools} == {NODE_IMAGE_LATEST}, name


# -- 5. duplicate subscriptions ----------------------------------------------------------------------------
def test_a_subscription_named_twice_is_planned_and_upgraded_once(conductor: Conductor) -> None:
    twice = f"{NONPROD_SUBSCRIPTION},{NONPROD_SUBSCRIPTION.upper()}"
    result = conductor.run(MON, SUBSCRIPTION_IDS=twice)

    names = [c["id"].rsplit("/", 1)[-1] for c in result["clusters"]]
    assert sorted(names) == ["aks-sandbox-weu-1", "aks-sandbox-weu-2"]
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-1": 1, "aks-sandbox-weu-2": 1})
    listed = [r for r in conductor.arm.requests if r.path.lower().endswith("/managedclusters")]
    assert len({r.path.lower() for r in listed}) == 1 and len(listed) == len({(r.path, r.query.get("$skiptoken")) for r in listed})


# -- 6. previews are never recorded -----------------------------------------------------------------------
def test_a_lead_cluster_already_on_a_preview_is_skipped_and_the_preview_never_recorded(conductor: Conductor) -> None:
    conductor.arm.set_cluster_state("aks-sandbox-weu-2", kubernetesVersion="1.32.0")  # listed only as a preview

    result = conductor.run(MON)

    cluster = by_name(result)["aks-sandbox-weu-2"]
    assert (cluster["result"], cluster["reason"]) == ("skipped", "runs preview 1.32.0: a preview is never upgraded from or recorded")
    assert result["targetVersion"] == NEWEST_GA and result["recordedVersion"] == NEWEST_GA
    record = conductor.record("sandbox")
    assert record is not None and record.version == NEWEST_GA
    assert record_names(conductor, "sandbox") == ["aks-sandbox-weu-1"]


# -- 16. a joined upgrade says so -----------------------------------------------------------------------
def test_a_cluster_already_upgrading_to_the_target_is_joined_and_says_no_put_was_sent(conductor: Conductor) -> None:
    # GIVEN an operator's own upgrade of sandbox-weu-2 to the newest GA, still running when the run starts
    fleet = sample_fleet()
    slow = tuple(replace(c, operation=OperationBehaviour(polls=4)) if c.name == "aks-sandbox-weu-2" else c for c in fleet.clusters)
    conductor.arm.reset(replace(fleet, clusters=slow))
    client = ContainerServiceClient(
        StaticTokenCredential(), NONPROD_SUBSCRIPTION, base_url=conductor.arm.base_url, connection_verify=conductor.arm.ca_bundle_path
    )
    mc = client.managed_clusters.get("rg-aks-sandbox", "aks-sandbox-weu-2")
    mc.properties.kubernetes_version = NEWEST_GA
    for pool in mc.properties.agent_pool_profiles:
        pool.orchestrator_version = NEWEST_GA
        del pool["nodeImageVersion"]
    client.managed_clusters.begin_create_or_update(
        "rg-aks-sandbox", "aks-sandbox-weu-2", mc, etag=mc.e_tag, match_condition=MatchConditions.IfNotModified, polling=False
    )
    conductor.arm.clear_requests()

    result = conductor.run(MON)

    cluster = by_name(result)["aks-sandbox-weu-2"]
    assert (cluster["result"], cluster["to"]) == ("upgraded", NEWEST_GA)
    assert cluster["reason"] == f"joined an upgrade already in progress to {NEWEST_GA} (this run sent no PUT)"
    assert by_name(result)["aks-sandbox-weu-1"]["reason"] is None  # its upgrade was this run's own
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-1": 1})


def test_a_pool_added_while_the_cluster_waited_is_seen_before_the_put(conductor: Conductor) -> None:
    # sandbox-weu-2 (1.31.1 -> 1.31.2) gets a new pool on 1.29.9 while it waits for its slot
    conductor.arm.add_fault(change_while_the_first_upgrade_runs("aks-sandbox-weu-2", agentPools={"spot": "1.29.9"}))

    result = conductor.run(MON, MAX_PARALLEL_UPGRADES="1")

    cluster = by_name(result)["aks-sandbox-weu-2"]
    assert cluster["result"] == "skipped"
    assert (
        cluster["reason"] == "changed since planning: node pool spot runs 1.29.9, more than one minor below the target 1.31.2; not upgraded"
    )
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-1": 1})


def test_a_cluster_deleted_while_it_waited_is_skipped_not_failed(conductor: Conductor) -> None:
    # The GET right before its PUT answers 404: it is gone, like any other change since planning.
    conductor.arm.add_fault(
        FaultRule(
            kind="error",
            method="GET",
            path=r"/managedClusters/aks-sandbox-weu-2$",
            status=404,
            code="ResourceNotFound",
            message="The Resource 'Microsoft.ContainerService/managedClusters/aks-sandbox-weu-2' was not found.",
        )
    )
    result = conductor.run(MON, MAX_PARALLEL_UPGRADES="1")

    cluster = by_name(result)["aks-sandbox-weu-2"]
    assert result["status"] == "succeeded"
    assert cluster["result"] == "skipped" and cluster["to"] is None
    assert cluster["reason"].startswith("changed since planning: the cluster no longer exists (ResourceNotFound: ")
    assert record_names(conductor, "sandbox") == ["aks-sandbox-weu-1"]


def test_a_plan_carried_without_the_subscription_name_asks_arm_for_it(conductor: Conductor) -> None:
    # A run planned by the version before the name was carried, started by this one (a deployment
    # in the middle of a run), under the subscription-name selector.
    settings = conductor.settings(CLUSTER_SELECTOR="subscription-name")
    runtime.install(runtime.build(settings))
    doc = conductor.arm.cluster("aks-sandbox-weu-1")
    fleet = sample_fleet()
    renamed = tuple(
        replace(s, display_name="Platform Sandbox") if s.subscription_id == NONPROD_SUBSCRIPTION else s for s in fleet.subscriptions
    )
    conductor.arm.reset(replace(fleet, subscriptions=renamed))
    plan = {
        "id": doc["id"],
        "name": doc["name"],
        "subscriptionId": NONPROD_SUBSCRIPTION,
        "resourceGroup": "rg-aks-sandbox",
        "location": "westeurope",
        "from": "1.30.4",
        "to": "1.30.5",
        "action": "upgrade",
        "reason": None,
        "eligible": True,
    }
    request = {"cluster": plan, "environment": "sandbox", "instanceId": "i", "clock": f"{MON}T09:00:00+00:00"}

    answer = runner.registry().activities["StartClusterUpgrade"](request)

    assert answer["state"] == "upgrading", answer
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-1": 1})


def test_a_subscription_the_identity_cannot_see_is_named_in_a_warning(conductor: Conductor, caplog: pytest.LogCaptureFixture) -> None:
    unseen = "00000000-0000-0000-0000-00000000ffff"
    caplog.set_level(logging.WARNING)

    result = conductor.run(MON, dry_run=True, SUBSCRIPTION_IDS=f"{NONPROD_SUBSCRIPTION},{unseen}", CLUSTER_SELECTOR="subscription-name")

    assert result["status"] in ("planned", "nothing-to-do")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and unseen in r.getMessage()]
    assert warnings and "not visible to this identity" in warnings[0]
