"""Run one durable orchestration instance to completion in-process, through the SDK's replay.

The Functions host cannot run here, so this module plays the Durable Task extension's part:
it keeps the instance's history, calls the orchestrator handle (``Orchestrator.create(fn)``,
the very callable the worker calls) with the whole history on every episode, reads back the
actions, executes the activities it asked for, and appends the outcomes as the next episode.
The orchestrator code is the real generator and is replayed from its first line each time,
exactly as in Azure.

Host behaviours reproduced here (the SDK facts behind each are in docs/durable-replay.md):

- episodes are ``OrchestratorStarted, <completions>, <newly scheduled>, OrchestratorCompleted``;
- one task-id counter per instance, in the order tasks are yielded; retry timers and
  rescheduled attempts of ``call_activity_with_retry`` take ids too, so the driver puts retry
  failures and non-final retry-timer fires first in an episode, before anything that can
  resume the orchestrator, and allocates ids in that same order;
- activities scheduled in one episode (``task_all`` fan-outs included) run concurrently;
- durable timers fire at once on a simulated clock that only moves forward; or, with
  ``hold_timers``, the clock moves only when asked (``advance_clock``): ``run()`` then returns when
  the orchestrator waits on a later timer, so a test can raise an event into a run that waits
  (for an approval, between polls) and let time pass step by step, never by the wall clock.
- an event raised while an episode's activities run reaches the orchestrator in the batch of
  their completions: after them by default, or, with ``events_before_completions``, before them.
  Azure produces both orders: the event message is enqueued when it is raised, the completion
  when the activity returns, so an event raised while an activity runs comes first, and one
  raised after it returned (before the orchestrator took the completion) comes after.

Intentional differences from the host: a cancelled durable timer is never fired; activities
take no simulated time. ``continue_as_new`` starts a fresh execution (new history, task ids from
0, the new input) under the same instance id, as the host does; ``OrchestrationRun.history`` then
holds the last execution's history. Sub-orchestrations are not supported (the app has none): an
orchestrator that calls one stops the driver with a DriverError.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from ops.durable import history as h
from ops.durable.registry import registry_from_app

__all__ = [
    "ActivityFunction",
    "DriverError",
    "OrchestrationDriver",
    "OrchestrationLimitError",
    "OrchestrationRun",
    "OrchestrationStuckError",
    "OrchestratorHandle",
    "ReplayResult",
    "registry_from_app",
    "replay",
    "run_orchestration",
]

#: ``Orchestrator.create(fn)``: context JSON in, orchestrator state JSON out (or raises).
OrchestratorHandle = Callable[[str], str]
#: An activity: decoded input in, JSON-serialisable result out (the registry's ActivityCallable
#: runs an async one to completion).
ActivityFunction = Callable[[Any], Any]
ClockCallback = Callable[[datetime], None]
RuntimeStatus = Literal["Completed", "Failed", "Running"]

_OUT_OF_PROC_MARKER = "$OutOfProcData$:"
DEFAULT_MAX_EPISODES = 10_000
DEFAULT_MAX_HISTORY = 200_000
#: Activities of one episode run at once on this many threads (the app fans out to at most
#: MAX_PARALLEL_UPGRADES clusters, and its activities fan out their own I/O).
MAX_WORKERS = 32


class DriverError(RuntimeError):
    """The driver cannot continue this instance (a bug in the driver or a misuse of it)."""


class OrchestrationLimitError(DriverError):
    """The instance ran more episodes or grew more history than the configured guard allows."""


class OrchestrationStuckError(DriverError):
    """The orchestrator waits, but on nothing the driver has scheduled (ids out of step?)."""


@dataclass(frozen=True)
class OrchestrationRun:
    """What one driven instance did.

    ``runtime_status`` is ``Running`` only when the orchestrator waits for an external event
    that nobody has raised yet (``OrchestrationDriver.raise_event`` then ``run`` resumes it), or,
    with ``hold_timers``, for a timer set later than the simulated clock (``advance_clock`` then
    ``run`` fires it).
    ``custom_statuses`` holds every value the orchestrator passed to ``set_custom_status``
    outside replay, in order.
    ``activity_calls`` holds ``(name, decoded input)`` per scheduled attempt, in task-id order.
    ``actions`` is the flattened action list of the last orchestrator call.
    """

    instance_id: str
    name: str
    runtime_status: RuntimeStatus
    output: Any
    error: str | None
    custom_status: Any
    custom_statuses: list[Any]
    history: list[dict[str, Any]]
    activity_calls: list[tuple[str, Any]]
    actions: list[dict[str, Any]]
    started: datetime
    finished: datetime
    episodes: int
    #: Executions of this instance: 1 plus one per ``continue_as_new``.
    executions: int = 1
    #: The input (JSON text) of the last execution, for replaying ``history``.
    input_json: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.runtime_status == "Completed"


@dataclass(frozen=True)
class ReplayResult:
    """The orchestrator's answer to one call over a given history."""

    is_done: bool
    actions: list[dict[str, Any]]
    output: Any
    error: str | None
    custom_status: Any


@dataclass
class _Retry:
    interval: timedelta
    max_attempts: int
    attempt: int = 1


@dataclass
class _Work:
    """An activity attempt, scheduled under ``task_id``."""

    task_id: int
    name: str
    input_json: str | None
    retry: _Retry | None = None


@dataclass
class _Timer:
    timer_id: int
    fire_at: datetime
    retry_of: _Work | None = None  # host retry timer: the attempt to reschedule when it fires


@dataclass
class _Outcome:
    work: _Work
    ok: bool
    result_json: str = "null"
    reason: str = ""
    details: str = ""


@dataclass
class _State:
    """The orchestrator state of one call, decoded from the output JSON or the error text."""

    is_done: bool
    actions: list[dict[str, Any]]
    output: Any
    error: str | None
    custom_status: Any
    failed: bool = False


class OrchestrationDriver:
    """Drives one instance. ``run()`` returns when it completes, fails, or waits for an event (or,
    with ``hold_timers``, for a timer the clock has not reached).

    Not thread-safe: one caller at a time (the local HTTP API serialises per instance).
    """

    def __init__(
        self,
        handle: OrchestratorHandle,
        activities: Mapping[str, ActivityFunction],
        *,
        instance_id: str,
        input: Any = None,
        start_time: datetime,
        name: str = "orchestrator",
        on_clock_advance: ClockCallback | None = None,
        max_episodes: int = DEFAULT_MAX_EPISODES,
        max_history: int = DEFAULT_MAX_HISTORY,
        hold_timers: bool = False,
        events_before_completions: bool = False,
    ) -> None:
        function = getattr(handle, "orchestrator_function", None)
        if not callable(function):
            raise DriverError("the orchestrator handle must come from Orchestrator.create (registry_from_app gives those)")
        # Every set_custom_status call made outside replay, in order (see _spying_handle).
        self._status_calls: list[Any] = []
        self._handle = _spying_handle(handle, function, self._status_calls.append)
        self._activities = dict(activities)
        self.instance_id = instance_id
        self.name = name
        self._input_json = None if input is None else json.dumps(input)
        self._started = h.to_utc(start_time)
        self._clock = self._started
        self._clock_callback = on_clock_advance
        self._max_episodes = max_episodes
        self._max_history = max_history
        #: Timers fire only once the clock has reached them; the clock moves by ``advance_clock``.
        self._hold_timers = hold_timers
        #: Events raised while the activities ran come before their completions, as they do in
        #: Azure when the event was raised before the activity returned.
        self._events_first = events_before_completions

        self._continue_input: str | None = None
        self._executions = 1
        self._history: list[dict[str, Any]] = []
        self._next_id = 0
        self._flat_seen = 0
        self._action_ids: list[int | None] = []  # task id per flattened action index
        self._ready: list[_Work] = []
        self._timers: list[_Timer] = []
        self._events: list[tuple[str, str | None]] = []
        self._waits_for_events = False
        self._episodes = 0
        self._status: RuntimeStatus = "Running"
        self._state = _State(False, [], None, None, None)
        self._custom_statuses: list[Any] = []
        self._activity_calls: list[tuple[str, Any]] = []

    # -- public -------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The simulated clock: the timestamp of the latest episode."""
        return self._clock

    @property
    def runtime_status(self) -> RuntimeStatus:
        return self._status

    @property
    def next_timer(self) -> datetime | None:
        """When the earliest pending durable timer fires (None: no timer pending)."""
        return min((t.fire_at for t in self._timers), default=None)

    def raise_event(self, name: str, data: Any = None) -> None:
        """Queue an external event; the next ``run()`` delivers it as ``EventRaised``."""
        self._events.append((name, json.dumps(data)))

    def advance_clock(self) -> datetime | None:
        """Move the simulated clock to the earliest pending timer, so that the next ``run()`` fires
        it (and every other timer due by then); returns the new time, None when no timer is pending.

        For a driver that holds timers: time passes only when the caller says so.
        """
        fire_at = self.next_timer
        if fire_at is not None:
            self._advance_clock(fire_at)
        return fire_at

    def run(self) -> OrchestrationRun:
        with ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix=f"durable-{self.instance_id}") as pool:
            if self._episodes == 0:
                self._first_episode()
            while self._status == "Running" and self._next_round(pool):
                pass
        return self.result()

    def result(self) -> OrchestrationRun:
        state = self._state
        return OrchestrationRun(
            instance_id=self.instance_id,
            name=self.name,
            runtime_status=self._status,
            output=state.output if self._status == "Completed" else None,
            error=state.error if self._status == "Failed" else None,
            custom_status=state.custom_status,
            custom_statuses=list(self._custom_statuses),
            history=[dict(e) for e in self._history],
            activity_calls=list(self._activity_calls),
            actions=list(state.actions),
            started=self._started,
            finished=self._clock,
            episodes=self._episodes,
            executions=self._executions,
            input_json=self._input_json,
        )

    # -- episodes -----------------------------------------------------------------------

    def _first_episode(self) -> None:
        at = self._clock
        incoming = [h.orchestrator_started(at), h.execution_started(at, self.name, self._input_json)]
        self._episode(incoming, host_events=[])

    def _next_round(self, pool: ThreadPoolExecutor) -> bool:
        """Deliver the next batch of completions. False when only an external event (or, holding
        timers, moving the clock) can help."""
        self._check_limits()
        outcomes: list[_Outcome] = []
        events: list[tuple[str, str | None]] = []
        if self._ready:
            batch, self._ready = self._ready, []
            outcomes = list(pool.map(self._execute, batch))
            target = self._clock
            events, self._events = self._events, []
        elif self._events:
            target = self._clock
            events, self._events = self._events, []
        elif self._timers and not self._held():
            target = max(self._clock, min(t.fire_at for t in self._timers))
        elif self._waits_for_events or self._timers:
            return False
        else:
            raise OrchestrationStuckError(
                f"orchestration {self.instance_id!r} is not done but waits on nothing the "
                f"driver scheduled (after {self._episodes} episodes); task ids may be out of "
                "step with the SDK's"
            )
        self._advance_clock(target)
        at = self._clock
        due = sorted((t for t in self._timers if t.fire_at <= at), key=lambda t: (t.fire_at, t.timer_id))
        self._timers = [t for t in self._timers if t.fire_at > at]

        first: list[dict[str, Any]] = []  # events that take host ids but never resume user code
        rest: list[dict[str, Any]] = []
        host_events: list[dict[str, Any]] = []

        for outcome in sorted(outcomes, key=lambda o: o.work.task_id):
            work = outcome.work
            if not outcome.ok and work.retry is not None:
                first.append(self._failure_event(at, outcome))
                timer = _Timer(self._allocate_id(), at + work.retry.interval, retry_of=work)
                self._timers.append(timer)
                host_events.append(h.timer_created(at, timer.timer_id, timer.fire_at))
        for timer in due:
            retried = timer.retry_of
            if retried is not None and retried.retry is not None and retried.retry.attempt < retried.retry.max_attempts:
                first.append(h.timer_fired(at, timer.timer_id, timer.fire_at))
                again = replace(retried, task_id=self._allocate_id(), retry=replace(retried.retry, attempt=retried.retry.attempt + 1))
                host_events.append(self._schedule(at, again))
        raised = [h.event_raised(at, name, data) for name, data in events]
        if self._events_first:
            rest.extend(raised)
        for outcome in sorted(outcomes, key=lambda o: o.work.task_id):
            if outcome.ok:
                rest.append(h.task_completed(at, outcome.work.task_id, outcome.result_json))
            elif outcome.work.retry is None:
                rest.append(self._failure_event(at, outcome))
        if not self._events_first:
            rest.extend(raised)
        for timer in due:
            retried = timer.retry_of
            if retried is None or retried.retry is None or retried.retry.attempt >= retried.retry.max_attempts:
                rest.append(h.timer_fired(at, timer.timer_id, timer.fire_at))

        self._episode([h.orchestrator_started(at), *first, *rest], host_events)
        return True

    def _episode(self, incoming: list[dict[str, Any]], host_events: list[dict[str, Any]]) -> None:
        """Call the orchestrator over history + ``incoming`` and record the new episode."""
        self._episodes += 1
        at = self._clock
        for old in self._history:
            old["IsPlayed"] = True
        state = _call(self._handle, self._context_json([*self._history, *incoming]))
        self._history.extend(incoming)
        self._history.extend(host_events)
        self._state = state
        self._custom_statuses.extend(self._status_calls)
        self._status_calls.clear()

        flat = state.actions
        self._cancel_timers(flat)
        for action in flat[self._flat_seen :]:
            self._history.extend(self._accept_action(at, action))
        self._flat_seen = max(self._flat_seen, len(flat))

        if state.failed:
            self._status = "Failed"
            self._history.append(h.execution_completed(at, "Failed", json.dumps(state.error)))
        elif state.is_done and self._continue_input is not None:
            self._history.append(h.execution_completed(at, "ContinuedAsNew", self._continue_input))
            self._history.append(h.orchestrator_completed(at))
            self._start_new_execution(self._continue_input)
            return
        elif state.is_done:
            self._status = "Completed"
            self._history.append(h.execution_completed(at, "Completed", json.dumps(state.output)))
        self._history.append(h.orchestrator_completed(at))

    def _start_new_execution(self, input_json: str | None) -> None:
        """continue_as_new: the host drops the history and starts over with the new input."""
        self._executions += 1
        self._input_json = input_json
        self._continue_input = None
        self._history = []
        self._next_id = 0
        self._flat_seen = 0
        self._action_ids = []
        self._ready = []
        self._timers = []
        self._waits_for_events = False
        self._first_episode()

    def _accept_action(self, at: datetime, action: dict[str, Any]) -> list[dict[str, Any]]:
        kind = action.get("actionType")
        if kind in h.SUB_ORCHESTRATOR_ACTIONS:
            raise DriverError(f"orchestration {self.instance_id!r} calls a sub-orchestrator; the driver runs activities, timers, events")
        if kind == h.CONTINUE_AS_NEW:
            self._continue_input = action.get("input")
            self._action_ids.append(None)
            return []
        if kind not in h.ID_TAKING_ACTIONS:
            self._action_ids.append(None)
            if kind == h.WAIT_FOR_EXTERNAL_EVENT:
                self._waits_for_events = True
            return []
        task_id = self._allocate_id()
        self._action_ids.append(task_id)
        if kind == h.CREATE_TIMER:
            fire_at = h.parse_timestamp(str(action["fireAt"]))
            if not action.get("isCanceled"):
                self._timers.append(_Timer(task_id, fire_at))
            return [h.timer_created(at, task_id, fire_at)]
        retry = None
        if kind == h.CALL_ACTIVITY_WITH_RETRY:
            options = action.get("retryOptions") or {}
            retry = _Retry(
                interval=timedelta(milliseconds=int(options.get("firstRetryIntervalInMilliseconds", 0))),
                max_attempts=int(options.get("maxNumberOfAttempts", 1)),
            )
        return [self._schedule(at, _Work(task_id, str(action.get("functionName")), action.get("input"), retry=retry))]

    def _schedule(self, at: datetime, work: _Work) -> dict[str, Any]:
        self._ready.append(work)
        self._activity_calls.append((work.name, _decode(work.input_json)))
        return h.task_scheduled(at, work.task_id, work.name, work.input_json)

    def _cancel_timers(self, flat: Sequence[dict[str, Any]]) -> None:
        cancelled = {
            self._action_ids[i]
            for i, action in enumerate(flat[: len(self._action_ids)])
            if action.get("actionType") == h.CREATE_TIMER and action.get("isCanceled")
        }
        if cancelled:
            self._timers = [t for t in self._timers if t.timer_id not in cancelled]

    # -- work ---------------------------------------------------------------------------

    def _execute(self, work: _Work) -> _Outcome:
        function = self._activities.get(work.name)
        if function is None:
            known = ", ".join(sorted(self._activities)) or "none"
            return _Outcome(work, ok=False, reason=f"Unknown activity function {work.name!r} (registered: {known})", details="")
        try:
            result = function(_decode(work.input_json))
        except Exception as exc:  # noqa: BLE001 - any activity failure is data for the orchestrator
            return _Outcome(work, ok=False, reason=str(exc), details=_details(exc))
        try:
            return _Outcome(work, ok=True, result_json=json.dumps(result))
        except (TypeError, ValueError) as exc:
            return _Outcome(work, ok=False, reason=f"activity output must be json serializable ({exc})", details=_details(exc))

    # -- helpers ------------------------------------------------------------------------

    def _held(self) -> bool:
        """Does every pending timer wait for the clock to be moved (``hold_timers``)?"""
        next_timer = self.next_timer
        return self._hold_timers and next_timer is not None and next_timer > self._clock

    def _allocate_id(self) -> int:
        task_id = self._next_id
        self._next_id += 1
        return task_id

    def _advance_clock(self, target: datetime) -> None:
        if target > self._clock:
            self._clock = target
            if self._clock_callback is not None:
                self._clock_callback(target)

    def _check_limits(self) -> None:
        if self._episodes >= self._max_episodes:
            raise OrchestrationLimitError(
                f"orchestration {self.instance_id!r} ran {self._episodes} episodes without "
                f"finishing (max_episodes={self._max_episodes}); simulated time "
                f"{h.format_timestamp(self._clock)}, last custom status {self._state.custom_status!r}"
            )
        if len(self._history) >= self._max_history:
            raise OrchestrationLimitError(
                f"orchestration {self.instance_id!r} history reached {len(self._history)} events "
                f"(max_history={self._max_history}) after {self._episodes} episodes"
            )

    def _context_json(self, events: list[dict[str, Any]]) -> str:
        return _context_json(events, self._input_json, self.instance_id)

    @staticmethod
    def _failure_event(at: datetime, outcome: _Outcome) -> dict[str, Any]:
        return h.task_failed(at, outcome.work.task_id, outcome.reason, outcome.details)


def run_orchestration(
    handle: OrchestratorHandle,
    activities: Mapping[str, ActivityFunction],
    instance_id: str,
    input: Any,
    start_time: datetime,
    *,
    name: str = "orchestrator",
    on_clock_advance: ClockCallback | None = None,
    max_episodes: int = DEFAULT_MAX_EPISODES,
    max_history: int = DEFAULT_MAX_HISTORY,
    events: Sequence[tuple[str, Any]] = (),
    events_before_completions: bool = False,
) -> OrchestrationRun:
    """Run one instance until it completes, fails, or waits for an external event.

    ``events`` are raised before it starts, and delivered with the first completions. The SDK
    buffers an event that finds no wait open for its name and hands it to every later wait for
    that name in the execution, so an orchestrator that waits for such a name more than once
    should get its events while it waits (``OrchestrationDriver.raise_event``).
    """
    driver = OrchestrationDriver(
        handle,
        activities,
        instance_id=instance_id,
        input=input,
        start_time=start_time,
        name=name,
        on_clock_advance=on_clock_advance,
        max_episodes=max_episodes,
        max_history=max_history,
        events_before_completions=events_before_completions,
    )
    for event_name, data in events:
        driver.raise_event(event_name, data)
    return driver.run()


def replay(
    handle: OrchestratorHandle,
    history: Sequence[Mapping[str, Any]],
    input: Any = None,
    instance_id: str = "replay",
) -> ReplayResult:
    """Call the orchestrator once over a recorded history, every event marked as played.

    Runs no activity: whatever the orchestrator schedules comes back as ``actions``.
    """
    events = [dict(e, IsPlayed=True) for e in history]
    input_json = None if input is None else json.dumps(input)
    state = _call(handle, _context_json(events, input_json, instance_id))
    return ReplayResult(
        is_done=state.is_done, actions=state.actions, output=state.output, error=state.error, custom_status=state.custom_status
    )


def _spying_handle(handle: OrchestratorHandle, function: Callable[[Any], Any], record: Callable[[Any], None]) -> OrchestratorHandle:
    """The same ``Orchestrator.create`` handle over the same generator, with the context's
    ``set_custom_status`` also reporting each value set while not replaying (the host only
    ever sees the last value of an episode; tests want each progress report)."""
    from azure.durable_functions import Orchestrator

    def spied(context: Any) -> Any:
        original = context.set_custom_status

        def set_custom_status(status: Any) -> None:
            if not context.is_replaying:
                record(status)
            original(status)

        context.set_custom_status = set_custom_status
        return function(context)

    wrapped: OrchestratorHandle = Orchestrator.create(spied)
    wrapped._df_input_type = getattr(handle, "_df_input_type", None)  # type: ignore[attr-defined]
    return wrapped


def _context_json(events: list[dict[str, Any]], input_json: str | None, instance_id: str) -> str:
    return json.dumps(
        {
            "history": events,
            "input": input_json,
            "instanceId": instance_id,
            "isReplaying": False,
            "parentInstanceId": None,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        }
    )


def _call(handle: OrchestratorHandle, context_json: str) -> _State:
    """Call the handle; decode its state JSON, or the state carried by its exception."""
    try:
        raw = handle(context_json)
    except Exception as exc:
        text = str(exc)
        message, marker, state_json = text.partition(_OUT_OF_PROC_MARKER)
        if not marker:
            raise DriverError(f"orchestrator handle failed outside the SDK's error protocol: {text}") from exc
        state = json.loads(state_json)
        error = message.strip() or str(state.get("error") or type(exc.__cause__).__name__)
        return _State(
            is_done=False,
            actions=h.flatten_actions(state.get("actions", [])),
            output=None,
            error=error,
            custom_status=state.get("customStatus"),
            failed=True,
        )
    state = json.loads(raw)
    return _State(
        is_done=bool(state.get("isDone")),
        actions=h.flatten_actions(state.get("actions", [])),
        output=state.get("output"),
        error=state.get("error"),
        custom_status=state.get("customStatus"),
    )


def _decode(input_json: str | None) -> Any:
    """Decode an activity input as the worker's ActivityTriggerConverter does."""
    if input_json is None:
        return None
    try:
        return json.loads(input_json)
    except json.JSONDecodeError:
        return input_json


def _details(exc: BaseException) -> str:
    return f"{type(exc).__name__}\n{''.join(traceback.format_exception(exc))}"
