"""One gate before any run acts, the same for ``ops plan``, ``ops run`` and the orchestrator:
freezes apply to the requested date and to the day the work runs, ``force`` never overrides
them, dry runs have their own instance id, and ``ops run`` (simulated clock) refuses real ARM."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from azure.data.tables import TableServiceClient

from ops import runner
from ops.durable import driver as driver_mod
from shared import runtime
from shared.domain import schedule
from tests.e2e.conftest import FAST_ARM, MON, Conductor

ORCHESTRATOR = "UpgradeOrchestrator"
#: A day well after the requested Monday, on which a manual re-run happens to be started.
LATER = MON + timedelta(days=24)


def _run_with_clock(conductor: Conductor, run_input: dict[str, Any], clock: datetime, **extra: str) -> dict[str, Any]:
    """The real orchestrator for ``run_input``, its clock starting at ``clock`` (as a re-run
    started by hand on another day than its date would)."""
    runtime.install(runtime.build(conductor.settings(**extra), arm_client_options=FAST_ARM))
    reg = runner.registry()
    run = driver_mod.run_orchestration(
        reg.orchestrators[ORCHESTRATOR], reg.activities, f"aks-upgrade-sandbox-{MON}", run_input, clock, name=ORCHESTRATOR
    )
    assert run.succeeded and isinstance(run.output, dict), run.error
    return run.output


def _ten_in_oslo(day: date) -> datetime:
    return schedule.run_start(day, time(10, 0), "Europe/Oslo")


# -- freeze on the day the work runs -----------------------------------------------------------


def test_a_forced_rerun_of_an_unfrozen_date_started_on_a_frozen_day_is_skipped_naming_both_days(conductor: Conductor) -> None:
    run_input = {"environment": None, "date": MON.isoformat(), "dryRun": False, "force": True}

    result = _run_with_clock(conductor, run_input, _ten_in_oslo(LATER), FREEZE_DATES=LATER.isoformat())

    assert (result["status"], result["environment"], result["role"]) == ("skipped", "sandbox", "lead")
    assert MON.isoformat() in result["reason"] and LATER.isoformat() in result["reason"] and "frozen" in result["reason"]
    assert conductor.puts() == []
    assert [r for r in conductor.arm.requests if "/_emulator" not in r.path] == []


def test_the_work_day_is_the_clocks_date_in_the_plans_time_zone(conductor: Conductor) -> None:
    # 23:30 UTC the evening before LATER is already LATER in Oslo: the frozen day.
    evening_before = datetime.combine(LATER - timedelta(days=1), time(23, 30), tzinfo=UTC)
    run_input = {"environment": None, "date": MON.isoformat(), "dryRun": False, "force": False}

    result = _run_with_clock(conductor, run_input, evening_before, FREEZE_DATES=LATER.isoformat())

    assert result["status"] == "skipped" and LATER.isoformat() in result["reason"]


def test_the_same_rerun_on_an_unfrozen_day_acts(conductor: Conductor) -> None:
    run_input = {"environment": None, "date": MON.isoformat(), "dryRun": False, "force": True}

    result = _run_with_clock(conductor, run_input, _ten_in_oslo(LATER + timedelta(days=1)), FREEZE_DATES=LATER.isoformat())

    assert result["status"] == "succeeded" and len(conductor.puts()) == 2


# -- ops plan agrees with ops run --------------------------------------------------------------


def test_ops_plan_on_a_frozen_date_says_skipped_with_the_runs_reason_and_contacts_nothing(conductor: Conductor) -> None:
    frozen = {"FREEZE_DATES": f"{MON - timedelta(days=1)}..{MON + timedelta(days=1)}"}

    process = conductor.cli("plan", "--date", MON.isoformat(), "--json", **frozen)

    assert process.returncode == 0, process.stderr
    plan = conductor.last_json(process)
    assert (plan["status"], plan["environment"], plan["role"], plan["clusters"]) == ("skipped", "sandbox", "lead", [])
    assert conductor.arm.requests == []
    run = conductor.run(MON, **frozen)
    assert (run["status"], run["reason"]) == (plan["status"], plan["reason"])
    assert "frozen" in plan["reason"] and str(MON) in plan["reason"]


def test_ops_plan_text_shows_the_freeze(conductor: Conductor) -> None:
    process = conductor.cli("plan", "--date", MON.isoformat(), FREEZE_DATES=MON.isoformat())

    assert process.returncode == 0, process.stderr
    assert "status=skipped" in process.stdout and f"{MON} is frozen" in process.stdout


def test_ops_plan_shows_the_waves_the_schedule_never_reaches(conductor: Conductor) -> None:
    # 23:30 UTC Mon-Thu lands on Tue-Fri in Oslo: the Monday lead never starts on its own.
    late = {"UPGRADE_SCHEDULE": "0 30 23 * * 1-4"}

    as_json = conductor.last_json(conductor.cli("plan", "--date", MON.isoformat(), "--json", **late))
    as_text = conductor.cli("plan", "--date", MON.isoformat(), **late)

    [warning] = as_json["warnings"]
    assert "'sandbox'" in warning and "Monday" in warning and "'0 30 23 * * 1-4'" in warning
    assert as_text.returncode == 0 and f"warning: {warning}" in as_text.stdout
    assert conductor.last_json(conductor.cli("plan", "--date", MON.isoformat(), "--json"))["warnings"] == []


# -- dry runs ----------------------------------------------------------------------------------


def test_ops_run_dry_run_has_its_own_instance_id(conductor: Conductor) -> None:
    by_flag = conductor.cli("run", "--date", MON.isoformat(), "--dry-run", "--json")
    by_setting = conductor.cli("run", "--date", MON.isoformat(), "--json", DRY_RUN="true")

    for process in (by_flag, by_setting):
        assert process.returncode == 0, process.stderr
        result = conductor.last_json(process)
        assert (result["status"], result["instanceId"]) == ("planned", f"aks-upgrade-sandbox-{MON}-dry-run")
    assert conductor.puts() == []


# -- ops run and real ARM ----------------------------------------------------------------------


def test_ops_run_refuses_a_real_version_store_behind_the_emulator_and_contacts_nothing(conductor: Conductor) -> None:
    # Production's tables left in the shell: emulated records with a simulated clock must not land there.
    real_store = "DefaultEndpointsProtocol=https;AccountName=prodconductor;AccountKey=a2V5;EndpointSuffix=core.windows.net"

    process = conductor.cli("run", "--date", MON.isoformat(), "--json", VERSION_STORE_CONNECTION=real_store)

    assert process.returncode == 2
    [line] = [line for line in process.stderr.splitlines() if "VERSION_STORE_CONNECTION" in line]
    assert "not on loopback" in line and "--dry-run" in line and "a2V5" not in process.stderr
    assert conductor.arm.requests == []
    dry = conductor.cli("run", "--date", MON.isoformat(), "--json", "--dry-run")
    assert dry.returncode == 0, dry.stderr


def test_ops_run_refuses_a_real_arm_endpoint_and_contacts_nothing(conductor: Conductor) -> None:
    real = {"ARM_ENDPOINT": "https://management.azure.com", "AZURE_CREDENTIAL_KIND": "default"}

    process = conductor.cli("run", "--date", MON.isoformat(), "--json", **real)

    assert process.returncode == 2
    [line] = [line for line in process.stderr.splitlines() if "ARM_ENDPOINT" in line]
    assert "https://management.azure.com" in line
    assert "simulates time" in line
    assert "HTTP starter" in line and "ops plan" in line and "--dry-run" in line
    assert process.stdout == ""
    assert conductor.arm.requests == []
    with TableServiceClient.from_connection_string(conductor.azurite.connection_string) as service:
        tables = {t.name for t in service.list_tables()}
    assert conductor.version_table not in tables and conductor.history_table not in tables
