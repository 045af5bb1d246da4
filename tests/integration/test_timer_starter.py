"""TimerStarter with a real ``azure.functions.TimerRequest`` and the SDK's real
DurableOrchestrationClient against LocalDurableHost.

The date is the one of the occurrence the timer fired for (``schedule_status["Next"]``, past due
or not) in ROLLOUT_PLAN's time zone, never the machine's clock; the HTTP starter's rules apply
without ``force``. See docs/architecture.md, "The timer".
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from azure.functions.timer import TimerRequest  # the concrete one the worker builds

from ops.durable.http_api import LocalDurableHost
from ops.durable.registry import DurableRegistry
from shared import settings as settings_mod
from tests.integration.conftest import DEFAULT_PLAN

SANDBOX_ID = "aks-upgrade-sandbox-2026-11-30"
SANDBOX_INPUT = {"environment": "sandbox", "date": "2026-11-30", "dryRun": False, "force": False}
# Sunday 23:30 UTC is Monday 00:30 in Oslo (UTC+1 in November): sandbox's day there.
MONDAY_IN_OSLO = "2026-11-29T23:30:00+00:00"


def fire(
    registry: DurableRegistry,
    host: LocalDurableHost,
    next_occurrence: str | None,
    *,
    past_due: bool = False,
    last: str = "2026-11-26T09:00:00+00:00",
) -> Any:
    status = None if next_occurrence is None else {"Last": last, "Next": next_occurrence, "LastUpdated": last}
    timer = TimerRequest(past_due=past_due, schedule_status=status)
    return registry.starters["TimerStarter"].call(host.client_json, timer=timer)


def starts(host: LocalDurableHost) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in host.requests if r.method == "POST" and "/orchestrators/" in r.path]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


def test_the_registered_timer_starter_is_a_timer_trigger(registry: DurableRegistry) -> None:
    assert registry.starters["TimerStarter"].trigger_type == "timerTrigger"


def test_next_is_converted_to_the_plans_time_zone(registry: DurableRegistry, host: LocalDurableHost) -> None:
    fire(registry, host, MONDAY_IN_OSLO)

    assert starts(host) == [SANDBOX_ID]
    record = host.get(SANDBOX_ID)
    assert record is not None and record.name == "UpgradeOrchestrator"
    assert record.input == SANDBOX_INPUT


def test_past_due_still_uses_next(registry: DurableRegistry, host: LocalDurableHost) -> None:
    # The host was down at the occurrence: it fires late, Next still names the missed one.
    fire(registry, host, MONDAY_IN_OSLO, past_due=True, last="2026-11-19T09:00:00+00:00")

    assert starts(host) == [SANDBOX_ID]
    assert host.get(SANDBOX_ID).input == SANDBOX_INPUT  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("next_occurrence", "instance_id"),
    [
        ("2026-12-01T09:00:00Z", "aks-upgrade-dev-2026-12-01"),
        ("2026-12-01T10:00:00+01:00", "aks-upgrade-dev-2026-12-01"),  # WEBSITE_TIME_ZONE local time
        ("2026-12-01T23:30:00.0000000+00:00", "aks-upgrade-test-2026-12-02"),  # .NET "o" format
        ("2026-11-29T23:30:00", SANDBOX_ID),  # no offset: the host's UTC
    ],
)
def test_next_in_the_formats_the_host_sends(
    registry: DurableRegistry, host: LocalDurableHost, next_occurrence: str, instance_id: str
) -> None:
    fire(registry, host, next_occurrence)

    assert starts(host) == [instance_id]


def test_the_plans_time_zone_is_used_not_oslo(registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv(settings_mod.ROLLOUT_PLAN, json.dumps({**DEFAULT_PLAN, "timezone": "America/New_York"}))
    # Tuesday 03:00 UTC is Monday 22:00 in New York.
    fire(registry, host, "2026-12-01T03:00:00+00:00")

    assert starts(host) == ["aks-upgrade-sandbox-2026-11-30"]


@pytest.mark.parametrize("runtime_status", ["Pending", "Running", "Suspended", "Completed"])
def test_running_or_completed_instance_is_not_started_again(
    registry: DurableRegistry, host: LocalDurableHost, caplog: pytest.LogCaptureFixture, runtime_status: str
) -> None:
    seeded = host.seed(SANDBOX_ID, runtime_status, input=SANDBOX_INPUT, output="earlier")
    caplog.set_level(logging.INFO)

    fire(registry, host, MONDAY_IN_OSLO)

    assert starts(host) == []
    assert host.get(SANDBOX_ID) is seeded and seeded.runtime_status == runtime_status
    assert seeded.output == "earlier"
    text = logged(caplog)
    assert runtime_status in text and SANDBOX_ID in text


@pytest.mark.parametrize("runtime_status", ["Failed", "Terminated"])
def test_failed_or_terminated_instance_is_started_again(registry: DurableRegistry, host: LocalDurableHost, runtime_status: str) -> None:
    host.seed(SANDBOX_ID, runtime_status, input=SANDBOX_INPUT, output="boom")

    fire(registry, host, MONDAY_IN_OSLO)

    assert starts(host) == [SANDBOX_ID]
    record = host.get(SANDBOX_ID)
    assert record is not None and record.runtime_status == "Pending" and record.output is None
    assert record.input == SANDBOX_INPUT  # never force


def test_saturday_starts_nothing(registry: DurableRegistry, host: LocalDurableHost, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    fire(registry, host, "2026-12-05T09:00:00+00:00")  # Saturday in Oslo

    assert host.requests == [] and host.instances == {}
    assert "2026-12-05" in logged(caplog)


def test_friday_evening_utc_that_is_saturday_in_the_zone_starts_nothing(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch
) -> None:
    plan = {"timezone": "Asia/Tokyo", "waves": [{"day": "Fri", "environment": "sandbox"}, {"day": "Mon", "environment": "dev"}]}
    settings_env.setenv(settings_mod.ROLLOUT_PLAN, json.dumps(plan))

    fire(registry, host, "2026-12-04T20:00:00+00:00")  # Fri 20:00 UTC = Sat 05:00 in Tokyo

    assert host.instances == {}


def test_without_schedule_status_nothing_starts(
    registry: DurableRegistry, host: LocalDurableHost, caplog: pytest.LogCaptureFixture
) -> None:
    fire(registry, host, None)

    assert host.requests == [] and host.instances == {}
    assert "Next" in logged(caplog)


def test_broken_settings_start_nothing_and_name_the_setting(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings_env.setenv(settings_mod.TARGET_POLICY, "bogus")

    fire(registry, host, MONDAY_IN_OSLO)

    assert host.requests == [] and host.instances == {}
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "TARGET_POLICY" in errors[0], errors
    # One "invalid settings", then the setting's name and what is wrong with it.
    assert errors[0].count("invalid settings") == 1 and "bogus" in errors[0], errors


def test_each_firing_warns_once_per_wave_the_schedule_never_reaches_and_still_starts_its_wave(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # In Azure the timer reads the schedule as UTC: 23:30 UTC Mon-Thu is Tue-Fri 00:30/01:30 in Oslo,
    # so the lead's Monday never comes.
    settings_env.setenv(settings_mod.UPGRADE_SCHEDULE, "0 30 23 * * 1-4")
    caplog.set_level(logging.INFO)

    fire(registry, host, "2026-11-30T23:30:00+00:00")  # Tuesday 00:30 in Oslo: dev
    fire(registry, host, "2026-11-30T23:30:00+00:00")  # the same occurrence again (instance exists)

    assert starts(host) == ["aks-upgrade-dev-2026-12-01"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per firing, for the one unreached wave
    for line in warnings:
        assert "'sandbox'" in line and "Monday" in line and "UPGRADE_SCHEDULE '0 30 23 * * 1-4'" in line


def test_a_schedule_that_reaches_every_wave_logs_no_warning(
    registry: DurableRegistry, host: LocalDurableHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    fire(registry, host, MONDAY_IN_OSLO)

    assert starts(host) == [SANDBOX_ID]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# -- the gate: freeze and dry runs -------------------------------------------------------------

SANDBOX_DRY_RUN_ID = "aks-upgrade-sandbox-2026-11-30-dry-run"


def test_a_frozen_day_logs_the_freeze_and_starts_nothing(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings_env.setenv(settings_mod.FREEZE_DATES, "2026-11-30")
    caplog.set_level(logging.INFO)

    fire(registry, host, MONDAY_IN_OSLO)

    assert host.requests == [] and host.instances == {}
    assert "2026-11-30 is frozen (FREEZE_DATES 2026-11-30)" in logged(caplog)


def test_a_completed_dry_run_does_not_block_the_timers_real_run(registry: DurableRegistry, host: LocalDurableHost) -> None:
    host.seed(SANDBOX_DRY_RUN_ID, "Completed", input={**SANDBOX_INPUT, "dryRun": True}, output={"status": "planned"})

    fire(registry, host, MONDAY_IN_OSLO)

    assert starts(host) == [SANDBOX_ID]
    assert host.get(SANDBOX_ID).input == SANDBOX_INPUT  # type: ignore[union-attr]


def test_with_the_dry_run_setting_the_timer_starts_a_dry_run_and_repeats_a_completed_one(
    registry: DurableRegistry, host: LocalDurableHost, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv(settings_mod.DRY_RUN, "true")
    host.seed(SANDBOX_DRY_RUN_ID, "Completed", input={**SANDBOX_INPUT, "dryRun": True}, output={"status": "planned"})

    fire(registry, host, MONDAY_IN_OSLO)

    assert starts(host) == [SANDBOX_DRY_RUN_ID]
    record = host.get(SANDBOX_DRY_RUN_ID)
    assert record is not None and record.runtime_status == "Pending" and record.output is None
    assert record.input == {**SANDBOX_INPUT, "dryRun": True}
    assert host.get(SANDBOX_ID) is None
