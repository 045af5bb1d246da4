"""The UpgradeOrchestrator's logic: a deterministic generator.

Time comes only from ``context.current_utc_datetime``; every read and write is an activity; the
decisions are pure functions from ``shared.domain``. Waiting for upgrades is the durable monitor
pattern: start up to MAX_PARALLEL_UPGRADES, durable timer, check, start more, until done or the
deadline passes.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import azure.durable_functions as df

from shared.domain import freeze, gates, results, rollout, schedule
from shared.domain import upgrades as upgrades_mod
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.results import ClusterOutcome, RunResult

# Activity function names (= their folder names).
LOAD_SETTINGS = "LoadRolloutSettings"
PLAN_LEAD = "UpgradeLeadEnvironment"
PLAN_FOLLOWER = "UpgradeFollowerEnvironment"
START_UPGRADE = "StartClusterUpgrade"
CHECK_PROGRESS = "CheckUpgradeProgress"
RECORD_VERSION = "RecordValidatedVersion"
RECORD_HISTORY = "RecordUpgradeHistory"
NOTIFY = "NotifyRollout"

#: Activities that raise are retried by the host: a crash or a transient store/ARM error.
ACTIVITY_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=15_000, max_number_of_attempts=4)
MAX_START_ATTEMPTS = 5
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


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def run(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any] | None]:
    raw_input = context.get_input()
    request = RunRequest.from_input(raw_input)
    if isinstance(raw_input, dict) and isinstance(raw_input.get("continuation"), dict):
        # A later execution of a long upgrade (continue_as_new keeps each history short).
        return (yield from _upgrade_and_conclude(context, request, Carried.from_dict(raw_input["continuation"])))
    started = context.current_utc_datetime
    if request.run_id is None:
        # Deterministic on replay, different for every start of this instance id in Azure.
        request = replace(request, run_id=str(context.new_uuid()))
    try:
        config = yield context.call_activity_with_retry(LOAD_SETTINGS, ACTIVITY_RETRY, None)
    except Exception as exc:  # noqa: BLE001 - bad settings: refuse to work, say which
        refused = RunResult(context.instance_id, request.date, request.environment, "none", "failed", f"refused: {_first_line(exc)}")
        return refused.to_dict()
    plan = rollout.plan_from_dict(config["plan"])
    gate = gates.decide(
        plan,
        requested=date.fromisoformat(request.date),
        # The day the work runs: a re-run of an unfrozen date during a freeze must not act either.
        work_day=schedule.local_date(started, plan.timezone),
        environment=request.environment,
        freeze_windows=freeze.parse_freeze_dates(",".join(config["freezeDates"])),
        dry_run=request.dry_run or bool(config["dryRun"]),
    )
    chosen = gate.wave
    dry_run = gate.dry_run

    def finish(status: str, reason: str | None = None, **extra: Any) -> RunResult:
        return RunResult(context.instance_id, request.date, chosen.environment, chosen.role, status, reason, **extra)

    if not gate.may_act or chosen.environment is None:
        return finish(gate.status, gate.reason).to_dict()
    environment = chosen.environment

    context.set_custom_status({"phase": "planning", "environment": environment})
    payload = {
        "environment": environment,
        "predecessor": chosen.predecessor,
        "date": request.date,
        "clock": _iso(context.current_utc_datetime),
        "minSoakHours": config["minSoakHours"],
        "instanceId": context.instance_id,
    }
    try:
        raw_plan = yield context.call_activity_with_retry(PLAN_LEAD if chosen.role == "lead" else PLAN_FOLLOWER, ACTIVITY_RETRY, payload)
    except Exception as exc:  # noqa: BLE001 - retries exhausted: report, never guess
        result = finish("failed", f"planning failed after retries: {_first_line(exc)}")
        return (yield from _close(context, result, started, run_id=request.run_id))
    env_plan = EnvironmentPlan.from_dict(raw_plan)
    target_version = env_plan.target_version

    if env_plan.status in ("skipped", "failed"):
        result = finish(env_plan.status, env_plan.reason, target_version=target_version)
        return (yield from _close(context, result, started, run_id=request.run_id))
    outcomes = {p.id: results.outcome_from_plan(p, dry_run=dry_run) for p in env_plan.clusters}
    if not env_plan.has_eligible:
        result = finish(
            "nothing-to-do", f"no eligible cluster in {environment}", target_version=target_version, clusters=tuple(outcomes.values())
        )
        return (yield from _close(context, result, started, run_id=request.run_id))
    if dry_run:
        status, reason = results.overall_status(list(outcomes.values()), dry_run=True)
        result = finish(status, reason, target_version=target_version, clusters=tuple(outcomes.values()))
        return (yield from _close(context, result, started, run_id=request.run_id, notify_and_audit=False))

    carried = Carried(
        config=config,
        role=chosen.role,
        plan=env_plan,
        started=_iso(started),
        loop=LoopState.begin(env_plan, context.current_utc_datetime + timedelta(minutes=int(config["upgradeTimeoutMinutes"]))),
    )
    return (yield from _upgrade_and_conclude(context, request, carried))


@dataclass(frozen=True)
class LoopState:
    """Where the upgrade loop stands; carried across continue_as_new as plain JSON."""

    ready: tuple[str, ...]
    #: cluster id → ISO time before which a transiently refused start is not retried
    waiting: dict[str, str]
    attempts: dict[str, int]
    in_flight: dict[str, dict[str, Any]]
    finals: dict[str, dict[str, Any]]
    deadline: str

    @classmethod
    def begin(cls, env_plan: EnvironmentPlan, deadline: datetime) -> LoopState:
        return cls(tuple(p.id for p in env_plan.to_upgrade), {}, {}, {}, {}, _iso(deadline))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ready": list(self.ready),
            "waiting": self.waiting,
            "attempts": self.attempts,
            "inFlight": self.in_flight,
            "finals": self.finals,
            "deadline": self.deadline,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopState:
        return cls(
            tuple(data["ready"]),
            dict(data["waiting"]),
            dict(data["attempts"]),
            dict(data["inFlight"]),
            dict(data["finals"]),
            data["deadline"],
        )


@dataclass(frozen=True)
class Carried:
    """Everything a later execution needs: the settings view, the plan, the loop, the start time."""

    config: dict[str, Any]
    role: str
    plan: EnvironmentPlan
    started: str
    loop: LoopState

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "role": self.role, "plan": self.plan.to_dict(), "started": self.started, "loop": self.loop.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Carried:
        return cls(
            data["config"], data["role"], EnvironmentPlan.from_dict(data["plan"]), data["started"], LoopState.from_dict(data["loop"])
        )


def _upgrade_and_conclude(
    context: df.DurableOrchestrationContext, request: RunRequest, carried: Carried
) -> Generator[Any, Any, dict[str, Any] | None]:
    """Run the upgrade loop (possibly continuing as new), then record, audit and notify."""
    env_plan = carried.plan
    environment = env_plan.environment
    finals = yield from _upgrade_all(context, request, carried)
    if finals is None:
        return None  # continued as new: the next execution carries on
    outcomes = {p.id: results.outcome_from_plan(p) for p in env_plan.clusters}
    outcomes.update(finals)
    ordered = tuple(outcomes[p.id] for p in env_plan.clusters)
    status, reason = results.overall_status(ordered, dry_run=False)
    recorded = None
    target_version = env_plan.target_version
    decision = results.record_decision(env_plan, ordered, target_version)
    if status == "succeeded" and decision is not None:
        context.set_custom_status(_progress("recording", environment, list(ordered)))
        try:
            written = yield context.call_activity_with_retry(
                RECORD_VERSION,
                ACTIVITY_RETRY,
                {
                    "environment": environment,
                    "version": decision.version,
                    "clusters": list(decision.clusters),
                    "instanceId": context.instance_id,
                    "validatedAt": _iso(context.current_utc_datetime),
                },
            )
            recorded = written["version"]
        except Exception as exc:  # noqa: BLE001 - upgrades done, record not written: the next wave must not guess
            status = "failed"
            reason = f"every upgrade succeeded but recording {decision.version} failed: {_first_line(exc)}; re-run to record it"
    result = RunResult(
        context.instance_id,
        request.date,
        environment,
        carried.role,
        status,
        reason,
        target_version=target_version,
        recorded_version=recorded,
        clusters=ordered,
    )
    started = datetime.fromisoformat(carried.started)
    return (yield from _close(context, result, started, run_id=request.run_id))


def _upgrade_all(
    context: df.DurableOrchestrationContext, request: RunRequest, carried: Carried
) -> Generator[Any, Any, dict[str, ClusterOutcome] | None]:
    """Keep up to MAX_PARALLEL_UPGRADES upgrades running; poll with durable timers; obey the deadline.

    Returns every upgraded cluster's outcome, or None after ``continue_as_new`` (every
    ROUNDS_PER_EXECUTION polls, so that no execution's history, and replay cost, grows unbounded).
    """
    env_plan, config = carried.plan, carried.config
    max_parallel = int(config["maxParallelUpgrades"])
    poll = timedelta(seconds=int(config["pollIntervalSeconds"]))
    loop = carried.loop
    deadline = datetime.fromisoformat(loop.deadline)
    by_id = {p.id: p for p in env_plan.to_upgrade}
    ready: list[str] = list(loop.ready)
    waiting = {cid: datetime.fromisoformat(at) for cid, at in loop.waiting.items()}
    attempts = dict(loop.attempts)
    in_flight = dict(loop.in_flight)
    finals = {cid: ClusterOutcome.from_dict(o) for cid, o in loop.finals.items()}
    total = len(env_plan.clusters)
    rounds = 0

    def done(plan: ClusterPlan, result: str, reason: str | None = None) -> None:
        finals[plan.id] = ClusterOutcome(plan.id, plan.from_version, plan.to_version, result, reason)

    while ready or waiting or in_flight:
        now = context.current_utc_datetime
        for cid, not_before in sorted(waiting.items()):
            if not_before <= now:
                ready.append(cid)
                del waiting[cid]
        free = max(max_parallel - len(in_flight), 0)
        batch, ready = ready[:free], ready[free:]
        if batch:
            tasks = [
                context.call_activity_with_retry(
                    START_UPGRADE,
                    ACTIVITY_RETRY,
                    {
                        "cluster": by_id[cid].to_dict(),
                        "instanceId": context.instance_id,
                        "environment": env_plan.environment,
                        "clock": _iso(now),
                    },
                )
                for cid in batch
            ]
            try:
                started = yield context.task_all(tasks)
            except Exception as exc:  # noqa: BLE001 - unknown whether PUTs went out: let the checks tell
                started = [
                    {"id": cid, "state": "upgrading", "operationUrl": None, "reason": f"start outcome unknown: {_first_line(exc)}"}
                    for cid in batch
                ]
            for answer in started:
                plan = by_id[answer["id"]]
                state = answer["state"]
                if state == "upgrading":
                    in_flight[plan.id] = {
                        "id": plan.id,
                        "to": plan.to_version,
                        "operationUrl": answer.get("operationUrl"),
                        # Set when this run joined an upgrade that was already running: no PUT of ours.
                        "reason": answer.get("reason"),
                    }
                elif state == "already-current":
                    done(plan, "already-current")
                elif state == "skipped":
                    done(plan, "skipped", answer.get("reason"))
                elif state == "retry":
                    attempts[plan.id] = attempts.get(plan.id, 0) + 1
                    if attempts[plan.id] >= MAX_START_ATTEMPTS:
                        done(plan, "failed", f"{answer.get('reason')} (gave up after {attempts[plan.id]} attempts)")
                    else:
                        delay = upgrades_mod.retry_delay_seconds(attempts[plan.id], answer.get("retryAfter"))
                        waiting[plan.id] = now + timedelta(seconds=delay)
                else:
                    done(plan, "failed", answer.get("reason"))
        context.set_custom_status(_progress("upgrading", env_plan.environment, list(finals.values()), total, len(in_flight)))
        if not (ready or waiting or in_flight):
            break
        if now >= deadline:
            for cid in [*in_flight, *waiting, *ready]:
                done(by_id[cid], "failed", f"Timeout: not finished within UPGRADE_TIMEOUT_MINUTES={config['upgradeTimeoutMinutes']}")
            break
        if rounds >= ROUNDS_PER_EXECUTION:
            state = LoopState(
                tuple(ready),
                {cid: _iso(at) for cid, at in waiting.items()},
                attempts,
                in_flight,
                {cid: o.to_dict() for cid, o in finals.items()},
                loop.deadline,
            )
            context.continue_as_new({**request.to_input(), "continuation": replace(carried, loop=state).to_dict()})
            return None
        wake = now + poll
        if waiting and not in_flight and not ready:
            wake = max(min(waiting.values()), now + timedelta(seconds=1))
        yield context.create_timer(min(wake, max(deadline, now + timedelta(seconds=1))))
        rounds += 1
        if in_flight:
            checked = yield context.call_activity_with_retry(
                CHECK_PROGRESS,
                ACTIVITY_RETRY,
                {
                    "clusters": list(in_flight.values()),
                    "instanceId": context.instance_id,
                    "environment": env_plan.environment,
                },
            )
            for item in checked["clusters"]:
                if item["state"] == "inProgress":
                    continue
                plan = by_id[item["id"]]
                joined = in_flight.pop(plan.id, {}).get("reason")
                if item["state"] == "succeeded":
                    done(plan, "upgraded", joined)
                else:
                    done(plan, "failed", item.get("reason"))
    return finals


def _close(
    context: df.DurableOrchestrationContext,
    result: RunResult,
    started: datetime,
    *,
    run_id: str | None,
    notify_and_audit: bool = True,
) -> Generator[Any, Any, dict[str, Any]]:
    """Audit and notify (best effort, never failing the run), then return the contract JSON.

    The audit rows carry ``run_id``: a re-run of the same instance id adds rows instead of
    replacing the earlier attempt's, while a retried history activity of this run rewrites its own.
    """
    output = result.to_dict()
    context.set_custom_status(_progress("done", result.environment, list(result.clusters), status=result.status))
    if notify_and_audit and result.clusters:
        try:
            yield context.call_activity(
                RECORD_HISTORY,
                {
                    **output,
                    "runId": run_id,
                    "startedAt": _iso(started),
                    "finishedAt": _iso(context.current_utc_datetime),
                },
            )
        except Exception:  # noqa: BLE001 - history is best effort
            pass
    try:
        yield context.call_activity(NOTIFY, output)
    except Exception:  # noqa: BLE001 - a notification never fails a rollout
        pass
    return output


def _progress(
    phase: str,
    environment: str | None,
    finished: list[ClusterOutcome],
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
    return str(exc).strip().split("\n")[0][:500]
