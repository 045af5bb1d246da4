"""Record activities: the settings a run decides on, the validated version, the audit history and
the notification (``LoadRolloutSettings``, ``RecordValidatedVersion``, ``RecordUpgradeHistory``,
``NotifyRollout``)."""

from __future__ import annotations

import logging
from typing import Any

from shared import logs, notification_text, runtime
from shared.activities.common import parse_time
from shared.domain.records import AuditEntry, ValidatedRecord
from shared.errors import StoreError


def load_rollout_settings(_: Any = None) -> dict[str, Any]:
    return runtime.services().settings.rollout_view()


def record_validated_version(payload: dict[str, Any]) -> dict[str, Any]:
    """Write validated/<environment>; a re-run that keeps the version keeps the old validatedAt."""
    store = runtime.services().versions
    environment, version = payload["environment"], payload["version"]
    validated_at = parse_time(payload["validatedAt"])
    try:
        existing = store.read_validated(environment)
    except StoreError:  # a missing table or an unreadable old record: replaced by a good one
        existing = None  # unreadable old record: replaced by a good one
    if existing is not None and existing.version == version:
        validated_at = existing.validated_at
    record = ValidatedRecord(environment, version, validated_at, payload.get("instanceId"), tuple(payload.get("clusters", [])))
    store.write_validated(record)
    logs.event(logging.INFO, "validated version recorded", environment=environment, instance_id=record.instance_id, version=version)
    return {"environment": environment, "version": version, "validatedAt": validated_at.isoformat()}


def record_upgrade_history(payload: dict[str, Any]) -> dict[str, Any]:
    """Audit rows, one per cluster attempt, added to what earlier runs wrote (the run id is in the
    row key, so a retried or replayed call of this run rewrites its own rows and duplicates
    nothing); history is for people, so a failure here is only logged."""
    entries = [
        AuditEntry(
            instance_id=payload["instanceId"],
            environment=payload["environment"],
            cluster_id=c["id"],
            from_version=c.get("from"),
            to_version=c.get("to"),
            result=c["result"],
            reason=c.get("reason"),
            started_at=parse_time(payload["startedAt"]),
            finished_at=parse_time(payload["finishedAt"]),
            run_id=payload.get("runId"),
        )
        for c in payload.get("clusters", [])
    ]
    try:
        runtime.services().history.record(entries)
    except Exception as exc:  # noqa: BLE001 - audit history must never fail a rollout
        logs.event(
            logging.ERROR,
            "could not write upgrade history",
            environment=payload["environment"],
            instance_id=payload["instanceId"],
            error=logs.redact(str(exc))[:300],
        )
        return {"written": 0, "error": type(exc).__name__}
    return {"written": len(entries)}


def notify_rollout(payload: dict[str, Any]) -> dict[str, Any]:
    """One Slack message per run; never raises (a Slack outage must not fail a rollout)."""
    try:
        text, blocks = notification_text.render(payload)
        sent = runtime.services().notifier.send(text, blocks)
    except Exception as exc:  # noqa: BLE001
        instance_id = payload.get("instanceId") if isinstance(payload, dict) else None
        logs.event(logging.ERROR, "notification failed", instance_id=instance_id, error=type(exc).__name__)
        sent = False
    return {"sent": sent}
