"""Target policies on a whole lead run, and progress as durable custom status.

The sample catalogue offers 1.29.8/9, 1.30.4/5, 1.31.1/2 (GA) and 1.32.0 (preview): the newest GA
minor N is 1.31, so `stable` means the newest 1.30 patch.
"""

from __future__ import annotations

import pytest

from shared import orchestration
from tests.e2e.conftest import MON, Conductor, by_name


def test_latest_takes_each_lead_cluster_to_the_newest_ga_it_can_reach(conductor: Conductor) -> None:
    clusters = by_name(conductor.run(MON, TARGET_POLICY="latest"))

    assert {n: (c["from"], c["to"]) for n, c in clusters.items()} == {
        "aks-sandbox-weu-1": ("1.30.4", "1.31.2"),
        "aks-sandbox-weu-2": ("1.31.1", "1.31.2"),
    }


def test_patch_stays_within_each_clusters_minor(conductor: Conductor) -> None:
    result = conductor.run(MON, TARGET_POLICY="patch")
    clusters = by_name(result)

    assert {n: (c["from"], c["to"], c["result"]) for n, c in clusters.items()} == {
        "aks-sandbox-weu-1": ("1.30.4", "1.30.5", "upgraded"),
        "aks-sandbox-weu-2": ("1.31.1", "1.31.2", "upgraded"),
    }
    assert result["targetVersion"] == "1.31.2" and result["recordedVersion"] == "1.31.2"


def test_stable_takes_the_newest_patch_of_the_minor_before_the_newest(conductor: Conductor) -> None:
    result = conductor.run(MON, TARGET_POLICY="stable")
    clusters = by_name(result)

    assert (clusters["aks-sandbox-weu-1"]["to"], clusters["aks-sandbox-weu-1"]["result"]) == ("1.30.5", "upgraded")
    assert clusters["aks-sandbox-weu-2"]["result"] == "skipped"
    assert clusters["aks-sandbox-weu-2"]["reason"].startswith("above target")
    assert result["targetVersion"] == result["recordedVersion"] == "1.30.5"
    assert any("/kubernetesVersions" in r.path for r in conductor.arm.requests)
    assert set(conductor.put_targets().values()) == {"1.30.5"}


def test_custom_status_reports_phase_and_clusters_done_while_it_runs(conductor: Conductor) -> None:
    outcome = conductor.execute(MON, MAX_PARALLEL_UPGRADES="1")
    statuses = outcome.run.custom_statuses

    phases = [s["phase"] for s in statuses]
    assert phases[0] == "planning" and phases[-1] == "done"
    assert "upgrading" in phases and "recording" in phases
    upgrading = [s for s in statuses if s["phase"] == "upgrading"]
    assert {s["clustersTotal"] for s in upgrading} == {2}
    assert [s["clustersDone"] for s in upgrading] == sorted(s["clustersDone"] for s in upgrading)
    assert max(s["inFlight"] for s in upgrading) == 1  # MAX_PARALLEL_UPGRADES=1
    assert statuses[-1]["status"] == "succeeded"


def test_max_parallel_upgrades_bounds_the_upgrades_in_flight(conductor: Conductor) -> None:
    outcome = conductor.execute(MON, MAX_PARALLEL_UPGRADES="1")
    starts = [i for i, (name, _) in enumerate(outcome.run.activity_calls) if name == "StartClusterUpgrade"]
    checks = [i for i, (name, _) in enumerate(outcome.run.activity_calls) if name == "CheckUpgradeProgress"]

    assert len(starts) == 2
    assert any(starts[0] < c < starts[1] for c in checks)  # the second starts only after the first was seen done


def test_a_long_upgrade_continues_as_new_and_ends_exactly_like_a_short_one(conductor: Conductor, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN executions cut after every poll round (production: every 50), one cluster at a time
    monkeypatch.setattr(orchestration, "ROUNDS_PER_EXECUTION", 1)
    outcome = conductor.execute(MON, MAX_PARALLEL_UPGRADES="1")

    # THEN the instance went through several executions, each with a short history ...
    assert outcome.run.executions >= 3
    assert len(outcome.run.history) < 40
    # ... and the result, the PUTs and the record are those of an uncut run
    assert outcome.result["status"] == "succeeded" and outcome.result["recordedVersion"] == "1.31.2"
    assert {c["result"] for c in outcome.result["clusters"]} == {"upgraded"}
    assert sorted(conductor.put_targets()) == ["aks-sandbox-weu-1", "aks-sandbox-weu-2"] and len(conductor.puts()) == 2
    assert outcome.run.custom_statuses[-1]["phase"] == "done"
