"""Whole rollout weeks through the real app: timer date → orchestrator → activities → ARM emulator
and Azurite, with the orchestrator driven by the durable SDK's own replay."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime, timedelta

from ops.durable import driver as driver_mod
from ops.emulator import sample_fleet
from ops.runner import registry
from shared.domain.records import ValidatedRecord
from tests.e2e.conftest import FRI, MON, SAT, THU, TUE, WED, Conductor, by_name, freeze_range, instance_id, iso, schedule_start
from tests.plugins.arm_emulator import NONPROD_SUBSCRIPTION

NEWEST_GA = "1.31.2"  # the sample catalogue also lists 1.32.0, but only as a preview


def test_a_week_takes_sandbox_to_the_newest_ga_and_every_follower_to_the_same_version(conductor: Conductor) -> None:
    results = [conductor.run(day) for day in (MON, TUE, WED, THU)]

    assert [(r["environment"], r["role"], r["status"]) for r in results] == [
        ("sandbox", "lead", "succeeded"),
        ("dev", "follower", "succeeded"),
        ("test", "follower", "succeeded"),
        ("prod", "follower", "succeeded"),
    ]
    assert all(r["targetVersion"] == NEWEST_GA and r["recordedVersion"] == NEWEST_GA for r in results)
    assert "1.32.0" not in conductor.put_targets().values()
    for environment, day, result in zip(("sandbox", "dev", "test", "prod"), (MON, TUE, WED, THU), results, strict=True):
        record = conductor.record(environment)
        assert record is not None and record.version == NEWEST_GA
        assert result["date"] == iso(day)
        assert record.instance_id == result["instanceId"] == instance_id(environment, day)


def test_a_cluster_two_minors_behind_moves_one_minor_toward_the_validated_version(conductor: Conductor) -> None:
    conductor.run(MON)
    dev = by_name(conductor.run(TUE))

    assert dev["aks-dev-weu-2"] == {**dev["aks-dev-weu-2"], "from": "1.29.9", "to": "1.30.5", "result": "upgraded"}
    record = conductor.versions.read_validated("dev")
    assert record is not None and record.version == NEWEST_GA
    assert [c.rsplit("/", 1)[-1] for c in record.clusters] == ["aks-dev-weu-1"]


def test_the_put_carries_the_whole_cluster_with_every_node_pool_at_the_target(conductor: Conductor) -> None:
    before = conductor.arm.cluster("aks-sandbox-weu-1")
    conductor.run(MON)

    put = next(r for r in conductor.puts() if r.path.endswith("/aks-sandbox-weu-1"))
    body = put.body
    assert put.headers.get("If-Match") or put.headers.get("if-match")
    assert body["properties"]["kubernetesVersion"] == NEWEST_GA
    assert {p["orchestratorVersion"] for p in body["properties"]["agentPoolProfiles"]} == {NEWEST_GA}
    assert [p["name"] for p in body["properties"]["agentPoolProfiles"]] == [p["name"] for p in before["properties"]["agentPoolProfiles"]]
    # Everything writable comes back as it was; read-only fields (effectiveOutboundIPs) are the SDK's to drop.
    network = copy.deepcopy(before["properties"]["networkProfile"])
    network["loadBalancerProfile"].pop("effectiveOutboundIPs", None)
    assert body["properties"]["networkProfile"] == network
    for key in ("dnsPrefix", "enableRBAC", "addonProfiles", "aadProfile", "nodeResourceGroup"):
        assert body["properties"].get(key) == before["properties"].get(key), key
    assert body["identity"]["type"] == before["identity"]["type"]
    assert body["tags"] == before["tags"] and body["location"] == before["location"]
    assert "servicePrincipalProfile" not in body["properties"]


def test_stopped_and_opted_out_clusters_are_skipped_without_failing_prod(conductor: Conductor) -> None:
    for day in (MON, TUE, WED):
        conductor.run(day)
    prod = conductor.run(THU)

    clusters = by_name(prod)
    assert prod["status"] == "succeeded"
    assert clusters["aks-prod-weu-batch"]["result"] == "skipped" and "Stopped" in clusters["aks-prod-weu-batch"]["reason"]
    assert clusters["aks-prod-weu-legacy"]["result"] == "skipped" and "opted out" in clusters["aks-prod-weu-legacy"]["reason"]
    assert set(conductor.put_targets()) >= {"aks-prod-weu-1"}
    assert not {"aks-prod-weu-batch", "aks-prod-weu-legacy"} & set(conductor.put_targets())
    record = conductor.versions.read_validated("prod")
    assert record is not None and [c.rsplit("/", 1)[-1] for c in record.clusters] == ["aks-prod-weu-1"]


def test_a_follower_without_a_validated_predecessor_upgrades_nothing_and_says_why(conductor: Conductor) -> None:
    result = conductor.run(TUE)

    assert result["status"] == "skipped" and result["environment"] == "dev" and result["role"] == "follower"
    assert "no validated version" in result["reason"] and "sandbox" in result["reason"]
    assert conductor.puts() == []


def test_a_follower_waits_until_its_predecessor_has_soaked(conductor: Conductor) -> None:
    conductor.run(MON)
    result = conductor.run(TUE, MIN_SOAK_HOURS="30")

    assert result["status"] == "skipped" and "MIN_SOAK_HOURS is 30" in result["reason"]
    assert not any("aks-dev" in r.path for r in conductor.puts())


def first_tuesday_at_or_after(moment: datetime) -> date:
    """The first Tuesday (dev's wave) whose run starts at or after ``moment``."""
    day = moment.date() - timedelta(days=1)
    while day.weekday() != TUE.weekday() or schedule_start(day) < moment:
        day += timedelta(days=1)
    return day


def test_the_original_aksversion_row_counts_as_the_leads_record(conductor: Conductor) -> None:
    # GIVEN only the row the original app wrote; its time is Azurite's real Timestamp, so the
    # run dates are chosen relative to it, not to a fixed week
    table = conductor.versions._client
    table.create_table()
    table.create_entity({"PartitionKey": "aksversion", "RowKey": "1", "versionnumber": "1.30.5"})
    legacy = conductor.versions.read_legacy()
    assert legacy is not None
    soak_hours = conductor.settings().min_soak_hours
    soaked_tuesday = first_tuesday_at_or_after(legacy.validated_at + timedelta(hours=soak_hours))

    # WHEN dev runs on the Tuesday before the row has soaked, THEN it waits for it
    early = conductor.run(soaked_tuesday - timedelta(days=7))
    assert (early["environment"], early["status"]) == ("dev", "skipped")
    assert f"validated 1.30.5 at {legacy.validated_at.isoformat()}" in early["reason"] and "MIN_SOAK_HOURS" in early["reason"]
    assert conductor.puts() == []

    # WHEN it runs on the first Tuesday at least MIN_SOAK_HOURS after the row, THEN it takes that version
    result = conductor.run(soaked_tuesday)
    assert (result["environment"], result["status"], result["targetVersion"]) == ("dev", "succeeded", "1.30.5")
    assert set(conductor.put_targets().values()) == {"1.30.5"}


def test_a_rerun_of_the_same_day_sends_no_second_put_and_keeps_the_soak_clock(conductor: Conductor) -> None:
    first = conductor.run(MON)
    recorded = conductor.versions.read_validated("sandbox")
    puts_after_first = len(conductor.puts())

    again = conductor.run(MON)

    assert first["status"] == again["status"] == "succeeded"
    assert {c["result"] for c in again["clusters"]} == {"already-current"}
    assert len(conductor.puts()) == puts_after_first == 2
    assert conductor.versions.read_validated("sandbox") is not None
    assert conductor.versions.read_validated("sandbox").validated_at == recorded.validated_at  # type: ignore[union-attr]


def test_a_dry_run_plans_everything_and_changes_nothing(conductor: Conductor) -> None:
    result = conductor.run(MON, dry_run=True)

    assert result["status"] == "planned"
    assert {c["result"] for c in result["clusters"]} == {"planned"}
    assert all(c["to"] == NEWEST_GA for c in result["clusters"])
    assert conductor.puts() == []
    assert conductor.record("sandbox") is None


def test_dry_run_setting_is_honoured_like_the_flag(conductor: Conductor) -> None:
    result = conductor.run(MON, DRY_RUN="true")

    assert result["status"] == "planned" and conductor.puts() == []


def test_a_day_without_a_wave_has_nothing_to_do(conductor: Conductor) -> None:
    for day in (FRI, SAT):
        result = conductor.run(day)
        assert (result["status"], result["environment"], result["role"]) == ("nothing-to-do", None, "none")
        assert "no wave" in result["reason"]
    assert [r for r in conductor.arm.requests if "/_emulator" not in r.path] == []


def test_a_frozen_date_starts_no_upgrade(conductor: Conductor) -> None:
    result = conductor.run(MON, FREEZE_DATES=freeze_range(MON - timedelta(days=2), WED))

    assert result["status"] == "skipped" and result["environment"] == "sandbox" and result["role"] == "lead"
    assert "frozen" in result["reason"]
    assert conductor.puts() == []


def test_an_explicit_environment_runs_its_wave_on_any_date(conductor: Conductor) -> None:
    result = conductor.run(SAT, "sandbox")

    assert result["environment"] == "sandbox" and result["role"] == "lead" and result["status"] == "succeeded"
    assert result["instanceId"] == instance_id("sandbox", SAT)


def test_validated_at_is_the_orchestrator_clock_not_the_machine_clock(conductor: Conductor) -> None:
    conductor.run(MON)
    record = conductor.versions.read_validated("sandbox")

    assert isinstance(record, ValidatedRecord)
    start = schedule_start(MON)  # 10:00 Europe/Oslo
    assert start <= record.validated_at <= start + timedelta(hours=6)


def test_replaying_a_finished_run_gives_the_same_actions_and_output_without_running_activities(conductor: Conductor) -> None:
    outcome = conductor.execute(MON)
    put_count = len(conductor.puts())
    handle = registry().orchestrators["UpgradeOrchestrator"]

    run_input = json.loads(outcome.run.input_json or "null")
    assert {k: run_input[k] for k in ("environment", "date", "dryRun", "force")} == {
        "environment": None,
        "date": iso(MON),
        "dryRun": False,
        "force": False,
    }
    replayed = driver_mod.replay(handle, outcome.run.history, run_input, outcome.run.instance_id)

    assert replayed.is_done and replayed.output == outcome.result
    assert replayed.actions == outcome.run.actions
    assert len(conductor.puts()) == put_count


def test_upgrade_history_has_one_row_per_cluster_attempt(conductor: Conductor) -> None:
    conductor.run(MON)
    rows = conductor.history.list("sandbox")

    assert sorted(r.cluster_id.rsplit("/", 1)[-1] for r in rows) == ["aks-sandbox-weu-1", "aks-sandbox-weu-2"]
    assert {(r.from_version, r.to_version, r.result) for r in rows} == {
        ("1.30.4", NEWEST_GA, "upgraded"),
        ("1.31.1", NEWEST_GA, "upgraded"),
    }
    assert {r.instance_id for r in rows} == {instance_id("sandbox", MON)}


def _profile_reads(conductor: Conductor) -> list[str]:
    return sorted(
        r.path.split("/managedClusters/")[1].split("/")[0]
        for r in conductor.arm.requests
        if r.path.lower().endswith("/upgradeprofiles/default")
    )


def test_a_follower_reads_upgrade_profiles_only_for_clusters_below_the_validated_version(conductor: Conductor) -> None:
    conductor.run(MON)
    conductor.run(TUE)  # dev: weu-1 1.30.5 -> 1.31.2, weu-2 1.29.9 -> 1.30.5 (one minor)
    conductor.arm.clear_requests()

    again = by_name(conductor.run(TUE))

    # weu-1 is at the validated version: already-current without asking ARM what it could reach.
    assert again["aks-dev-weu-1"]["result"] == "already-current"
    assert again["aks-dev-weu-2"] == {**again["aks-dev-weu-2"], "from": "1.30.5", "to": NEWEST_GA, "result": "upgraded"}
    assert _profile_reads(conductor) == ["aks-dev-weu-2"]


def test_the_lead_plans_standard_plan_clusters_from_one_version_list_and_reads_only_other_clusters_profiles(
    conductor: Conductor,
) -> None:
    # aks-sandbox-weu-2 moves to long-term support: the region's list does not describe its paths.
    lts = conductor.arm.cluster("aks-sandbox-weu-2")
    lts["properties"]["supportPlan"] = "AKSLongTermSupport"
    conductor.arm.adopt_cluster_document(lts)

    result = by_name(conductor.run(MON))

    assert {name: (c["from"], c["to"], c["result"]) for name, c in result.items()} == {
        "aks-sandbox-weu-1": ("1.30.4", NEWEST_GA, "upgraded"),
        "aks-sandbox-weu-2": ("1.31.1", NEWEST_GA, "upgraded"),
    }
    version_lists = [r for r in conductor.arm.requests if r.path.lower().endswith("/kubernetesversions")]
    assert len(version_lists) == 1  # one location, read once for the run
    assert _profile_reads(conductor) == ["aks-sandbox-weu-2"]


def test_the_subscription_name_selector_lists_clusters_only_in_subscriptions_named_for_the_environment(
    conductor: Conductor,
) -> None:
    fleet = sample_fleet()
    renamed = tuple(replace(s, display_name="Platform Sandbox") if s.display_name == "Platform NonProd" else s for s in fleet.subscriptions)
    conductor.arm.reset(replace(fleet, subscriptions=renamed))

    result = conductor.run(MON, dry_run=True, CLUSTER_SELECTOR="subscription-name")

    listed = {r.path.split("/")[2] for r in conductor.arm.requests if r.path.lower().endswith("/managedclusters")}
    assert listed == {NONPROD_SUBSCRIPTION}  # "Platform Prod" cannot hold sandbox: never listed
    # Every cluster of the renamed subscription belongs to sandbox now, whatever its tag says.
    assert {c["id"].split("/")[2] for c in result["clusters"]} == {NONPROD_SUBSCRIPTION}
    assert len(result["clusters"]) == 6
