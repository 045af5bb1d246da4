"""Run one UpgradeOrchestrator instance in-process: the same function app the host would load,
driven through the durable SDK's replay by ``ops.durable``, with the run clock of the contract
(the date at UPGRADE_SCHEDULE's time of day in the plan's time zone)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ops.durable import driver as driver_mod
from ops.durable.registry import DurableRegistry, registry_from_app
from shared import orchestration, runtime
from shared import settings as settings_mod
from shared.domain import approvals, dates, rollout, schedule
from shared.domain.approvals import Decision
from shared.domain.results import RunResult
from shared.errors import UsageError

ORCHESTRATOR = "UpgradeOrchestrator"
_registry: DurableRegistry | None = None


def registry() -> DurableRegistry:
    """The function app's functions by name (imported once, like the worker indexes it)."""
    global _registry
    if _registry is None:
        import function_app

        _registry = registry_from_app(function_app.app)
    return _registry


@dataclass(frozen=True)
class RunOutcome:
    result: dict[str, Any]
    run: driver_mod.OrchestrationRun


def parse_day(text: str) -> date:
    """``--date``: the one strict date reader (exactly YYYY-MM-DD, a real date), as a usage error."""
    try:
        return dates.parse_date(text)
    except ValueError as exc:
        raise UsageError(f"--date must be a real date as YYYY-MM-DD: {exc}", "date") from None


def check_environment(settings: settings_mod.Settings, environment: str | None) -> None:
    if environment is not None and settings.rollout_plan.wave_of(environment) is None:
        raise UsageError(
            f"unknown environment {environment!r}; ROLLOUT_PLAN has {list(settings.rollout_plan.environments)}",
            "environment",
        )


def refuse_simulated_clock_against_real_arm(settings: settings_mod.Settings, *, dry_run: bool) -> None:
    """``ops run`` fires durable timers at once and starts its clock at the requested date's
    schedule time. Against real ARM it would report real upgrades as timed out and write records
    with a back-dated validatedAt (which would shorten the next wave's soak), so it only acts on a
    loopback endpoint (the emulator). A dry run changes nothing and may look at real Azure."""
    if dry_run or settings.dry_run:
        return
    if settings_mod.is_loopback_url(settings.arm_endpoint) and not _store_is_loopback(settings):
        # Emulated clusters, simulated clock: records written into a real table would be
        # versions no real cluster ran, with a made-up validatedAt that real followers would trust.
        setting = settings_mod.VERSION_STORE_ENDPOINT if settings.version_store_endpoint else settings_mod.VERSION_STORE_CONNECTION
        raise UsageError(
            f"ops run refuses a version store that is not on loopback ({setting}): it would write records of emulated "
            "clusters, with a simulated validatedAt, where real followers read them; point it at Azurite "
            "(see README, 'Against the local emulator by hand'), or use `ops run --dry-run`",
            setting,
        )
    if settings_mod.is_loopback_url(settings.arm_endpoint):
        return
    raise UsageError(
        f"ops run refuses {settings_mod.ARM_ENDPOINT}={settings.arm_endpoint}: it simulates time (durable timers fire at once, "
        "the clock starts at the date's schedule time), so real upgrades would be reported as timed out and records back-dated; "
        "for a real run use the deployed app's HTTP starter (POST /api/upgrades), to look use `ops plan` or `ops run --dry-run`",
        settings_mod.ARM_ENDPOINT,
    )


def _store_is_loopback(settings: settings_mod.Settings) -> bool:
    """Whether the version store (and the history beside it) is a local one (Azurite)."""
    if settings.version_store_endpoint:
        return settings_mod.is_loopback_url(settings.version_store_endpoint)
    parts = dict(part.split("=", 1) for part in (settings.version_store_connection or "").split(";") if "=" in part)
    endpoint = next((value for key, value in parts.items() if key.strip().lower() == "tableendpoint"), "")
    return bool(endpoint) and settings_mod.is_loopback_url(endpoint.strip())


def start_clock(settings: settings_mod.Settings, day: date) -> datetime:
    return schedule.run_start(day, settings.run_time_of_day, settings.rollout_plan.timezone)


def execute(
    settings: settings_mod.Settings,
    day: date,
    environment: str | None = None,
    *,
    dry_run: bool = False,
    services: runtime.Services | None = None,
    on_clock_advance: Callable[[datetime], None] | None = None,
    approval: Decision | None = None,
) -> RunOutcome:
    """Run the instance for ``day`` (and ``environment``) to completion; return the contract JSON.

    ``approval`` is given at once when the environment waits for one (``--approve``/``--reject``):
    raised, with a request id of its own as the HTTP route raises it, while RequestApproval asks,
    so that it finds the run's wait open as a person's answer does (raised earlier, the durable
    SDK would buffer it and hand it to every later wait, and the run could hear no later
    decision). Without it the simulated clock lets the approval timeout fire at once, so the run
    is skipped.
    Refused (UsageError, nothing contacted) against a non-loopback ARM endpoint unless a dry run.
    """
    check_environment(settings, environment)
    dry_run = dry_run or settings.dry_run
    refuse_simulated_clock_against_real_arm(settings, dry_run=dry_run)
    runtime.install(services or runtime.build(settings))
    chosen = rollout.choose_wave(settings.rollout_plan, day, environment)
    instance_id = orchestration.instance_id_for(chosen.environment, day.isoformat(), dry_run=dry_run)
    # A fresh run id per call: re-runs of a date share the simulated clock and the instance id,
    # and their audit rows must add to the history, not replace the earlier attempt's.
    request = orchestration.RunRequest(environment, day.isoformat(), dry_run, False, run_id=str(uuid.uuid4()))
    reg = registry()
    activities: dict[str, driver_mod.ActivityFunction] = dict(reg.activities)
    if approval is not None:
        payload = approvals.event_payload(approval, uuid.uuid4().hex)
        activities[orchestration.REQUEST_APPROVAL] = _answered_at_once(
            activities[orchestration.REQUEST_APPROVAL], lambda: driver.raise_event(approvals.EVENT, payload)
        )
    driver = driver_mod.OrchestrationDriver(
        reg.orchestrators[ORCHESTRATOR],
        activities,
        instance_id=instance_id,
        input=request.to_input(),
        start_time=start_clock(settings, day),
        name=ORCHESTRATOR,
        on_clock_advance=on_clock_advance,
    )
    run = driver.run()
    if run.succeeded and isinstance(run.output, dict):
        return RunOutcome(run.output, run)
    failed = RunResult(
        instance_id, day.isoformat(), chosen.environment, chosen.role, "failed", f"orchestrator failed: {run.error or run.runtime_status}"
    )
    return RunOutcome(failed.to_dict(), run)


def _answered_at_once(ask: driver_mod.ActivityFunction, answer: Callable[[], None]) -> driver_mod.ActivityFunction:
    """RequestApproval that, while it runs, gets the decision ``ops run`` was given."""

    def ask_and_answer(notice: Any) -> Any:
        answer()
        return ask(notice)

    return ask_and_answer
