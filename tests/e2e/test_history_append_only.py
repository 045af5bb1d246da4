"""The audit history is append-only: a re-run of the same environment and date adds its
attempts next to the earlier ones (a failure is never erased by the re-run that fixed it), while
a retried history activity of one run duplicates nothing."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from ops import runner
from ops.durable import driver as driver_mod
from ops.emulator import FaultRule
from shared import orchestration, runtime
from tests.e2e.conftest import FAST_ARM, MON, Conductor

#: What the starters send: no runId, so the orchestrator makes its own.
STARTER_INPUT = {"environment": None, "date": MON.isoformat(), "dryRun": False, "force": True}

FAILED_CLUSTER = "aks-sandbox-weu-2"
DRAIN_FAILED = "UpgradeFailed: Drain of node aks-nodepool1-123 did not complete."


def _fail_the_next_upgrade_of(conductor: Conductor, cluster: str) -> None:
    conductor.arm.add_fault(
        FaultRule(
            kind="outcome",
            cluster=cluster,
            times=1,
            outcome="Failed",
            code="UpgradeFailed",
            message="Drain of node aks-nodepool1-123 did not complete.",
        )
    )


def _name(cluster_id: str) -> str:
    return cluster_id.rsplit("/", 1)[-1]


def test_a_rerun_of_the_same_date_keeps_the_earlier_failure_and_upgrade_in_ops_history(conductor: Conductor) -> None:
    # GIVEN Monday's run, in which one cluster's upgrade failed
    _fail_the_next_upgrade_of(conductor, FAILED_CLUSTER)
    first = conductor.cli("run", "--date", MON.isoformat(), "--json")
    assert first.returncode == 1, first.stderr
    assert {(_name(c["id"]), c["result"]) for c in conductor.last_json(first)["clusters"]} == {
        ("aks-sandbox-weu-1", "upgraded"),
        (FAILED_CLUSTER, "failed"),
    }
    # AND an operator who repaired the cluster and ran the same date again
    conductor.arm.set_cluster_state(FAILED_CLUSTER, provisioningState="Succeeded")
    again = conductor.cli("run", "--date", MON.isoformat(), "--json")
    assert again.returncode == 0, again.stderr
    rerun = conductor.last_json(again)
    assert rerun["instanceId"] == conductor.last_json(first)["instanceId"]

    # WHEN they read the history
    process = conductor.cli("history", "--environment", "sandbox", "--json")

    # THEN both runs' attempts are there, the failure with ARM's reason included
    assert process.returncode == 0, process.stderr
    rows = conductor.last_json(process)
    attempts = Counter((_name(r["cluster"]), r["result"]) for r in rows)
    assert attempts == Counter(
        {
            ("aks-sandbox-weu-1", "upgraded"): 1,
            (FAILED_CLUSTER, "failed"): 1,
            ("aks-sandbox-weu-1", "already-current"): 1,
            (FAILED_CLUSTER, "upgraded"): 1,
        }
    )
    [failure] = [r for r in rows if r["result"] == "failed"]
    assert failure["reason"] == DRAIN_FAILED
    assert len({r["runId"] for r in rows}) == 2
    assert {r["instanceId"] for r in rows} == {rerun["instanceId"]}


def test_a_retried_history_activity_of_one_run_adds_no_rows(conductor: Conductor) -> None:
    outcome = conductor.execute(MON)
    [recorded] = [payload for name, payload in outcome.run.activity_calls if name == "RecordUpgradeHistory"]
    before = conductor.history.list("sandbox")
    assert len(before) == 2

    # The host runs an activity at least once: the same input may be recorded again.
    again = runner.registry().activities["RecordUpgradeHistory"](json.loads(json.dumps(recorded)))

    assert again == {"written": 2}
    assert conductor.history.list("sandbox") == before


def _start_like_azure(conductor: Conductor, clock_offset: timedelta, **extra: str) -> driver_mod.OrchestrationRun:
    """The orchestrator as a starter starts it (no runId in the input), at the schedule time plus
    ``clock_offset``: in Azure each start of an instance id has its own clock."""
    settings = conductor.settings(**extra)
    runtime.install(runtime.build(settings, arm_client_options=FAST_ARM))
    reg = runner.registry()
    return driver_mod.run_orchestration(
        reg.orchestrators["UpgradeOrchestrator"],
        reg.activities,
        f"aks-upgrade-sandbox-{MON}",
        STARTER_INPUT,
        runner.start_clock(settings, MON) + clock_offset,
        name="UpgradeOrchestrator",
    )


def test_a_forced_rerun_started_by_a_starter_adds_rows_under_its_own_run_id(conductor: Conductor) -> None:
    first = _start_like_azure(conductor, timedelta(0))
    again = _start_like_azure(conductor, timedelta(hours=2))

    assert first.output["status"] == again.output["status"] == "succeeded"
    rows = conductor.history.list("sandbox")
    assert Counter(r.result for r in rows) == Counter({"upgraded": 2, "already-current": 2})
    assert len({r.run_id for r in rows}) == 2 and None not in {r.run_id for r in rows}


def test_the_orchestrators_run_id_survives_continue_as_new(conductor: Conductor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orchestration, "ROUNDS_PER_EXECUTION", 1)

    run = _start_like_azure(conductor, timedelta(0), MAX_PARALLEL_UPGRADES="1")

    assert run.executions >= 3 and run.output["status"] == "succeeded"
    last_input: dict[str, Any] = json.loads(run.input_json or "null")
    assert isinstance(last_input.get("runId"), str)
    assert {r.run_id for r in conductor.history.list("sandbox")} == {last_input["runId"]}
