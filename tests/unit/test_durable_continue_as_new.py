"""continue_as_new in the in-process driver: a fresh execution (new history, ids from 0, new input)
under the same instance id, with the clock carried on, as the host does."""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from ops.durable import history as h
from ops.durable.driver import registry_from_app, replay, run_orchestration

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _app() -> df.DFApp:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.orchestration_trigger(context_name="context")
    def Counter(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
        state = context.get_input()
        doubled = yield context.call_activity("Double", state["n"])
        yield context.create_timer(context.current_utc_datetime + timedelta(minutes=10))
        if state["n"] < 3:
            context.continue_as_new({"n": state["n"] + 1, "seen": [*state["seen"], doubled]})
            return None
        return {"seen": [*state["seen"], doubled], "at": context.current_utc_datetime.isoformat()}

    @app.activity_trigger(input_name="value")
    def Double(value: int) -> int:
        return value * 2

    return app


def test_continue_as_new_starts_fresh_executions_until_the_orchestrator_returns() -> None:
    registry = registry_from_app(_app())

    run = run_orchestration(registry.orchestrators["Counter"], registry.activities, "counter-1", {"n": 0, "seen": []}, START)

    assert run.runtime_status == "Completed"
    assert run.output == {"seen": [0, 2, 4, 6], "at": (START + timedelta(minutes=40)).isoformat()}
    assert run.executions == 4
    assert [name for name, _ in run.activity_calls] == ["Double"] * 4
    # the last execution's history only, starting over with its own input and task ids from 0
    started = [e for e in run.history if e["EventType"] == h.EXECUTION_STARTED]
    assert len(started) == 1 and run.input_json is not None and '"n": 3' in run.input_json
    assert min(e["EventId"] for e in run.history if e["EventType"] == h.TASK_SCHEDULED) == 0


def test_the_last_execution_replays_to_the_same_output() -> None:
    registry = registry_from_app(_app())
    handle = registry.orchestrators["Counter"]
    run = run_orchestration(handle, registry.activities, "counter-2", {"n": 2, "seen": []}, START)

    replayed = replay(handle, run.history, json.loads(run.input_json or "null"), "counter-2")
    assert replayed.is_done and replayed.output == run.output
