"""The UpgradeOrchestrator's logic: a deterministic generator, a thin shell of yields.

Time comes only from ``context.current_utc_datetime``; every read and write is an activity; every
decision is a pure function from ``shared.domain`` (whether the run may act: ``gates``; the
upgrade loop: ``upgrade_loop``; the result and the record: ``results``). Waiting for upgrades is
the durable monitor pattern: start up to MAX_PARALLEL_UPGRADES, durable timer, check, start more,
until done or the deadline passes. What crosses to the activities is the typed messages of
``shared.activity_messages``, turned into JSON only at the yields.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from shared.activity_messages import (
    ApprovalNotice,
    HealthReport,
    HealthRequest,
    HistoryRequest,
    LeadPlanRequest,
    NotifyRequest,
    ProgressReport,
    ProgressRequest,
    RecordedVersion,
    RecordRequest,
    RunConfiguration,
    StartAnswer,
    StartRequest,
    planning_request,
)
from shared.domain import approvals, dates, gates, results, schedule, stops, text, upgrade_loop
from shared.domain.approvals import Decision
from shared.domain.planning import EnvironmentPlan
from shared.domain.results import ClusterOutcome, RunResult, Status
from shared.domain.upgrade_loop import InFlight, Queued, UpgradeLoop

# Activity function names (= their folder names).
LOAD_SETTINGS = "LoadRolloutSettings"
PLAN_LEAD = "UpgradeLeadEnvironment"
PLAN_FOLLOWER = "UpgradeFollowerEnvironment"
START_UPGRADE = "StartClusterUpgrade"
CHECK_PROGRESS = "CheckUpgradeProgress"
RECORD_VERSION = "RecordValidatedVersion"
RECORD_HISTORY = "RecordUpgradeHistory"
NOTIFY = "NotifyRollout"
REQUEST_APPROVAL = "RequestApproval"
CHECK_HEALTH = "CheckClusterHealth"

#: Activities that raise are retried by the host: a crash or a transient store/ARM error.
ACTIVITY_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=15_000, max_number_of_attempts=4)
#: Poll rounds per execution before continue_as_new: bounds history length and replay cost.
ROUNDS_PER_EXECUTION = 50


@dataclass(frozen=True)
class RunRequest:
    """The orchestrator's input: ``{"environment", "date", "dryRun", "force"}``, plus ``runId``
    when a harness gives one.

    ``run_id`` tells this run's audit rows apart from an earlier run of the same environment and
    date, so that history is appended to, never replaced. The starters leave it out (their input
    shape is a contract) and the orchestrator then takes ``context.new_uuid()``, which differs
    between runs in Azure because each start has its own clock. ``ops run`` re-runs a date with
    the same simulated clock and instance id, so it passes a fresh id of its own.
    """

    environment: str | None
    date: str
    dry_run: bool = False
    force: bool = False
    run_id: str | None = None

    @classmethod
    def from_input(cls, data: Any) -> RunRequest:
        if not isinstance(data, dict) or not isinstance(data.get("date"), str):
            raise ValueError('orchestrator input must be {"environment", "date", "dryRun", "force"}')
        run_id = data.get("runId")
        return cls(
            data.get("environment"),
            data["date"],
            bool(data.get("dryRun", False)),
            bool(data.get("force", False)),
            run_id if isinstance(run_id, str) and run_id else None,
        )

    def to_input(self) -> dict[str, Any]:
        body: dict[str, Any] = {"environment": self.environment, "date": self.date, "dryRun": self.dry_run, "force": self.force}
        if self.run_id is not None:
            body["runId"] = self.run_id
        return body


def instance_id_for(environment: str | None, day: str, *, dry_run: bool = False) -> str:
    """One fixed instance id per environment and date, shared by both starters and ``ops run``.

    A dry run has its own id: under the real one, a completed dry run would make the timer (and
    any start without ``force``) believe the real run had already happened.
    """
    return f"aks-upgrade-{environment or 'none'}-{day}" + ("-dry-run" if dry_run else "")


Flow = Generator[Any, Any, dict[str, Any] | None]


def run(context: df.DurableOrchestrationContext) -> Flow:
    raw_input = context.get_input()
    request = RunRequest.from_input(raw_input)
    # A person's Stop may come at any time; every wait of this execution listens for it.
    stop = context.wait_for_external_event(stops.EVENT)
    if isinstance(raw_input, dict) and isinstance(raw_input.get("continuation"), dict):
        # A later execution of a long upgrade (continue_as_new keeps each history short).
        carried = Carried.from_dict(raw_input["continuation"])
        return (yield from _upgrade_and_conclude(context, request, carried, stop, _listen_again(context, carried)))
    started = context.current_utc_datetime
    if request.run_id is None:
        # Deterministic on replay, different for every start of this instance id in Azure.
        request = replace(request, run_id=str(context.new_uuid()))
    try:
        config = RunConfiguration.from_dict((yield context.call_activity_with_retry(LOAD_SETTINGS, ACTIVITY_RETRY, None)))
    except Exception as exc:  # noqa: BLE001 - bad settings: refuse to work, say which
        refused = RunResult(context.instance_id, request.date, request.environment, "none", "failed", f"refused: {_first_line(exc)}")
        # Announced like any end: the "run finished" line is what the failed-run alert watches for.
        return (yield from _close(context, refused, started, run_id=request.run_id))
    gate = gates.decide(
        config.plan,
        requested=date.fromisoformat(request.date),
        # The day the work runs: a re-run of an unfrozen date during a freeze must not act either.
        work_day=schedule.local_date(started, config.plan.timezone),
        environment=request.environment,
        freeze_windows=config.freeze_windows,
        dry_run=request.dry_run or config.dry_run,
    )
    chosen = gate.wave

    def finish(status: Status, reason: str | None = None, **extra: Any) -> RunResult:
        return RunResult(context.instance_id, request.date, chosen.environment, chosen.role, status, reason, **extra)

    # Announced like every other end (the one "run finished" line the alerts watch for, one message).
    if gate.status == gates.SKIPPED:
        return (yield from _close(context, finish("skipped", gate.reason), started, run_id=request.run_id))
    if gate.status == gates.NOTHING_TO_DO or chosen.environment is None:
        return (yield from _close(context, finish("nothing-to-do", gate.reason), started, run_id=request.run_id))
    environment = chosen.environment

    context.set_custom_status({"phase": "planning", "environment": environment})
    planning = planning_request(config.plan, chosen, config.min_soak_hours, context.current_utc_datetime, context.instance_id)
    activity = PLAN_LEAD if isinstance(planning, LeadPlanRequest) else PLAN_FOLLOWER
    try:
        env_plan = EnvironmentPlan.from_dict((yield context.call_activity_with_retry(activity, ACTIVITY_RETRY, planning.to_dict())))
    except Exception as exc:  # noqa: BLE001 - retries exhausted: report, never guess
        result = finish("failed", f"planning failed after retries: {_first_line(exc)}")
        return (yield from _close(context, result, started, run_id=request.run_id))
    target_version = env_plan.target_version

    if env_plan.status != "ready":
        result = finish(env_plan.status, env_plan.reason, target_version=target_version)
        return (yield from _close(context, result, started, run_id=request.run_id))
    outcomes = tuple(results.outcome_from_plan(p, dry_run=gate.dry_run) for p in env_plan.clusters)
    if not env_plan.has_eligible:
        result = finish("nothing-to-do", f"no eligible cluster in {environment}", target_version=target_version, clusters=outcomes)
        return (yield from _close(context, result, started, run_id=request.run_id))
    if gate.dry_run:
        status, reason = results.overall_status(outcomes, dry_run=True)
        result = finish(status, reason, target_version=target_version, clusters=outcomes)
        return (yield from _close(context, result, started, run_id=request.run_id, notify_and_audit=False))

    approval: Decision | None = None
    late = Listening()
    if config.needs_approval(environment) and env_plan.to_upgrade:
        if env_plan.protocol >= 2:
            approval, refusal, stopped_by, late = yield from _await_approval(context, config, env_plan, request, stop)
        else:
            approval, refusal, stopped_by = yield from _await_approval_protocol_1(context, config, env_plan, request, stop)
        if refusal is not None or stopped_by is not None:
            # No PUT, no record; each cluster it would have upgraded says why.
            held: Status = "skipped" if refusal is not None else "stopped"
            why = refusal or f"{stopped_by}; nothing recorded"
            kept = tuple(results.held_back(o, refusal or str(stopped_by)) for o in outcomes)
            ended = finish(held, why, target_version=target_version, clusters=kept)
            return (yield from _close(context, ended, started, run_id=request.run_id, approval=approval))

    deadline = context.current_utc_datetime + timedelta(minutes=config.upgrade_timeout_minutes)
    carried = Carried(config, env_plan, started, UpgradeLoop.begin(env_plan, deadline, context.current_utc_datetime), approval)
    return (yield from _upgrade_and_conclude(context, request, carried, stop, late))


@dataclass(frozen=True)
class Listening:
    """The Approval wait a run that went ahead on an approval keeps open while it upgrades, and
    the Approval payloads it has read in this execution.

    A reject can reach a run after it moved on: the route read awaiting-approval just before the
    run took the first decision, and raised its event just after (202). The durable SDK buffers an
    event that finds no wait open for its name, where a later one overwrites it and nothing reads
    it; so a wait stays open from the first decision until the run records, and a reject heard
    there stops the run as a Stop does. ``wait`` None: not listening (the run asked no approval,
    or the SDK is handing one buffered event to every wait, so nothing new can be heard in this
    execution). ``read`` tells such a re-delivery from a new decision (``approvals.is_repeat``).
    """

    wait: Any = None
    read: tuple[Any, ...] = ()

    @property
    def waits(self) -> list[Any]:
        return [] if self.wait is None else [self.wait]


def _listen_again(context: df.DurableOrchestrationContext, carried: Carried) -> Listening:
    """A later execution of an approved run listens for a late reject again: continue_as_new
    leaves the earlier execution's wait behind."""
    if carried.approval is None or carried.loop.stopped is not None or carried.plan.protocol < 2:
        return Listening()
    return Listening(context.wait_for_external_event(approvals.EVENT))


def _await_approval(
    context: df.DurableOrchestrationContext, config: RunConfiguration, env_plan: EnvironmentPlan, request: RunRequest, stop: Any
) -> Generator[Any, Any, tuple[Decision | None, str | None, str | None, Listening]]:
    """Ask for a decision and wait for it (or the timeout, or a Stop): (decision, refusal,
    stopped, the wait that listens on for a late reject)."""
    hours = config.approval_timeout_hours
    notice = _show_awaiting_approval(context, env_plan, request, hours)
    # The wait opens in this episode, the one whose status says awaiting-approval: the route
    # answers 202 from the moment that status is committed, and the Slack message may take a
    # while. A decision posted meanwhile must find the wait open, not be buffered by the SDK
    # (where a later decision overwrites it).
    answer = context.wait_for_external_event(approvals.EVENT)
    asked = context.call_activity(REQUEST_APPROVAL, notice.to_dict())
    winner = yield context.task_any([asked, answer, stop])
    if winner is asked:
        # Sent, or failed (the decision can still come over HTTP; the activity logged why).
        timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=hours))
        winner = yield context.task_any([answer, timeout, stop])
        if winner is not timeout:
            timeout.cancel()
    # No longer awaiting: a second decision posted from now on is answered 409.
    context.set_custom_status({"phase": "decided", "environment": env_plan.environment})
    if winner is stop:
        return None, None, stops.describe_payload(stop.result), Listening()
    if winner is not answer:
        return None, approvals.refusal(None, hours), None, Listening()
    payloads, still_open = yield from _decisions_so_far(context, answer.result)
    verdict = approvals.settle(payloads)
    return verdict.decision, verdict.refusal, None, Listening(still_open, tuple(payloads))


def _decisions_so_far(context: df.DurableOrchestrationContext, first: Any) -> Generator[Any, Any, tuple[list[Any], Any]]:
    """``first`` and every further Approval raised before the run moves on, in order; and the
    wait still open when reading ended on the timer (None when it ended on a final or repeated one).

    Until this episode ends the run still shows awaiting-approval, so a second decision posted now is
    answered 202 and must count (a reject wins). As ``_heed_stop`` does for a Stop, a zero-length
    timer ends the episode: every decision delivered with the first one, or before the timer fires,
    is read, one wait after the other, so that none is buffered and lost. Reading ends early once
    the domain says more cannot matter (a reject, or a repeat). The wait left open keeps listening
    while the run upgrades (``Listening``).
    """
    payloads = [first]
    drained = None
    while approvals.read_more(payloads):
        drained = drained or context.create_timer(context.current_utc_datetime)
        more = context.wait_for_external_event(approvals.EVENT)
        if (yield context.task_any([more, drained])) is not more:
            return payloads, more
        payloads.append(more.result)
    return payloads, None


def _await_approval_protocol_1(
    context: df.DurableOrchestrationContext, config: RunConfiguration, env_plan: EnvironmentPlan, request: RunRequest, stop: Any
) -> Generator[Any, Any, tuple[Decision | None, str | None, str | None]]:
    """The approval wait of a run planned before protocol 2 (``planning.PROTOCOL``), kept as it was
    so that such a run, under way when the app is deployed again, replays its history: the Slack
    message first, then one decision, the timeout or a Stop; nothing listens afterwards."""
    hours = config.approval_timeout_hours
    notice = _show_awaiting_approval(context, env_plan, request, hours)
    try:
        yield context.call_activity(REQUEST_APPROVAL, notice.to_dict())
    except Exception:  # noqa: BLE001 - the decision can still come over HTTP; the activity logged why
        pass
    answer = context.wait_for_external_event(approvals.EVENT)
    timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=hours))
    winner = yield context.task_any([answer, timeout, stop])
    if winner is not timeout:
        timeout.cancel()
    context.set_custom_status({"phase": "decided", "environment": env_plan.environment})
    if winner is stop:
        return None, None, stops.describe_payload(stop.result)
    if winner is timeout:
        return None, approvals.refusal(None, hours), None
    verdict = approvals.settle([answer.result])
    return verdict.decision, verdict.refusal, None


def _show_awaiting_approval(
    context: df.DurableOrchestrationContext, env_plan: EnvironmentPlan, request: RunRequest, hours: int
) -> ApprovalNotice:
    """Show the run as awaiting approval (the route answers 202 from then on), with the plan; and
    the notice that asks people for their decision."""
    context.set_custom_status(
        {
            "phase": "awaiting-approval",
            "environment": env_plan.environment,
            "approvalTimeoutHours": hours,
            "targetVersion": env_plan.target_version,
            # Durable Functions caps a custom status at 16 KB: the plan's first clusters and a count.
            "plan": _plan_summary(env_plan),
        }
    )
    return ApprovalNotice(env_plan, request.date, context.instance_id, hours)


#: Clusters named in the awaiting-approval status; the rest are counted (the 16 KB status limit).
STATUS_CLUSTERS = 25


def _plan_summary(env_plan: EnvironmentPlan) -> dict[str, Any]:
    """What the awaiting-approval status shows of the plan: small enough for any environment."""
    moves = [{"name": c.name, "from": c.from_version, "to": c.to_version} for c in env_plan.to_upgrade]
    return {
        "environment": env_plan.environment,
        "targetVersion": env_plan.target_version,
        "toUpgrade": len(moves),
        "clusters": moves[:STATUS_CLUSTERS],
        "more": max(len(moves) - STATUS_CLUSTERS, 0),
    }


@dataclass(frozen=True)
class Carried:
    """Everything a later execution needs: the run's configuration, the plan, the start time and
    where the upgrade loop stands. Carried across continue_as_new as JSON; the earlier shape
    (with a ``role`` key and the loop keyed by cluster id) still reads."""

    config: RunConfiguration
    plan: EnvironmentPlan
    started: datetime
    loop: UpgradeLoop
    #: The approval this run went ahead on, kept for the audit history.
    approval: Decision | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "plan": self.plan.to_dict(),
            "started": self.started.isoformat(),
            "loop": self.loop.to_dict(),
            "approval": self.approval.to_dict() if self.approval is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Carried:
        plan = EnvironmentPlan.from_dict(data["plan"])
        started = dates.parse_utc_instant(data["started"], naive_means_utc=True)
        approval = approvals.read_decision(data["approval"]) if data.get("approval") else None
        return cls(RunConfiguration.from_dict(data["config"]), plan, started, UpgradeLoop.from_dict(data["loop"], plan), approval)


def _upgrade_and_conclude(
    context: df.DurableOrchestrationContext, request: RunRequest, carried: Carried, stop: Any, late: Listening
) -> Flow:
    """Run the upgrade loop (possibly continuing as new), then record, audit and notify."""
    env_plan = carried.plan
    upgraded = yield from _upgrade_all(context, request, carried, stop, late)
    if upgraded is None:
        return None  # continued as new: the next execution carries on
    loop, late = upgraded
    # A Stop (or a late reject) that came with the last answers still counts.
    loop, _ = yield from _heed_stop(context, loop, stop, late)
    by_id = {o.id: o for o in loop.finished}
    ordered = tuple(by_id.get(p.id) or results.outcome_from_plan(p) for p in env_plan.clusters)
    status, reason = results.overall_status(ordered, dry_run=False, stopped=loop.stopped)
    recorded = None
    decision = results.record_decision(env_plan, ordered, env_plan.target_version)
    if status == "succeeded" and decision is not None:
        context.set_custom_status(_progress("recording", env_plan.environment, ordered))
        record = RecordRequest(env_plan.environment, decision.version, decision.clusters, context.instance_id, context.current_utc_datetime)
        try:
            written = yield context.call_activity_with_retry(RECORD_VERSION, ACTIVITY_RETRY, record.to_dict())
            recorded = RecordedVersion.from_dict(written).version
        except Exception as exc:  # noqa: BLE001 - upgrades done, record not written: the next wave must not guess
            status = "failed"
            reason = f"every upgrade succeeded but recording {decision.version} failed: {_first_line(exc)}; re-run to record it"
    result = RunResult(
        context.instance_id,
        request.date,
        env_plan.environment,
        env_plan.role,
        status,
        reason,
        target_version=env_plan.target_version,
        recorded_version=recorded,
        clusters=ordered,
    )
    return (yield from _close(context, result, carried.started, run_id=request.run_id, approval=carried.approval))


def _upgrade_all(
    context: df.DurableOrchestrationContext, request: RunRequest, carried: Carried, stop: Any, late: Listening
) -> Generator[Any, Any, tuple[UpgradeLoop, Listening] | None]:
    """Keep up to MAX_PARALLEL_UPGRADES upgrades running; poll with durable timers; check each
    succeeded upgrade's health after it settled; obey the deadline, a person's Stop, and a reject
    that reached an approved run after it went ahead (``late``).

    Returns the finished loop and what still listens for a late reject, or None after
    ``continue_as_new`` (every ROUNDS_PER_EXECUTION polls, so that no execution's history, and
    replay cost, grows unbounded). Every decision is a transition of the loop; this function only
    asks and waits.
    """
    config, env_plan, loop = carried.config, carried.plan, carried.loop
    poll = timedelta(seconds=config.poll_interval_seconds)
    settle = timedelta(minutes=config.health_settle_minutes)
    requested = date.fromisoformat(request.date)
    # Listen for a Stop raised while this execution was planning or starting, before any start.
    loop, late = yield from _heed_stop(context, loop, stop, late)
    while not loop.is_done:
        now = context.current_utc_datetime
        if loop.stopped is None and stop.is_completed:
            loop = loop.stop(stops.describe_payload(stop.result))
        loop, late = _take_late_decision(context, loop, late)
        # Upgrades start over hours (slots, backoffs): a day that became frozen meanwhile stops new ones.
        frozen = gates.freeze_problem(requested, schedule.local_date(now, config.plan.timezone), config.freeze_windows)
        if frozen is not None:
            loop = loop.stop_starting(f"not started: {frozen}")
        loop = loop.release_waiting(now)
        batch = loop.next_batch(config.max_parallel_upgrades, poll)
        if batch:
            answers = yield from _start(context, env_plan.environment, loop, batch, now)
            loop = loop.apply_start_answers(answers, now, settle)
            now = context.current_utc_datetime  # the starts took an episode: the deadline and wake count from here
        context.set_custom_status(_progress("upgrading", env_plan.environment, loop.finished, len(env_plan.clusters), len(loop.in_flight)))
        if loop.is_done:
            break
        if loop.past_deadline(now):
            loop = loop.time_out(config.upgrade_timeout_minutes)
            break
        if loop.continue_as_new_due(ROUNDS_PER_EXECUTION):
            # A Stop (or late reject) raised with the last answers would be lost with this execution: take it first.
            loop, late = yield from _heed_stop(context, loop, stop, late)
            context.continue_as_new({**request.to_input(), "continuation": replace(carried, loop=loop).to_dict()})
            return None
        timer = context.create_timer(loop.next_wake(now, poll))
        if loop.stopped is None:
            woke_by = yield context.task_any([timer, stop, *late.waits])
            if woke_by is stop:
                timer.cancel()
                loop = loop.stop(stops.describe_payload(stop.result))
                continue
            if woke_by is not timer:  # a further Approval: taken at the top of the loop
                timer.cancel()
                continue
        else:
            yield timer
        loop = loop.polled()
        due: tuple[InFlight, ...] = ()
        if loop.in_flight:
            due = loop.polls_due(poll)  # paced per subscription: never more looks than ARM's budget
            check = ProgressRequest(due, env_plan.environment, context.instance_id)
            try:
                report = ProgressReport.from_dict((yield context.call_activity_with_retry(CHECK_PROGRESS, ACTIVITY_RETRY, check.to_dict())))
            except Exception as exc:  # noqa: BLE001 - retries exhausted: stop, report, never guess
                loop = loop.progress_unknown(_first_line(exc))
                break
            loop = loop.apply_progress(report.clusters, context.current_utc_datetime, settle).looked_at(r.id for r in due)
        alerts = config.health_check == "arm+alerts"
        # The checks share the round's reads with the looks just taken; with alerts, two reads each.
        checks = loop.due_for_health(context.current_utc_datetime, poll, looked=due, reads_per_check=2 if alerts else 1)
        if checks:
            clock = context.current_utc_datetime
            health = HealthRequest(checks, env_plan.environment, alerts, carried.started, clock, context.instance_id, config.min_soak_hours)
            try:
                verdict = HealthReport.from_dict((yield context.call_activity_with_retry(CHECK_HEALTH, ACTIVITY_RETRY, health.to_dict())))
            except Exception as exc:  # noqa: BLE001 - retries exhausted: these clusters are not known healthy
                loop = loop.health_unknown([c.id for c in checks], _first_line(exc))
                continue
            loop = loop.apply_health(verdict.clusters, context.current_utc_datetime, poll)
    return loop, late


def _heed_stop(
    context: df.DurableOrchestrationContext, loop: UpgradeLoop, stop: Any, late: Listening
) -> Generator[Any, Any, tuple[UpgradeLoop, Listening]]:
    """Take a Stop, or a late reject, that has arrived but not been seen yet: a zero-length timer
    ends the episode, so every event delivered with the answers so far is processed before the
    run decides on. After a late approval the fresh wait listens until that same timer fires."""
    drained = None
    while loop.stopped is None:
        if stop.is_completed:
            return loop.stop(stops.describe_payload(stop.result)), late
        loop, late = _take_late_decision(context, loop, late)
        if loop.stopped is not None:
            break
        drained = drained or context.create_timer(context.current_utc_datetime)
        if (yield context.task_any([stop, drained, *late.waits])) is drained:
            break
    return loop, late


def _take_late_decision(context: df.DurableOrchestrationContext, loop: UpgradeLoop, late: Listening) -> tuple[UpgradeLoop, Listening]:
    """Act on an Approval that reached the run after it went ahead, if one has: a reject stops the
    run (``approvals.late_refusal``); an approval changes nothing, and a fresh wait listens on (it
    opens at the run's next wait); the same event handed over again means the SDK holds it for
    every wait, so the run stops listening in this execution (a fresh wait would be answered with
    it at once, for ever)."""
    if late.wait is None or not late.wait.is_completed:
        return loop, late
    payload = late.wait.result
    if approvals.is_repeat(late.read, payload):
        return loop, Listening()
    why = approvals.late_refusal(payload)
    if why is not None:
        return loop.stop(why), Listening()
    return loop, Listening(context.wait_for_external_event(approvals.EVENT), (*late.read, payload))


def _start(
    context: df.DurableOrchestrationContext, environment: str, loop: UpgradeLoop, batch: Sequence[Queued], now: datetime
) -> Generator[Any, Any, tuple[StartAnswer, ...]]:
    """Ask StartClusterUpgrade for each cluster of the batch, all at once."""
    requests = [StartRequest(loop.plan_of(q.id), environment, now, context.instance_id) for q in batch]
    tasks = [context.call_activity_with_retry(START_UPGRADE, ACTIVITY_RETRY, r.to_dict()) for r in requests]
    try:
        answers = yield context.task_all(tasks)
    except Exception as exc:  # noqa: BLE001 - unknown whether PUTs went out: let the checks tell
        return upgrade_loop.unknown_starts([q.id for q in batch], _first_line(exc))
    return tuple(StartAnswer.from_dict(a) for a in answers)


def _close(
    context: df.DurableOrchestrationContext,
    result: RunResult,
    started: datetime,
    *,
    run_id: str | None,
    notify_and_audit: bool = True,
    approval: Decision | None = None,
) -> Generator[Any, Any, dict[str, Any]]:
    """Audit and notify (best effort, never failing the run), then return the contract JSON.

    The audit rows carry ``run_id``: a re-run of the same instance id adds rows instead of
    replacing the earlier attempt's, while a retried history activity of this run rewrites its own.
    """
    output = result.to_dict()
    context.set_custom_status(_progress("done", result.environment, result.clusters, status=result.status))
    if notify_and_audit and result.clusters:
        audit = HistoryRequest(result, run_id, started, context.current_utc_datetime, approval)
        try:
            yield context.call_activity(RECORD_HISTORY, audit.to_dict())
        except Exception:  # noqa: BLE001 - history is best effort
            pass
    try:
        yield context.call_activity(NOTIFY, NotifyRequest(result).to_dict())
    except Exception:  # noqa: BLE001 - a notification never fails a rollout
        pass
    return output


def _progress(
    phase: str,
    environment: str | None,
    finished: Sequence[ClusterOutcome],
    total: int | None = None,
    in_flight: int = 0,
    status: str | None = None,
) -> dict[str, Any]:
    status_payload: dict[str, Any] = {
        "phase": phase,
        "environment": environment,
        "clustersDone": len(finished),
        "clustersTotal": total if total is not None else len(finished),
        "inFlight": in_flight,
        "failed": sum(1 for o in finished if o.result == "failed"),
    }
    if status:
        status_payload["status"] = status
    return status_payload


def _first_line(exc: BaseException) -> str:
    """What the orchestrator quotes of an activity's failure: its first line, at most 500 characters."""
    return text.first_line(str(exc), 500)
