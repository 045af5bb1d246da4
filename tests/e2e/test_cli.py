"""The `python -m ops` contract as outside harnesses use it: last-line JSON and exit codes."""

from __future__ import annotations

import pytest

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


USAGE_ERRORS = [
    ("demo", "--week-of", "garbage"),
    ("demo", "--week-of", "2026-W49-2"),  # date.fromisoformat takes ISO week dates
    ("run", "--date", "2026-W49-2"),
    ("run", "--date", "20261130"),
    ("run", "--date", "٢٠٢٦-١١-٣٠"),  # Arabic-Indic digits
    ("plan", "--date", "2026-W49-1"),
    ("history", "--limit", "-5"),
    ("history", "--limit", "0"),
    ("history", "--limit", "5_0"),
    ("run",),  # --date is required
    ("run", "--date", "2026-11-30", "--bogus"),
    ("bogus",),
    (),
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=" ".join)
def test_every_usage_error_exits_2_with_one_line_on_stderr_and_contacts_nothing(conductor: Conductor, args: tuple[str, ...]) -> None:
    process = conductor.cli(*args)

    assert process.returncode == 2, process.stderr
    assert len(process.stderr.strip().splitlines()) == 1, process.stderr
    assert "Traceback" not in process.stderr
    assert conductor.arm.requests == []
    assert conductor.record("sandbox") is None


def test_bad_settings_say_invalid_settings_once_on_one_line(conductor: Conductor) -> None:
    process = conductor.cli("run", "--date", "2026-11-30", MAX_PARALLEL_UPGRADES="5_0", MIN_SOAK_HOURS="٥")

    assert process.returncode == 2
    [line] = process.stderr.strip().splitlines()
    assert line.startswith("invalid settings (2): ") and line.count("invalid settings") == 1
    assert "MAX_PARALLEL_UPGRADES" in line and "MIN_SOAK_HOURS" in line
    assert conductor.arm.requests == []
