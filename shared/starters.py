"""Rules shared by the two starters (HTTP and timer): body validation, the fixed instance id, and
when an existing instance may be started again. The rules: docs/architecture.md, "HTTP API".
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import azure.durable_functions as df
import azure.functions as func

from shared import logs, orchestration
from shared import settings as settings_mod
from shared.domain import approvals, dates, gates, rollout, stops
from shared.domain.text import clip, shown
from shared.errors import ConfigError, UsageError

ORCHESTRATOR = "UpgradeOrchestrator"
BODY_KEYS = ("environment", "date", "dryRun", "force")
RESTARTABLE = ("Failed", "Terminated", "Canceled")
# A start request is four small fields; anything near these limits is a mistake or an attack.
MAX_BODY_BYTES = 64 * 1024
MAX_NESTING = 32


class BodyTooLargeError(UsageError):
    """The body is over MAX_BODY_BYTES: answered 413, not 400."""


@dataclass(frozen=True)
class StartRequest:
    environment: str | None
    date: str
    dry_run: bool
    force: bool


def parse_date(value: Any, field: str = "date") -> date:
    """The one strict date reader (exactly YYYY-MM-DD, a real date) as a UsageError naming ``field``."""
    try:
        return dates.parse_date(value)
    except ValueError as exc:
        raise UsageError(f"{field} must be a real date as YYYY-MM-DD: {exc}", field) from None


def parse_environment(value: Any, plan: rollout.RolloutPlan, field: str = "environment") -> str:
    if not isinstance(value, str) or plan.wave_of(value) is None:
        raise UsageError(f"unknown environment {shown(value)}; the plan has {list(plan.environments)}", field)
    return value


def nesting_exceeds(text: str, limit: int) -> bool:
    """Do JSON arrays/objects in ``text`` nest deeper than ``limit``? Brackets inside strings don't count.

    A loop, not a parser: Python's json module recurses once per level, so 100k ``[`` would
    exhaust the stack before it could say the body is bad.
    """
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError("number out of range")
    return value


def read_json_body(raw: bytes) -> Any:
    """The body as JSON ({} when empty), within the size, nesting and number limits; UsageError otherwise."""
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLargeError(f"body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES} bytes (64 KiB)", "body")
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return {}
    if nesting_exceeds(text, MAX_NESTING):
        raise UsageError(f"body nests arrays or objects deeper than {MAX_NESTING} levels", "body")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise UsageError(f"body must be a JSON object (not valid JSON: {exc.msg} at position {exc.pos})", "body") from None
    except ValueError:  # NaN, Infinity, 1e999, or an integer with more digits than Python converts
        raise UsageError("body holds a number that does not parse (NaN, Infinity, out of range or too many digits)", "body") from None


def parse_start_body(raw: bytes, plan: rollout.RolloutPlan, today: date) -> StartRequest:
    """The POST body (optional) → a start request; UsageError names the offending field.

    ``today`` is the date in the plan's time zone: a run for a later date is refused, since
    its clock, freeze and soak decisions would be made about a day that has not come.
    """
    data = read_json_body(raw or b"")
    if not isinstance(data, dict):
        raise UsageError("body must be a JSON object", "body")
    for key in data:
        if key not in BODY_KEYS:
            # The key is echoed twice (message and field): 40 + 160 characters of input at most.
            raise UsageError(f"unknown field {shown(key, 40)}; allowed: {list(BODY_KEYS)}", clip(key, 160))
    environment = None
    if data.get("environment") is not None:
        environment = parse_environment(data["environment"], plan)
    day = parse_date(data["date"]) if "date" in data else today
    if day > today:
        raise UsageError(f"date {day} is after today ({today} in {plan.timezone}); a run starts on its day or later", "date")
    flags = {}
    for key in ("dryRun", "force"):
        value = data.get(key, False)
        if not isinstance(value, bool):
            raise UsageError(f"{key} must be true or false (a JSON boolean)", key)
        flags[key] = value
    return StartRequest(environment, day.isoformat(), flags["dryRun"], flags["force"])


def parse_dry_run_query(value: str | None, default: bool) -> bool:
    """``?dryRun=true|false`` on a status request; without it, the DRY_RUN setting decides,
    since that is the kind of run (and so the instance id) the starters create."""
    if value is None:
        return default
    if value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise UsageError(f"dryRun must be true or false, got {value[:200]!r}", "dryRun")


def may_start(runtime_status: str | None, force: bool) -> bool:
    """Start (again) under the fixed id? Never over an active instance; over a completed one only with force."""
    if runtime_status is None or runtime_status in RESTARTABLE:
        return True
    if runtime_status == "Completed":
        return force
    return False


def _json(status: int, body: dict[str, Any]) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


def _bad(exc: UsageError) -> func.HttpResponse:
    status = 413 if isinstance(exc, BodyTooLargeError) else 400
    return _json(status, {"error": str(exc), "field": exc.field or "body"})


def _settings() -> settings_mod.Settings:
    return settings_mod.load()


def _misconfigured(exc: ConfigError) -> func.HttpResponse:
    logs.event(logging.ERROR, "refusing to start: invalid settings", settings=",".join(sorted(exc.problems)))
    return _json(500, {"error": str(exc), "settings": sorted(exc.problems)})


async def _status(client: df.DurableOrchestrationClient, instance_id: str) -> Any:
    status = await client.get_status(instance_id)
    return status if getattr(status, "runtime_status", None) is not None else None


def _runtime_name(status: Any) -> str | None:
    value = getattr(status, "runtime_status", None)
    return getattr(value, "value", value) if value is not None else None


async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    try:
        settings = _settings()
    except ConfigError as exc:
        return _misconfigured(exc)
    plan = settings.rollout_plan
    today = datetime.now(ZoneInfo(plan.timezone)).date()
    try:
        request = parse_start_body(req.get_body(), plan, today)
    except UsageError as exc:
        return _bad(exc)
    gate = gates.decide(
        plan,
        requested=dates.parse_date(request.date),
        work_day=today,  # the run starts now, so its work happens today
        environment=request.environment,
        freeze_windows=settings.freeze_windows,
        dry_run=request.dry_run or settings.dry_run,
    )
    chosen = gate.wave
    if not gate.may_act or chosen.environment is None:
        # Starting would only record a skip, and with force it would replace a completed result.
        return _json(200, {"status": gate.status, "reason": gate.reason})
    instance_id = orchestration.instance_id_for(chosen.environment, request.date, dry_run=gate.dry_run)
    existing = await _status(client, instance_id)
    runtime_status = _runtime_name(existing)
    # A dry run changes nothing, so a completed one is simply run again.
    if not may_start(runtime_status, request.force or gate.dry_run):
        urls = client.create_http_management_payload(instance_id)
        hint = ' (send "force": true to run it again)' if runtime_status == "Completed" else ""
        return _json(
            409,
            {
                "error": f"instance {instance_id} is {runtime_status}{hint}",
                "instanceId": instance_id,
                "runtimeStatus": runtime_status,
                "statusQueryGetUri": urls["statusQueryGetUri"],
            },
        )
    # The input says what the instance id says: a dry run (by the body or by DRY_RUN) is one.
    run = orchestration.RunRequest(chosen.environment, request.date, gate.dry_run, request.force)
    await client.start_new(ORCHESTRATOR, instance_id, run.to_input())
    logs.event(logging.INFO, "started", environment=chosen.environment, instance_id=instance_id, trigger="http")
    response: func.HttpResponse = client.create_check_status_response(req, instance_id)
    return response


async def http_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    found = await _addressed_run(req, client)
    if isinstance(found, func.HttpResponse):
        return found
    instance_id, status, _ = found
    urls = client.create_http_management_payload(instance_id)

    def stamp(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    return _json(
        200,
        {
            "instanceId": instance_id,
            "runtimeStatus": _runtime_name(status),
            "customStatus": status.custom_status,
            "output": status.output,
            "createdTime": stamp(status.created_time),
            "lastUpdatedTime": stamp(status.last_updated_time),
            "statusQueryGetUri": urls["statusQueryGetUri"],
        },
    )


#: Runtime statuses in which a run still reacts to events (approval, stop).
LISTENING = ("Pending", "Running", "ContinuedAsNew", "Suspended")


async def _addressed_run(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> tuple[str, Any, settings_mod.Settings] | func.HttpResponse:
    """The run a route addresses (GET its status, POST .../approval or .../stop), with its status
    and the settings; or the answer when there is none to address (500, 400, 404)."""
    try:
        settings = _settings()
    except ConfigError as exc:
        return _misconfigured(exc)
    try:
        environment = parse_environment(req.route_params.get("environment"), settings.rollout_plan)
        day = parse_date(req.route_params.get("date"))
        dry_run = parse_dry_run_query(req.params.get("dryRun"), settings.dry_run)
    except UsageError as exc:
        return _bad(exc)
    instance_id = orchestration.instance_id_for(environment, day.isoformat(), dry_run=dry_run)
    status = await _status(client, instance_id)
    if status is None:
        return _json(404, {"error": f"no run for {environment} on {day}", "instanceId": instance_id})
    return instance_id, status, settings


def _not_now(client: df.DurableOrchestrationClient, instance_id: str, status: Any, why: str) -> func.HttpResponse:
    """409 with the run's status: it exists, but does not take this request now."""
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    return _json(
        409,
        {
            "error": why,
            "instanceId": instance_id,
            "runtimeStatus": _runtime_name(status),
            "phase": custom.get("phase"),
            "statusQueryGetUri": client.create_http_management_payload(instance_id)["statusQueryGetUri"],
        },
    )


def _accepted(client: df.DurableOrchestrationClient, instance_id: str, body: dict[str, Any]) -> func.HttpResponse:
    urls = client.create_http_management_payload(instance_id)
    return _json(202, {**body, "instanceId": instance_id, "statusQueryGetUri": urls["statusQueryGetUri"]})


async def http_approval(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/upgrades/{environment}/{date}/approval: a decision for a run that awaits one."""
    try:
        decision = approvals.read_decision(read_json_body(req.get_body() or b""))
    except UsageError as exc:
        return _bad(exc)
    except approvals.BadDecisionError as exc:
        return _json(400, {"error": str(exc), "field": exc.field})
    found = await _addressed_run(req, client)
    if isinstance(found, func.HttpResponse):
        return found
    instance_id, status, _ = found
    phase = status.custom_status.get("phase") if isinstance(status.custom_status, dict) else None
    if _runtime_name(status) not in LISTENING or phase != "awaiting-approval":
        return _not_now(client, instance_id, status, f"instance {instance_id} is not awaiting approval")
    # The id of this one request (never the body's: it cannot carry one) tells the run a second
    # request with the same decision (a double click) from the SDK handing the same event again.
    request_id = uuid.uuid4().hex
    await client.raise_event(instance_id, approvals.EVENT, approvals.event_payload(decision, request_id))
    logs.event(
        logging.INFO, f"approval: {decision.decision} by {decision.by} (request {request_id})", instance_id=instance_id, trigger="http"
    )
    return _accepted(client, instance_id, {"decision": decision.decision, "by": decision.by, "requestId": request_id})


async def http_stop(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """POST /api/upgrades/{environment}/{date}/stop: no new upgrade starts; running ones finish."""
    try:
        stop = stops.read_stop(read_json_body(req.get_body() or b""))
    except UsageError as exc:
        return _bad(exc)
    except stops.BadStopError as exc:
        return _json(400, {"error": str(exc), "field": exc.field})
    found = await _addressed_run(req, client)
    if isinstance(found, func.HttpResponse):
        return found
    instance_id, status, _ = found
    phase = status.custom_status.get("phase") if isinstance(status.custom_status, dict) else None
    if _runtime_name(status) not in LISTENING or phase in ("recording", "done"):
        # Recording (or past it): the upgrades are over and the record is being written; a Stop
        # accepted now could no longer keep anything from being recorded.
        return _not_now(client, instance_id, status, f"instance {instance_id} is {_runtime_name(status)} ({phase}): nothing to stop")
    await client.raise_event(instance_id, stops.EVENT, stop.to_dict())
    logs.event(logging.WARNING, stop.describe, instance_id=instance_id, trigger="http")
    return _accepted(client, instance_id, {"stopping": stop.describe})


#: POST /api/upgrades/{environment}/{date}/<action>.
ACTIONS = {"approval": http_approval, "stop": http_stop}


async def http_entry(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    action = req.route_params.get("action")
    if req.method.upper() == "POST":
        if action:
            handler = ACTIONS.get(action)
            if handler is None:
                return _json(404, {"error": f"unknown action {shown(action, 40)}; POST .../approval or .../stop"})
            return await handler(req, client)
        if req.route_params.get("environment") or req.route_params.get("date"):
            return _json(404, {"error": "POST /api/upgrades takes its parameters in the body"})
        return await http_start(req, client)
    if action:
        return _json(405, {"error": f"{shown(action, 40)} takes POST"})
    return await http_status(req, client)


def occurrence_date(schedule_status: dict[str, Any] | None, timezone: str) -> date | None:
    """The date of the occurrence the timer fired for: schedule_status["Next"] in the plan's zone."""
    raw = (schedule_status or {}).get("Next")
    if not raw:
        return None
    # The host reports UTC, without an offset unless WEBSITE_TIME_ZONE is set.
    moment = dates.parse_utc_instant(str(raw), naive_means_utc=True)
    return moment.astimezone(ZoneInfo(timezone)).date()


async def timer_start(schedule_status: dict[str, Any] | None, client: df.DurableOrchestrationClient) -> str:
    """Start the wave of the occurrence's date, following the HTTP rules without ``force``."""
    try:
        settings = _settings()
    except ConfigError as exc:
        logs.event(
            logging.ERROR,
            "timer: refusing to start: invalid settings",
            settings=",".join(sorted(exc.problems)),
            problems="; ".join(f"{name}: {why}" for name, why in sorted(exc.problems.items())),
        )
        return "refused"
    for warning in settings.schedule_warnings:
        logs.event(logging.WARNING, f"timer: {warning}")
    plan = settings.rollout_plan
    day = occurrence_date(schedule_status, plan.timezone)
    if day is None:
        logs.event(logging.ERROR, "timer: no schedule status (Next) to take the date from; not starting")
        return "no-date"
    gate = gates.decide(
        plan,
        requested=day,
        work_day=datetime.now(ZoneInfo(plan.timezone)).date(),  # a past-due firing works today
        freeze_windows=settings.freeze_windows,
        dry_run=settings.dry_run,
    )
    chosen = gate.wave
    if not gate.may_act or chosen.environment is None:
        logs.event(logging.INFO, f"timer: {gate.reason}; nothing started")
        return gate.status
    instance_id = orchestration.instance_id_for(chosen.environment, day.isoformat(), dry_run=gate.dry_run)
    runtime_status = _runtime_name(await _status(client, instance_id))
    if not may_start(runtime_status, force=gate.dry_run):
        logs.event(logging.INFO, f"timer: instance is {runtime_status}; not starting again", instance_id=instance_id)
        return f"exists:{runtime_status}"
    run = orchestration.RunRequest(chosen.environment, day.isoformat(), gate.dry_run)
    await client.start_new(ORCHESTRATOR, instance_id, run.to_input())
    logs.event(logging.INFO, "started", environment=chosen.environment, instance_id=instance_id, trigger="timer")
    return "started"
