"""``ops status`` and ``ops report``: the week at a glance for the configured stores.

Reads once (each environment's validated record, its audit history), decides with the pure
functions of ``shared.domain.outlook`` at one given instant, and presents the answer as JSON or
as rich tables. It reads the version store and the history only: no ARM request, no write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ops import console as console_mod
from ops import report
from shared import runtime
from shared import settings as settings_mod
from shared.domain import outlook, rollout
from shared.domain.records import AuditEntry, ValidatedRecord
from shared.errors import StoreError, VersionTableMissingError

#: Audit rows read per environment (newest first): enough for weeks of runs of a large estate.
HISTORY_ROWS_PER_ENVIRONMENT = 2000


@dataclass(frozen=True)
class EnvironmentStatus:
    environment: str
    role: rollout.Role
    weekday: int
    predecessor: str | None
    #: The environment that follows this one (takes its record once soaked), if any.
    successor: str | None
    record: ValidatedRecord | None
    #: Why the record could not be read (a malformed row); the rest of the view still shows.
    record_error: str | None
    soaking: outlook.Soaking | None
    last_run: outlook.Run | None


@dataclass(frozen=True)
class WeekStatus:
    now: datetime
    timezone: str
    min_soak_hours: float
    upgrade_schedule: str
    dry_run: bool
    environments: tuple[EnvironmentStatus, ...]
    next_firing: outlook.FiringOutlook | None
    #: Why there is no next firing (a schedule that never fires), else None.
    next_firing_error: str | None
    #: Every run the history holds, newest first (the report draws the recent ones).
    runs: tuple[outlook.Run, ...]
    warnings: tuple[str, ...]


def _record(services: runtime.Services, environment: str, lead: bool) -> tuple[ValidatedRecord | None, str | None]:
    """An environment's record (the lead falls back to the legacy row, as its followers read it)."""
    try:
        record = services.versions.read_validated(environment)
        if record is None and lead:
            record = services.versions.read_legacy(environment)
    except VersionTableMissingError:
        return None, None
    except StoreError as exc:  # a malformed row: name it, show the rest
        return None, str(exc)
    return record, None


def _history(services: runtime.Services, environments: tuple[str, ...]) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for environment in environments:
        entries.extend(services.history.list(environment, limit=HISTORY_ROWS_PER_ENVIRONMENT))
    return entries


def gather(settings: settings_mod.Settings, services: runtime.Services, now: datetime) -> WeekStatus:
    """Read the stores and decide everything the status view shows, as of ``now``."""
    plan = settings.rollout_plan
    names = plan.environments
    records: dict[str, ValidatedRecord | None] = {}
    errors: dict[str, str | None] = {}
    for wave in plan.waves:
        records[wave.environment], errors[wave.environment] = _record(services, wave.environment, wave.environment == plan.lead)
    runs = outlook.runs_from_history(_history(services, names))
    latest = outlook.last_runs(runs, names)
    environments = []
    for index, wave in enumerate(plan.waves):
        record = records[wave.environment]
        predecessor = plan.predecessor(wave.environment)
        environments.append(
            EnvironmentStatus(
                environment=wave.environment,
                role="lead" if predecessor is None else "follower",
                weekday=wave.weekday,
                predecessor=predecessor,
                successor=names[index + 1] if index + 1 < len(names) else None,
                record=record,
                record_error=errors[wave.environment],
                soaking=outlook.soaking(record, now, settings.min_soak_hours) if record is not None else None,
                last_run=latest[wave.environment],
            )
        )
    firing: outlook.FiringOutlook | None = None
    firing_error: str | None = None
    try:
        at = outlook.next_firing(settings.upgrade_schedule, now)
    except ValueError as exc:
        firing_error = str(exc)
    else:
        firing = outlook.outlook_of_firing(
            plan,
            at,
            records=records,
            min_soak_hours=settings.min_soak_hours,
            freeze_windows=settings.freeze_windows,
            dry_run=settings.dry_run,
            approval_environments=settings.approval_environments,
            approval_timeout_hours=settings.approval_timeout_hours,
        )
    return WeekStatus(
        now=now,
        timezone=plan.timezone,
        min_soak_hours=settings.min_soak_hours,
        upgrade_schedule=settings.upgrade_schedule,
        dry_run=settings.dry_run,
        environments=tuple(environments),
        next_firing=firing,
        next_firing_error=firing_error,
        runs=tuple(runs),
        warnings=settings.schedule_warnings,
    )


# -- JSON --------------------------------------------------------------------------------------


def _record_dict(record: ValidatedRecord) -> dict[str, Any]:
    return {
        "version": record.version,
        "validatedAt": record.validated_at.isoformat(),
        "instanceId": record.instance_id,
        "clusters": list(record.clusters),
        "source": record.source,
    }


def _soak_dict(soaking: outlook.Soaking) -> dict[str, Any]:
    return {
        "ageHours": outlook.hours(soaking.age),
        "soakedAt": soaking.soaked_at.isoformat(),
        "hoursUntilSoaked": _hours_up(soaking.remaining.total_seconds()),
        "soaked": soaking.soaked,
    }


def _hours_up(seconds: float) -> float:
    """Remaining time in hours rounded up to a tenth, so a wait is never shown as 0.0 h."""
    return -(-round(seconds) // 360) / 10


def run_dict(run: outlook.Run) -> dict[str, Any]:
    decision = run.decision
    return {
        "instanceId": run.instance_id,
        "runId": run.run_id,
        "status": run.status,
        "startedAt": run.started_at.isoformat(),
        "finishedAt": run.finished_at.isoformat(),
        "results": run.results,
        "changed": [{"cluster": a.cluster_id, "from": a.from_version, "to": a.to_version} for a in run.changed],
        "clusters": [
            {"cluster": a.cluster_id, "from": a.from_version, "to": a.to_version, "result": a.result, "reason": a.reason}
            for a in run.attempts
        ],
        # The approval gate's decision, as the audit rows keep it (null where none was asked for or given).
        "decidedBy": decision.by if decision else None,
        "decision": decision.decision if decision else None,
        "decisionComment": decision.comment if decision else None,
    }


def to_dict(status: WeekStatus) -> dict[str, Any]:
    """The ``ops status --json`` document (docs/architecture.md, "ops status")."""
    firing = status.next_firing
    return {
        "now": status.now.isoformat(),
        "timezone": status.timezone,
        "minSoakHours": status.min_soak_hours,
        "upgradeSchedule": status.upgrade_schedule,
        "dryRun": status.dry_run,
        "environments": [
            {
                "environment": e.environment,
                "role": e.role,
                "day": rollout.WEEKDAYS[e.weekday].title(),
                "predecessor": e.predecessor,
                "successor": e.successor,
                "record": _record_dict(e.record) if e.record is not None else None,
                "recordError": e.record_error,
                "soak": _soak_dict(e.soaking) if e.soaking is not None else None,
                "lastRun": run_dict(e.last_run) if e.last_run is not None else None,
            }
            for e in status.environments
        ],
        "nextFiring": None
        if firing is None
        else {
            "at": firing.at.isoformat(),
            "date": firing.day.isoformat(),
            "environment": firing.gate.wave.environment,
            "role": firing.gate.wave.role,
            "status": firing.gate.status,
            "reason": firing.gate.reason,
            # An act in an APPROVAL_ENVIRONMENTS environment first waits for a person's decision.
            "awaitsApproval": firing.approval_wait_hours is not None,
            "approvalTimeoutHours": firing.approval_wait_hours,
        },
        "nextFiringError": status.next_firing_error,
        "warnings": list(status.warnings),
    }


# -- for people --------------------------------------------------------------------------------


def _short(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC")


def soak_text(e: EnvironmentStatus) -> str:
    """How the record stands against the soak, in words: who may take it and when."""
    if e.soaking is None:
        return "-"
    taker = e.successor or "no later wave"
    if e.soaking.soaked:
        return f"soaked {outlook.hours(e.soaking.age):g} h: {taker} may take it"
    wait = _hours_up(e.soaking.remaining.total_seconds())
    return f"{outlook.hours(e.soaking.age):g} h old: {taker} may take it in {wait:g} h ({_short(e.soaking.soaked_at)})"


def run_text(run: outlook.Run | None) -> Text:
    """The run's status, start and clusters per result, then the approval decision it went (or did
    not go) ahead on, if one was asked for."""
    if run is None:
        return Text("none recorded")
    counts = ", ".join(f"{n} {result}" for result, n in run.results.items())
    text = Text.assemble(console_mod.styled(run.status), f" {_short(run.started_at)}: {counts}")
    if run.decision is not None:
        text.append(f"; {run.decision.text}")
    return text


def approval_wait_text(hours: int) -> str:
    """What a run of an APPROVAL_ENVIRONMENTS environment does before its first PUT (a run with no
    cluster to upgrade asks nobody)."""
    return (
        f"after a person's decision: with a cluster to upgrade, it waits up to {hours} h (APPROVAL_TIMEOUT_HOURS) "
        "for one before its first PUT; rejected, or without a decision in time, it is skipped"
    )


def changed_text(run: outlook.Run | None) -> str:
    if run is None or not run.changed:
        return "-"
    return ", ".join(f"{report.cluster_name(a.cluster_id)} {a.from_version or '?'}→{a.to_version or '?'}" for a in run.changed)


def firing_text(status: WeekStatus) -> Text:
    firing = status.next_firing
    if firing is None:
        return Text(f"next firing: none ({status.next_firing_error})")
    wave = firing.gate.wave
    head = (
        f"next firing: {_short(firing.at)} (UPGRADE_SCHEDULE {status.upgrade_schedule!r}, read as UTC), "
        f"{firing.day.strftime('%a')} {firing.day} in {status.timezone}: "
        f"{wave.environment or 'no wave'} ({wave.role}) "
    )
    text = Text.assemble(head, console_mod.styled(firing.gate.status))
    if firing.approval_wait_hours is not None:
        text.append(f" {approval_wait_text(firing.approval_wait_hours)}")
    if firing.gate.reason:
        text.append(f": {firing.gate.reason}")
    return text


def view(status: WeekStatus) -> RenderableType:
    head = Text(
        f"week at a glance, {_short(status.now)} ({status.timezone}); MIN_SOAK_HOURS {status.min_soak_hours:g}"
        + ("; DRY_RUN is on" if status.dry_run else "")
    )
    grid = report.rich_table(("environment", "day", "record", "validated", "soak", "last run", "changed"))
    for e in status.environments:
        record = e.record
        grid.add_row(
            f"{e.environment} ({e.role})",
            rollout.WEEKDAYS[e.weekday].title(),
            Text(f"unreadable: {e.record_error}", style="red") if e.record_error else (record.version if record else "-"),
            _short(record.validated_at) if record else "-",
            soak_text(e),
            run_text(e.last_run),
            changed_text(e.last_run),
        )
    parts: list[RenderableType] = [head, grid, firing_text(status)]
    parts.extend(Text(f"warning: {w}") for w in status.warnings)
    return Group(*parts)
