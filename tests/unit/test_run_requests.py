"""What identifies a run: its instance id (a dry run has its own), the orchestrator input (a run
id only when a harness gives one), and the guard that keeps ``ops run``'s simulated clock away
from real ARM."""

from __future__ import annotations

import pytest

from ops import runner
from shared import settings as settings_mod
from shared.errors import UsageError
from shared.orchestration import RunRequest, instance_id_for


def test_a_dry_run_has_its_own_instance_id() -> None:
    assert instance_id_for("dev", "2026-12-01") == "aks-upgrade-dev-2026-12-01"
    assert instance_id_for("dev", "2026-12-01", dry_run=True) == "aks-upgrade-dev-2026-12-01-dry-run"
    assert instance_id_for(None, "2026-12-05", dry_run=True) == "aks-upgrade-none-2026-12-05-dry-run"


def test_the_starters_input_shape_is_unchanged_without_a_run_id() -> None:
    request = RunRequest("dev", "2026-12-01", True, False)

    assert request.to_input() == {"environment": "dev", "date": "2026-12-01", "dryRun": True, "force": False}
    assert RunRequest.from_input(request.to_input()) == request


def test_a_run_id_travels_in_the_input_when_given() -> None:
    request = RunRequest(None, "2026-11-30", run_id="4f0c")

    assert request.to_input()["runId"] == "4f0c"
    assert RunRequest.from_input(request.to_input()) == request
    assert RunRequest.from_input({"date": "2026-11-30", "runId": ""}).run_id is None


REAL_ARM = {"ARM_ENDPOINT": "https://management.azure.com"}


def test_ops_run_refuses_real_arm_naming_the_setting_why_and_what_instead() -> None:
    with pytest.raises(UsageError) as caught:
        runner.refuse_simulated_clock_against_real_arm(settings_mod.load(REAL_ARM), dry_run=False)

    message = str(caught.value)
    assert caught.value.field == "ARM_ENDPOINT" and "\n" not in message
    assert "ARM_ENDPOINT=https://management.azure.com" in message and "simulates time" in message
    assert "HTTP starter" in message and "ops plan" in message and "ops run --dry-run" in message


@pytest.mark.parametrize(
    ("environ", "dry_run"),
    [
        (REAL_ARM, True),
        ({**REAL_ARM, "DRY_RUN": "true"}, False),
        ({"ARM_ENDPOINT": "https://127.0.0.1:8443"}, False),
        ({"ARM_ENDPOINT": "https://localhost:8443"}, False),
        ({"ARM_ENDPOINT": "https://[::1]:8443"}, False),
    ],
)
def test_ops_run_may_look_at_real_arm_in_a_dry_run_and_act_on_loopback(environ: dict[str, str], dry_run: bool) -> None:
    runner.refuse_simulated_clock_against_real_arm(settings_mod.load(environ), dry_run=dry_run)
