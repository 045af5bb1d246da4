"""The typed messages across the durable boundary: each one survives JSON unchanged, the run
configuration is read once from the settings and rebuilt without parsing them again, planning
requests carry what the orchestrator decided, and enumerations are checked where they enter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ops.durable.registry import registry_from_app
from shared import runtime
from shared import settings as settings_mod
from shared.activity_messages import (
    FollowerPlanRequest,
    HistoryRequest,
    HistoryWritten,
    LeadPlanRequest,
    NotificationSent,
    NotifyRequest,
    ProgressReport,
    ProgressRequest,
    RecordedVersion,
    RecordRequest,
    RunConfiguration,
    StartRequest,
    planning_request,
)
from shared.domain import rollout
from shared.domain.freeze import FreezeWindow
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.results import ClusterOutcome, RunResult
from shared.domain.upgrade_loop import InFlight, ProgressAnswer

CLOCK = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PLAN = rollout.parse_plan(rollout.DEFAULT_PLAN_JSON)
CLUSTER = ClusterPlan("/sub/c1", "c1", "s", "rg", "westeurope", "1.30.5", "1.31.2", "upgrade", None, True, "Dev")
RESULT = RunResult(
    "aks-upgrade-dev-2026-12-01", "2026-12-01", "dev", "follower", "succeeded", None, "1.31.2", "1.31.2",
    (ClusterOutcome("/sub/c1", "1.30.5", "1.31.2", "upgraded"),),
)  # fmt: skip

WINDOWS = (FreezeWindow(date(2026, 12, 24), date(2026, 12, 24)), FreezeWindow(date(2026, 12, 28), date(2027, 1, 2)))

MESSAGES: list[Any] = [
    RunConfiguration(PLAN, WINDOWS, True, 36.5, 3, 30, 120),
    LeadPlanRequest("sandbox", CLOCK, "aks-upgrade-sandbox-2026-11-30"),
    FollowerPlanRequest("dev", "sandbox", True, 20.0, CLOCK, "aks-upgrade-dev-2026-12-01"),
    StartRequest(CLUSTER, "dev", CLOCK, "aks-upgrade-dev-2026-12-01"),
    StartRequest(CLUSTER, "dev", None),
    ProgressRequest((InFlight("/sub/c1", "1.31.2", "https://arm.test/op"), InFlight("/sub/c2", "1.31.2", None, "joined")), "dev", "i"),
    ProgressReport((ProgressAnswer("/sub/c1", "succeeded"), ProgressAnswer("/sub/c2", "inProgress", "throttled"))),
    RecordRequest("dev", "1.31.2", ("/sub/c1",), "aks-upgrade-dev-2026-12-01", CLOCK),
    RecordedVersion("dev", "1.31.2", CLOCK),
    HistoryRequest(RESULT, "run-1", CLOCK, CLOCK),
    HistoryWritten(2),
    HistoryWritten(0, "StoreUnavailableError"),
    NotifyRequest(RESULT),
    NotificationSent(True),
]  # fmt: skip


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_crosses_the_boundary_unchanged(message: Any) -> None:
    crossed = json.loads(json.dumps(message.to_dict()))

    assert type(message).from_dict(crossed) == message


@pytest.fixture
def installed_settings() -> Iterator[settings_mod.Settings]:
    settings = settings_mod.load(
        {
            settings_mod.AZURE_CREDENTIAL_KIND: "emulator",
            settings_mod.ARM_ENDPOINT: "https://127.0.0.1:9",  # nothing contacts ARM here
            settings_mod.FREEZE_DATES: "2026-12-24, 2026-12-28..2027-01-02",
            settings_mod.DRY_RUN: "true",
            settings_mod.MIN_SOAK_HOURS: "36.5",
            settings_mod.MAX_PARALLEL_UPGRADES: "3",
            settings_mod.ROLLOUT_PLAN: json.dumps(
                {"timezone": "UTC", "waves": [{"day": "monday", "environment": "canary"}, {"day": "FRI", "environment": "prod"}]}
            ),
        }
    )
    runtime.install(runtime.build(settings))
    try:
        yield settings
    finally:
        runtime.install(None)


def test_the_run_configuration_is_read_once_and_rebuilt_typed_from_its_json(installed_settings: settings_mod.Settings) -> None:
    from function_app import app

    answer = registry_from_app(app).activities["LoadRolloutSettings"](None)
    config = RunConfiguration.from_dict(json.loads(json.dumps(answer)))

    assert config.plan == installed_settings.rollout_plan
    assert config.freeze_windows == installed_settings.freeze_windows
    assert (config.dry_run, config.min_soak_hours, config.max_parallel_upgrades) == (True, 36.5, 3)
    assert (config.poll_interval_seconds, config.upgrade_timeout_minutes) == (60, 360)
    assert answer["freezeDates"] == ["2026-12-24", "2026-12-28..2027-01-02"]
    assert answer["plan"]["waves"] == [{"day": "Mon", "environment": "canary"}, {"day": "Fri", "environment": "prod"}]


def test_the_lead_is_planned_on_its_own() -> None:
    wave = rollout.choose_wave(PLAN, date(2026, 11, 30), None)

    assert planning_request(PLAN, wave, 20.0, CLOCK, "i") == LeadPlanRequest("sandbox", CLOCK, "i")


@pytest.mark.parametrize(("day", "expected"), [(date(2026, 12, 1), ("dev", "sandbox", True)), (date(2026, 12, 3), ("prod", "test", False))])
def test_a_follower_is_told_its_predecessor_whether_that_is_the_lead_and_the_soak(day: date, expected: tuple[str, str, bool]) -> None:
    wave = rollout.choose_wave(PLAN, day, None)

    request = planning_request(PLAN, wave, 36.5, CLOCK)

    assert request == FollowerPlanRequest(*expected, min_soak_hours=36.5, clock=CLOCK)


def test_a_date_without_a_wave_has_nothing_to_plan() -> None:
    with pytest.raises(ValueError, match="no wave"):
        planning_request(PLAN, rollout.choose_wave(PLAN, date(2026, 12, 5), None), 20.0, CLOCK)


@pytest.mark.parametrize(
    ("message", "data", "field"),
    [
        (EnvironmentPlan, {"environment": "dev", "role": "leader", "status": "ready"}, "role"),
        (EnvironmentPlan, {"environment": "dev", "role": "lead", "status": "done"}, "status"),
        (ClusterOutcome, {"id": "c", "result": "upgradedd"}, "result"),
        (ProgressReport, {"clusters": [{"id": "c", "state": "Succeeded"}]}, "state"),
    ],
)
def test_an_enumeration_out_of_its_values_is_refused_naming_the_field(message: Any, data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be one of"):
        message.from_dict(data)


@pytest.mark.parametrize("payload", [{}, {"clusters": None}, {"clusters": [{}]}, None, "junk"])
def test_a_notification_payload_that_is_no_result_is_still_a_request(payload: Any) -> None:
    request = NotifyRequest.from_dict(payload)

    assert request.result is None and request.unreadable == type(payload).__name__
