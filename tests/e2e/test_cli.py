"""The `python -m ops` contract as outside harnesses use it: last-line JSON and exit codes."""

from __future__ import annotations

from ops.emulator import FaultRule
from tests.e2e.conftest import MON, Conductor, instance_id, iso

CONTRACT_KEYS = {"instanceId", "date", "environment", "role", "status", "reason", "targetVersion", "recordedVersion", "clusters"}
CLUSTER_KEYS = {"id", "from", "to", "result", "reason"}


def test_ops_run_prints_the_contract_json_as_its_last_line(conductor: Conductor) -> None:
    process = conductor.cli("run", "--date", iso(MON), "--json")

    assert process.returncode == 0, process.stderr
    result = conductor.last_json(process)
    assert set(result) == CONTRACT_KEYS
    assert all(set(c) == CLUSTER_KEYS for c in result["clusters"])
    assert (result["environment"], result["role"], result["status"], result["targetVersion"]) == ("sandbox", "lead", "succeeded", "1.31.2")
    assert result["instanceId"] == instance_id("sandbox", MON)


def test_a_failed_run_exits_1_and_names_armss_error_code(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        FaultRule(
            kind="outcome",
            cluster="aks-sandbox-weu-2",
            outcome="Failed",
            code="UpgradeFailed",
            message="Drain of node aks-nodepool1-123 did not complete.",
        )
    )
    process = conductor.cli("run", "--date", iso(MON), "--json")

    assert process.returncode == 1
    result = conductor.last_json(process)
    failed = [c for c in result["clusters"] if c["result"] == "failed"]
    assert result["status"] == "failed" and result["recordedVersion"] is None and result["reason"]
    assert [c["reason"] for c in failed] == ["UpgradeFailed: Drain of node aks-nodepool1-123 did not complete."]
    assert conductor.record("sandbox") is None


def test_bad_settings_exit_2_name_every_setting_and_contact_nothing(conductor: Conductor) -> None:
    process = conductor.cli(
        "run",
        "--date",
        iso(MON),
        "--json",
        TARGET_POLICY="newest",
        FREEZE_DATES="2026-02-30",
        ROLLOUT_PLAN='{"waves": [{"day": "Funday", "environment": "dev"}]}',
    )

    assert process.returncode == 2
    for name in ("TARGET_POLICY", "FREEZE_DATES", "ROLLOUT_PLAN"):
        assert name in process.stderr
    assert conductor.arm.requests == []
    assert conductor.record("sandbox") is None


def test_emulator_credential_is_refused_against_a_real_endpoint(conductor: Conductor) -> None:
    process = conductor.cli("run", "--date", iso(MON), ARM_ENDPOINT="https://management.azure.com")

    assert process.returncode == 2 and "AZURE_CREDENTIAL_KIND" in process.stderr
    assert conductor.arm.requests == []


def test_unknown_environment_and_bad_date_are_usage_errors(conductor: Conductor) -> None:
    unknown = conductor.cli("run", "--date", iso(MON), "--environment", "staging")
    bad_date = conductor.cli("run", "--date", MON.strftime("%d.%m.%Y"))

    assert unknown.returncode == 2 and "staging" in unknown.stderr
    assert bad_date.returncode == 2 and "--date" in bad_date.stderr
    assert conductor.arm.requests == []


def test_plan_is_read_only(conductor: Conductor) -> None:
    process = conductor.cli("plan", "--date", iso(MON), "--json")

    assert process.returncode == 0, process.stderr
    plan = conductor.last_json(process)
    assert plan["environment"] == "sandbox" and plan["targetVersion"] == "1.31.2"
    assert {c["action"] for c in plan["clusters"]} == {"upgrade"}
    assert {r.method for r in conductor.arm.requests} == {"GET"}
    assert conductor.record("sandbox") is None


def test_history_lists_the_attempts_of_a_run(conductor: Conductor) -> None:
    assert conductor.cli("run", "--date", iso(MON)).returncode == 0
    process = conductor.cli("history", "--environment", "sandbox", "--json")

    rows = conductor.last_json(process)
    assert process.returncode == 0
    assert sorted(r["cluster"].rsplit("/", 1)[-1] for r in rows) == ["aks-sandbox-weu-1", "aks-sandbox-weu-2"]
    assert {r["result"] for r in rows} == {"upgraded"}
