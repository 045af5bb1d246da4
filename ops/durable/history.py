"""History events and action shapes of the Durable Functions out-of-process protocol.

The Functions host sends an orchestrator its whole history as a list of event dicts and
reads back a list of actions. These helpers build the events exactly as the extension
does (field names, ``EventId`` conventions, ``Z`` timestamps) and flatten the actions the
SDK returns, so the driver and its tests share one vocabulary. docs/durable-replay.md has the
checked facts behind each shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from shared.domain import dates

# History event types (DurableTask's HistoryEventType).
EXECUTION_STARTED = 0
EXECUTION_COMPLETED = 1
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13
EVENT_RAISED = 15

# Action types (the SDK's ActionType).
CALL_ACTIVITY = 0
CALL_ACTIVITY_WITH_RETRY = 1
CALL_SUB_ORCHESTRATOR = 2
CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
CONTINUE_AS_NEW = 4
CREATE_TIMER = 5
WAIT_FOR_EXTERNAL_EVENT = 6
#: The driver runs no sub-orchestrations (the app has none); it refuses these actions.
SUB_ORCHESTRATOR_ACTIONS = frozenset({CALL_SUB_ORCHESTRATOR, CALL_SUB_ORCHESTRATOR_WITH_RETRY})

#: Action types that take a task id from the per-execution counter, in the order they are yielded;
#: continue-as-new and waiting for an external event (matched by name) take none.
ID_TAKING_ACTIONS = frozenset(
    {CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY, CALL_SUB_ORCHESTRATOR, CALL_SUB_ORCHESTRATOR_WITH_RETRY, CREATE_TIMER}
)

_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; refuse naive datetimes (the SDK compares event timestamps, and mixing
    aware and naive ones raises TypeError)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment!r}")
    return moment.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """Format as the extension does: always UTC with a ``Z`` suffix."""
    return to_utc(moment).strftime(_TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """An action's timestamp (a timer's ``fireAt``: the SDK writes ``%Y-%m-%dT%H:%M:%S.%fZ``), read
    by the app's one timestamp parser; naive values are taken as UTC."""
    return dates.parse_utc_instant(text, naive_means_utc=True)


def event(event_type: int, at: datetime, *, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """One history event dict with the four fields every event carries."""
    body: dict[str, Any] = {
        "EventType": event_type,
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_timestamp(at),
    }
    body.update(fields)
    return body


def orchestrator_started(at: datetime) -> dict[str, Any]:
    return event(ORCHESTRATOR_STARTED, at)


def orchestrator_completed(at: datetime) -> dict[str, Any]:
    return event(ORCHESTRATOR_COMPLETED, at)


def execution_started(at: datetime, name: str, input_json: str | None) -> dict[str, Any]:
    return event(EXECUTION_STARTED, at, Name=name, Version="", Input=input_json)


def execution_completed(at: datetime, status: str, result_json: str | None) -> dict[str, Any]:
    return event(EXECUTION_COMPLETED, at, OrchestrationStatus=status, Result=result_json)


def task_scheduled(at: datetime, task_id: int, name: str, input_json: str | None) -> dict[str, Any]:
    return event(TASK_SCHEDULED, at, event_id=task_id, Name=name, Version="", Input=input_json)


def task_completed(at: datetime, task_id: int, result_json: str) -> dict[str, Any]:
    return event(TASK_COMPLETED, at, TaskScheduledId=task_id, Result=result_json)


def task_failed(at: datetime, task_id: int, reason: str, details: str) -> dict[str, Any]:
    return event(TASK_FAILED, at, TaskScheduledId=task_id, Reason=reason, Details=details)


def timer_created(at: datetime, timer_id: int, fire_at: datetime) -> dict[str, Any]:
    return event(TIMER_CREATED, at, event_id=timer_id, FireAt=format_timestamp(fire_at))


def timer_fired(at: datetime, timer_id: int, fire_at: datetime) -> dict[str, Any]:
    return event(TIMER_FIRED, at, TimerId=timer_id, FireAt=format_timestamp(fire_at))


def event_raised(at: datetime, name: str, input_json: str | None) -> dict[str, Any]:
    return event(EVENT_RAISED, at, Name=name, Input=input_json)


def flatten_actions(actions: Iterable[Any]) -> list[dict[str, Any]]:
    """Flatten the SDK's cumulative action list into atomic actions, in task-id order.

    Handles the V1 shape (one list per ``yield``), the V2/V3 shape (one inner list), and
    compound ``task_all``/``task_any`` actions (types 12/11), nested to any depth.
    """
    return list(_walk(actions))


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for child in node:
            yield from _walk(child)
    elif isinstance(node, dict):
        if "compoundActions" in node:
            yield from _walk(node["compoundActions"])
        else:
            yield node
