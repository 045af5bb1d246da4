"""The in-process driver runs real v2-model orchestrators through the SDK's replay.

The toy app below is a genuine ``df.DFApp``: the driver gets its callables through
``registry_from_app``, exactly the functions the Python worker would index.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from ops.durable import history as h
from ops.durable.driver import (
    DriverError,
    OrchestrationDriver,
    OrchestrationLimitError,
    registry_from_app,
    replay,
    run_orchestration,
)

START = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
Ctx = df.DurableOrchestrationContext


class Toy:
    """A v2 app whose activities record what they did; fresh per test."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, Any]] = []
        self.flaky_failures_left: dict[str, int] = {}
        self.running = 0
        self.max_running = 0
        self.meeting: threading.Barrier | None = None  # set by a test: Meet activities wait there
        self.operation_done_at: datetime | None = None
        self.emulated_now = START
        self.app = app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

        @app.orchestration_trigger(context_name="context")
        def Chain(context: Ctx) -> Generator[Any, Any, Any]:
            order = context.get_input()
            doubled = yield context.call_activity("Double", order["x"])
            context.set_custom_status({"phase": "fan-out"})
            met = yield context.task_all([context.call_activity("Meet", i) for i in range(3)])
            context.set_custom_status({"phase": "done"})
            return {"doubled": doubled, "met": met}

        @app.orchestration_trigger(context_name="context")
        def FanOut(context: Ctx) -> Generator[Any, Any, Any]:
            results = yield context.task_all([context.call_activity("Meet", i) for i in range(context.get_input()["width"])])
            return results

        @app.orchestration_trigger(context_name="context")
        def Retried(context: Ctx) -> Generator[Any, Any, Any]:
            spec = context.get_input()
            options = df.RetryOptions(spec["interval_ms"], spec["attempts"])
            try:
                value = yield context.call_activity_with_retry("Flaky", options, spec["key"])
            except Exception as exc:
                return {"failed": str(exc)}
            return {"value": value, "at": context.current_utc_datetime.isoformat()}

        @app.orchestration_trigger(context_name="context")
        def MixedFanOut(context: Ctx) -> Generator[Any, Any, Any]:
            options = df.RetryOptions(1000, 4)
            first = yield context.task_all(
                [
                    context.call_activity_with_retry("Flaky", options, "a"),
                    context.call_activity("Double", 1),
                    context.call_activity_with_retry("Flaky", options, "b"),
                    context.call_activity("Double", 2),
                ]
            )
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=30))
            second = yield context.call_activity_with_retry("Flaky", options, "c")
            return [first, second]

        @app.orchestration_trigger(context_name="context")
        def Monitor(context: Ctx) -> Generator[Any, Any, Any]:
            deadline = context.current_utc_datetime + timedelta(minutes=context.get_input()["minutes"])
            yield context.call_activity("BeginOperation", 3)
            polls = 0
            while context.current_utc_datetime < deadline:
                polls += 1
                context.set_custom_status({"polls": polls})
                state = yield context.call_activity("PollOperation", None)
                if state == "Succeeded":
                    return {"state": state, "polls": polls, "at": context.current_utc_datetime.isoformat()}
                yield context.create_timer(context.current_utc_datetime + timedelta(minutes=1))
            return {"state": "TimedOut", "polls": polls}

        @app.orchestration_trigger(context_name="context")
        def Timers(context: Ctx) -> Generator[Any, Any, Any]:
            seen = [context.current_utc_datetime.isoformat()]
            for minutes in (5, 1):
                fire_at = context.current_utc_datetime + timedelta(minutes=minutes)
                yield context.create_timer(fire_at)
                seen.append(context.current_utc_datetime.isoformat())
            return seen

        @app.orchestration_trigger(context_name="context")
        def Forever(context: Ctx) -> Generator[Any, Any, Any]:
            while True:
                yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))

        @app.orchestration_trigger(context_name="context")
        def Raises(context: Ctx) -> Generator[Any, Any, Any]:
            context.set_custom_status("about to fail")
            yield context.call_activity("Double", 1)
            raise ValueError("cluster list was empty")

        @app.orchestration_trigger(context_name="context")
        def CallsActivity(context: Ctx) -> Generator[Any, Any, Any]:
            name = context.get_input()["activity"]
            try:
                return (yield context.call_activity(name, "payload"))
            except Exception as exc:
                return {"caught": str(exc)}

        @app.orchestration_trigger(context_name="context")
        def Uncaught(context: Ctx) -> Generator[Any, Any, Any]:
            return (yield context.call_activity("Missing", 1))

        @app.orchestration_trigger(context_name="context")
        def Timeout(context: Ctx) -> Generator[Any, Any, Any]:
            work = context.call_activity("Double", 21)
            timer = context.create_timer(context.current_utc_datetime + timedelta(hours=2))
            winner = yield context.task_any([work, timer])
            if winner == work:
                timer.cancel()
                return {"result": work.result, "at": context.current_utc_datetime.isoformat()}
            return {"result": "timed out"}

        @app.orchestration_trigger(context_name="context")
        def Approval(context: Ctx) -> Generator[Any, Any, Any]:
            answer = yield context.wait_for_external_event("Approved")
            return {"approved": answer}

        @app.orchestration_trigger(context_name="context")
        def Gate(context: Ctx) -> Generator[Any, Any, Any]:
            answer = context.wait_for_external_event("Approved")
            timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=24))
            winner = yield context.task_any([answer, timeout])
            if winner is answer:
                timeout.cancel()
            yield context.create_timer(context.current_utc_datetime)  # zero-length: due at once
            return {"answer": answer.result if winner is answer else "timed out", "at": context.current_utc_datetime.isoformat()}

        @app.orchestration_trigger(context_name="context")
        def Parent(context: Ctx) -> Generator[Any, Any, Any]:
            child = yield context.call_sub_orchestrator("Chain", {"x": 5}, "child-1")
            return {"child": child["doubled"]}

        @app.orchestration_trigger(context_name="context")
        def NoInput(context: Ctx) -> Generator[Any, Any, Any]:
            value = yield context.call_activity("Echo")
            return {"input": context.get_input(), "echo": value}

        @app.activity_trigger(input_name="value")
        def Double(value: int) -> int:
            self._record("Double", value)
            return value * 2

        @app.activity_trigger(input_name="value")
        def Echo(value: Any) -> Any:
            self._record("Echo", value)
            return value

        @app.activity_trigger(input_name="number")
        def Meet(number: int) -> int:
            """Counts the activities in flight; with ``meeting`` set, waits there for the others."""
            with self.lock:
                self.running += 1
                self.max_running = max(self.max_running, self.running)
            try:
                if self.meeting is not None:
                    self.meeting.wait()
            finally:
                with self.lock:
                    self.running -= 1
            self._record("Meet", number)
            return number

        @app.activity_trigger(input_name="key")
        async def Flaky(key: str) -> str:  # async on purpose: the driver must await it
            self._record("Flaky", key)
            with self.lock:
                left = self.flaky_failures_left.get(key, 0)
                self.flaky_failures_left[key] = left - 1
            if left > 0:
                raise ConnectionError(f"transient failure of {key}")
            return f"{key}-ok"

        @app.activity_trigger(input_name="minutes")
        def BeginOperation(minutes: int) -> str:
            self._record("BeginOperation", minutes)
            self.operation_done_at = self.emulated_now + timedelta(minutes=minutes)
            return "Accepted"

        @app.activity_trigger(input_name="unused")
        def PollOperation(unused: None) -> str:
            self._record("PollOperation", unused)
            assert self.operation_done_at is not None
            return "Succeeded" if self.emulated_now >= self.operation_done_at else "InProgress"

        @app.activity_trigger(input_name="value")
        def Broken(value: str) -> str:
            raise PermissionError(f"AuthorizationFailed: no access ({value})")

        self.registry = registry_from_app(app)

    def _record(self, name: str, value: Any) -> None:
        with self.lock:
            self.calls.append((name, value))

    def advance_emulator(self, moment: datetime) -> None:
        self.emulated_now = moment

    def run(self, orchestrator: str, input: Any = None, **options: Any) -> Any:
        return run_orchestration(
            self.registry.orchestrators[orchestrator],
            self.registry.activities,
            f"{orchestrator}-1",
            input,
            START,
            name=orchestrator,
            **options,
        )


@pytest.fixture
def toy() -> Toy:
    return Toy()


def events_of(run: Any, event_type: int) -> list[dict[str, Any]]:
    return [e for e in run.history if e["EventType"] == event_type]


def test_registry_finds_orchestrators_and_activities_by_function_name(toy: Toy) -> None:
    assert {"Chain", "FanOut", "Retried", "Monitor"} <= set(toy.registry.orchestrators)
    assert {"Double", "Meet", "Flaky", "PollOperation"} <= set(toy.registry.activities)
    assert toy.registry.activities["Double"](4) == 8
    assert toy.registry.activities["Flaky"]("k") == "k-ok"  # async activity run to completion


def test_chain_and_fan_out_produce_the_orchestrator_output(toy: Toy) -> None:
    run = toy.run("Chain", {"x": 21})

    assert run.runtime_status == "Completed"
    assert run.output == {"doubled": 42, "met": [0, 1, 2]}
    assert run.error is None
    assert run.custom_statuses == [{"phase": "fan-out"}, {"phase": "done"}]
    assert run.custom_status == {"phase": "done"}
    assert run.activity_calls == [("Double", 21)] + [("Meet", i) for i in range(3)]
    assert run.episodes == 3


def test_history_is_built_episode_by_episode_like_the_extension(toy: Toy) -> None:
    run = toy.run("Chain", {"x": 1})

    types = [e["EventType"] for e in run.history]
    assert types[:2] == [h.ORCHESTRATOR_STARTED, h.EXECUTION_STARTED]
    assert types.count(h.ORCHESTRATOR_STARTED) == types.count(h.ORCHESTRATOR_COMPLETED) == 3
    assert [e["EventId"] for e in events_of(run, h.TASK_SCHEDULED)] == [0, 1, 2, 3]
    assert [e["TaskScheduledId"] for e in events_of(run, h.TASK_COMPLETED)] == [0, 1, 2, 3]
    assert all(e["Timestamp"].endswith("Z") for e in run.history)
    assert events_of(run, h.EXECUTION_STARTED)[0]["Input"] == '{"x": 1}'
    assert events_of(run, h.TASK_COMPLETED)[0]["Result"] == "2"  # JSON text, as the host sends


def test_fan_out_runs_activities_concurrently(toy: Toy) -> None:
    # GIVEN five activities that each wait until all five are running: run one after the other,
    # the first would wait alone until the barrier's timeout broke it and failed the activity
    toy.meeting = threading.Barrier(5, timeout=60)

    run = toy.run("FanOut", {"width": 5})

    assert run.runtime_status == "Completed", run.error
    assert run.output == [0, 1, 2, 3, 4]
    assert not toy.meeting.broken
    assert toy.max_running == 5  # all five were inside their activity at the same time


def test_retried_activity_that_fails_twice_then_succeeds(toy: Toy) -> None:
    toy.flaky_failures_left["k"] = 2
    run = toy.run("Retried", {"key": "k", "interval_ms": 5000, "attempts": 3})

    assert run.output == {"value": "k-ok", "at": "2024-03-04T10:00:10+00:00"}
    assert run.activity_calls == [("Flaky", "k")] * 3
    failures = events_of(run, h.TASK_FAILED)
    assert [f["Reason"] for f in failures] == ["transient failure of k"] * 2
    assert failures[0]["Details"].startswith("ConnectionError")
    assert "Traceback" in failures[0]["Details"]
    # the host's retry protocol (docs/durable-replay.md, fact 6):
    # TaskFailed(n), TimerCreated(n+1, now+interval), TimerFired, TaskScheduled(n+2)
    assert [e["EventId"] for e in events_of(run, h.TASK_SCHEDULED)] == [0, 2, 4]
    timers = events_of(run, h.TIMER_CREATED)
    assert [(t["EventId"], t["FireAt"]) for t in timers] == [(1, "2024-03-04T10:00:05.000000Z"), (3, "2024-03-04T10:00:10.000000Z")]


def test_retries_stop_after_max_attempts_with_one_extra_timer(toy: Toy) -> None:
    toy.flaky_failures_left["k"] = 10
    run = toy.run("Retried", {"key": "k", "interval_ms": 1000, "attempts": 2})

    assert run.runtime_status == "Completed"
    assert run.output["failed"].startswith("transient failure of k")
    assert len(run.activity_calls) == 2
    assert len(events_of(run, h.TIMER_FIRED)) == 2  # the host's last timer fires before failing


def test_retries_inside_a_fan_out_keep_task_ids_aligned(toy: Toy) -> None:
    toy.flaky_failures_left.update({"a": 1, "b": 3, "c": 2})
    run = toy.run("MixedFanOut")

    assert run.runtime_status == "Completed", run.error
    assert run.output == [["a-ok", 2, "b-ok", 4], "c-ok"]
    assert [name for name, _ in run.activity_calls].count("Flaky") == 2 + 4 + 3
    ids = [e["EventId"] for e in run.history if e["EventId"] >= 0]
    assert sorted(ids) == list(range(len(ids))), "every task id used exactly once, in order"


def test_timers_move_current_utc_datetime_to_fire_at(toy: Toy) -> None:
    moves: list[datetime] = []
    run = toy.run("Timers", on_clock_advance=moves.append)

    assert run.output == ["2024-03-04T10:00:00+00:00", "2024-03-04T10:05:00+00:00", "2024-03-04T10:06:00+00:00"]
    assert moves == [START + timedelta(minutes=5), START + timedelta(minutes=6)]
    assert run.finished == START + timedelta(minutes=6)
    fired = events_of(run, h.TIMER_FIRED)
    started = [e for e in run.history if e["EventType"] == h.ORCHESTRATOR_STARTED]
    assert [f["FireAt"] for f in fired] == [s["Timestamp"] for s in started[-2:]]


def test_monitor_loop_finishes_when_the_emulated_operation_does(toy: Toy) -> None:
    run = toy.run("Monitor", {"minutes": 30}, on_clock_advance=toy.advance_emulator)

    assert run.output == {"state": "Succeeded", "polls": 4, "at": "2024-03-04T10:03:00+00:00"}
    assert run.custom_statuses == [{"polls": n} for n in range(1, 5)]
    assert toy.emulated_now == START + timedelta(minutes=3)


def test_monitor_loop_gives_up_at_its_deadline(toy: Toy) -> None:
    run = toy.run("Monitor", {"minutes": 2})  # no clock callback: the operation never ends

    assert run.output == {"state": "TimedOut", "polls": 2}


def test_replaying_the_finished_history_gives_the_same_answer_and_runs_nothing(toy: Toy) -> None:
    toy.flaky_failures_left.update({"a": 1, "b": 2, "c": 1})
    run = toy.run("MixedFanOut")
    calls_before = list(toy.calls)

    again = replay(toy.registry.orchestrators["MixedFanOut"], run.history, None, run.instance_id)

    assert again.is_done
    assert again.output == run.output
    assert again.actions == run.actions
    assert toy.calls == calls_before


def test_replay_over_a_partial_history_returns_the_pending_actions(toy: Toy) -> None:
    run = toy.run("Chain", {"x": 3})
    first_episode = run.history[: run.history.index(events_of(run, h.ORCHESTRATOR_COMPLETED)[0])]

    again = replay(toy.registry.orchestrators["Chain"], first_episode, {"x": 3})

    assert not again.is_done
    assert again.actions == [{"actionType": h.CALL_ACTIVITY, "functionName": "Double", "input": "3"}]


def test_activity_exception_reaches_the_orchestrator_with_reason_and_details(toy: Toy) -> None:
    run = toy.run("CallsActivity", {"activity": "Broken"})

    caught = run.output["caught"]
    assert caught.startswith("AuthorizationFailed: no access (payload)")
    assert "PermissionError" in caught
    failed = events_of(run, h.TASK_FAILED)[0]
    assert failed["Reason"] == "AuthorizationFailed: no access (payload)"


def test_unknown_activity_fails_the_task_with_a_clear_reason(toy: Toy) -> None:
    caught = toy.run("CallsActivity", {"activity": "Nope"}).output["caught"]
    assert "Unknown activity function 'Nope'" in caught
    assert "Double" in caught  # lists what is registered

    run = toy.run("Uncaught")
    assert run.runtime_status == "Failed"
    assert "Unknown activity function 'Missing'" in (run.error or "")


def test_orchestrator_exception_fails_the_run_with_its_message(toy: Toy) -> None:
    run = toy.run("Raises")

    assert run.runtime_status == "Failed"
    assert run.error == "cluster list was empty"
    assert "$OutOfProcData$" not in run.error
    assert run.output is None
    assert run.custom_status == "about to fail"
    assert events_of(run, h.EXECUTION_COMPLETED)[0]["OrchestrationStatus"] == "Failed"


def test_endless_orchestration_hits_the_episode_guard(toy: Toy) -> None:
    with pytest.raises(OrchestrationLimitError, match="max_episodes=20"):
        toy.run("Forever", max_episodes=20)


def test_history_guard_names_the_limit(toy: Toy) -> None:
    with pytest.raises(OrchestrationLimitError, match="max_history=30"):
        toy.run("Forever", max_history=30)


def test_cancelled_timeout_timer_never_fires(toy: Toy) -> None:
    run = toy.run("Timeout")

    assert run.output == {"result": 42, "at": "2024-03-04T10:00:00+00:00"}
    assert events_of(run, h.TIMER_FIRED) == []
    assert run.finished == START


def test_external_event_resumes_a_waiting_instance(toy: Toy) -> None:
    driver = OrchestrationDriver(
        toy.registry.orchestrators["Approval"], toy.registry.activities, instance_id="approval-1", start_time=START, name="Approval"
    )
    waiting = driver.run()
    assert waiting.runtime_status == "Running"

    driver.raise_event("Approved", {"by": "operator"})
    done = driver.run()

    assert done.runtime_status == "Completed"
    assert done.output == {"approved": {"by": "operator"}}


def driver_for(toy: Toy, orchestrator: str, **options: Any) -> OrchestrationDriver:
    handle = toy.registry.orchestrators[orchestrator]
    return OrchestrationDriver(
        handle, toy.registry.activities, instance_id=f"{orchestrator}-1", start_time=START, name=orchestrator, **options
    )


def test_a_driver_that_holds_timers_waits_at_each_timer_until_its_clock_is_advanced(toy: Toy) -> None:
    driver = driver_for(toy, "Timers", hold_timers=True)

    first = driver.run()
    assert (first.runtime_status, driver.now, driver.next_timer) == ("Running", START, START + timedelta(minutes=5))
    assert driver.advance_clock() == START + timedelta(minutes=5)
    second = driver.run()
    assert (second.runtime_status, driver.next_timer) == ("Running", START + timedelta(minutes=6))
    driver.advance_clock()
    done = driver.run()

    assert done.runtime_status == "Completed"
    assert done.output == toy.run("Timers").output  # the same run as with timers firing at once


def test_an_event_raised_while_a_timeout_is_held_wins_at_the_held_time(toy: Toy) -> None:
    driver = driver_for(toy, "Gate", hold_timers=True)
    assert driver.run().runtime_status == "Running"

    driver.raise_event("Approved", {"by": "alice"})
    done = driver.run()

    # the zero-length timer after the decision is due at once: it fires without advancing the clock
    assert done.output == {"answer": {"by": "alice"}, "at": START.isoformat()}
    assert driver.next_timer is None and events_of(done, h.TIMER_FIRED)[0]["FireAt"] == h.format_timestamp(START)


def test_a_driver_that_does_not_hold_timers_lets_the_timeout_win_at_once(toy: Toy) -> None:
    assert toy.run("Gate").output == {"answer": "timed out", "at": (START + timedelta(hours=24)).isoformat()}


def test_advancing_a_clock_with_no_timer_pending_changes_nothing(toy: Toy) -> None:
    driver = driver_for(toy, "Approval", hold_timers=True)
    assert driver.run().runtime_status == "Running"

    assert driver.advance_clock() is None and driver.now == START


def test_a_sub_orchestrator_call_is_refused_by_name(toy: Toy) -> None:
    # The app has no sub-orchestrations, so the driver runs none rather than half-emulate them.
    with pytest.raises(DriverError, match="calls a sub-orchestrator"):
        toy.run("Parent")


def test_missing_input_reaches_orchestrator_and_activity_as_none(toy: Toy) -> None:
    run = toy.run("NoInput")
    assert run.output == {"input": None, "echo": None}


def test_naive_start_time_is_refused(toy: Toy) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run_orchestration(toy.registry.orchestrators["Chain"], toy.registry.activities, "x", {"x": 1}, datetime(2024, 1, 1))


def test_an_app_can_be_indexed_more_than_once(toy: Toy) -> None:
    # FunctionApp.get_functions() refuses a second call on the same app unless reset.
    again = registry_from_app(toy.app)
    assert set(again.orchestrators) == set(toy.registry.orchestrators)


def test_every_custom_status_set_outside_replay_is_recorded_in_order(toy: Toy) -> None:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.orchestration_trigger(context_name="context")
    def Progress(context: Ctx) -> Generator[Any, Any, Any]:
        context.set_custom_status("planning")
        context.set_custom_status("upgrading")  # same episode: the host only sees this one
        yield context.call_activity("Double", 1)
        context.set_custom_status("done")
        return "ok"

    handle = registry_from_app(app).orchestrators["Progress"]
    run = run_orchestration(handle, toy.registry.activities, "p-1", None, START)

    assert run.custom_statuses == ["planning", "upgrading", "done"]
    assert run.custom_status == "done"


def test_a_handle_that_is_not_from_orchestrator_create_is_refused(toy: Toy) -> None:
    real = toy.registry.orchestrators["Chain"]

    def plain(context_json: str) -> str:  # no orchestrator_function: its progress reports could not be seen
        return real(context_json)

    with pytest.raises(DriverError, match=r"Orchestrator\.create"):
        run_orchestration(plain, toy.registry.activities, "c-1", {"x": 2}, START)


@pytest.mark.parametrize(
    ("events_first", "order"), [(False, [h.TASK_COMPLETED, h.EVENT_RAISED]), (True, [h.EVENT_RAISED, h.TASK_COMPLETED])]
)
def test_an_event_raised_while_an_activity_runs_comes_after_its_completion_or_before_it_as_in_azure(
    toy: Toy, events_first: bool, order: list[int]
) -> None:
    handle = toy.registry.orchestrators["CallsActivity"]

    def echo_and_raise(value: Any) -> Any:
        driver.raise_event("Approved", {"by": "alice"})  # while the activity runs
        return value

    driver = OrchestrationDriver(
        handle,
        {**toy.registry.activities, "Echo": echo_and_raise},
        instance_id="order-1",
        input={"activity": "Echo"},
        start_time=START,
        name="CallsActivity",
        events_before_completions=events_first,
    )
    done = driver.run()

    assert done.output == "payload"
    delivered = [e["EventType"] for e in done.history if e["EventType"] in (h.TASK_COMPLETED, h.EVENT_RAISED)]
    assert delivered == order
