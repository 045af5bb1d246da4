"""Record activities: the settings a run decides on, the validated version, the audit history and
the notification (``LoadRolloutSettings``, ``RecordValidatedVersion``, ``RecordUpgradeHistory``,
``NotifyRollout``)."""

from __future__ import annotations

import logging

from shared import logs, notification_text, runtime
from shared.activity_messages import (
    ApprovalNotice,
    HistoryRequest,
    HistoryWritten,
    NotificationSent,
    NotifyRequest,
    RecordedVersion,
    RecordRequest,
    RunConfiguration,
)
from shared.domain.records import AuditEntry, ValidatedRecord
from shared.errors import StoreError


def load_rollout_settings() -> RunConfiguration:
    """What the orchestrator decides on, from the one validated Settings (a bad setting raises
    ConfigError here, and the run is refused with it)."""
    settings = runtime.services().settings
    return RunConfiguration(
        plan=settings.rollout_plan,
        freeze_windows=settings.freeze_windows,
        dry_run=settings.dry_run,
        min_soak_hours=settings.min_soak_hours,
        max_parallel_upgrades=settings.max_parallel_upgrades,
        poll_interval_seconds=settings.poll_interval_seconds,
        upgrade_timeout_minutes=settings.upgrade_timeout_minutes,
        approval_environments=settings.approval_environments,
        approval_timeout_hours=settings.approval_timeout_hours,
        health_check=settings.health_check,
        health_settle_minutes=settings.health_settle_minutes,
    )


def record_validated_version(request: RecordRequest) -> RecordedVersion:
    """Write validated/<environment>; a re-run that keeps the version keeps the old validatedAt."""
    store = runtime.services().versions
    environment, version = request.environment, request.version
    validated_at = request.validated_at
    try:
        existing = store.read_validated(environment)
    except StoreError:  # a missing table or an unreadable old record: replaced by a good one
        existing = None
    if existing is not None and existing.version == version:
        validated_at = existing.validated_at
    record = ValidatedRecord(environment, version, validated_at, request.instance_id, request.clusters)
    store.write_validated(record)
    logs.event(logging.INFO, "validated version recorded", environment=environment, instance_id=record.instance_id, version=version)
    return RecordedVersion(environment, version, validated_at)


def record_upgrade_history(request: HistoryRequest) -> HistoryWritten:
    """Audit rows, one per cluster attempt, added to what earlier runs wrote (the run id is in the
    row key, so a retried or replayed call of this run rewrites its own rows and duplicates
    nothing); history is for people, so a failure here is only logged."""
    result = request.result
    environment = result.environment or "none"
    entries = [
        AuditEntry(
            instance_id=result.instance_id,
            environment=environment,
            cluster_id=c.id,
            from_version=c.from_version,
            to_version=c.to_version,
            result=c.result,
            reason=c.reason,
            started_at=request.started_at,
            finished_at=request.finished_at,
            run_id=request.run_id,
            decided_by=request.approval.by if request.approval else None,
            decision=request.approval.decision if request.approval else None,
            decision_comment=(request.approval.comment or None) if request.approval else None,
            run_status=result.status,
        )
        for c in result.clusters
    ]
    try:
        runtime.services().history.record(entries)
    except Exception as exc:  # noqa: BLE001 - audit history must never fail a rollout
        logs.event(
            logging.ERROR,
            "could not write upgrade history",
            environment=environment,
            instance_id=result.instance_id,
            error=logs.redact(str(exc))[:300],
        )
        return HistoryWritten(0, type(exc).__name__)
    return HistoryWritten(len(entries))


#: The log line every finished run writes once (the monitoring alerts query it by this message).
RUN_FINISHED = "run finished"


def notify_rollout(request: NotifyRequest) -> NotificationSent:
    """One Slack message per run; never raises (a Slack outage must not fail a rollout).

    Also the run's one "run finished" log line (the orchestrator itself may not log: it replays),
    which the failed-run and dead-man's-switch alerts in terraform query.
    """
    if request.result is not None:
        result = request.result
        logs.event(
            logging.WARNING if result.status in ("failed", "stopped") else logging.INFO,
            RUN_FINISHED,
            environment=result.environment,
            instance_id=result.instance_id,
            status=result.status,
            reason=result.reason,
        )
    try:
        text, blocks = notification_text.render(request.result, unreadable=request.unreadable)
        sent = runtime.services().notifier.send(text, blocks)
    except Exception as exc:  # noqa: BLE001
        instance_id = request.result.instance_id if request.result is not None else None
        logs.event(logging.ERROR, "notification failed", instance_id=instance_id, error=type(exc).__name__)
        sent = False
    return NotificationSent(sent)


def request_approval(notice: ApprovalNotice) -> NotificationSent:
    """One Slack message asking for a decision: the plan, and where to answer (never raises: the
    decision can still be given over HTTP, and the wait has its own timeout)."""
    try:
        text, blocks = notification_text.render_approval_request(notice, approval_url(notice.plan.environment, notice.date))
        sent = runtime.services().notifier.send(text, blocks)
    except Exception as exc:  # noqa: BLE001 - a notification never fails a rollout
        logs.event(logging.ERROR, "approval request could not be sent", instance_id=notice.instance_id, error=type(exc).__name__)
        sent = False
    logs.event(
        logging.INFO,
        "awaiting approval",
        environment=notice.plan.environment,
        instance_id=notice.instance_id,
        clusters=len(notice.plan.to_upgrade),
        timeout_hours=notice.timeout_hours,
    )
    return NotificationSent(sent)


def approval_url(environment: str, day: str) -> str:
    """Where a person approves or rejects the run (the function key is theirs to add: it is a
    secret and never travels in a message). WEBSITE_HOSTNAME is set by the Functions host."""
    host = runtime.services().settings.public_host or "<function app host>"
    return f"https://{host}/api/upgrades/{environment}/{day}/approval"
