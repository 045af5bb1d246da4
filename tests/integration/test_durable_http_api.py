"""The SDK's real DurableOrchestrationClient works against the local Durable HTTP API.

Starters get exactly what the Functions host would give them: the ``durableClient`` binding
JSON string. Everything below goes over loopback HTTP through the SDK's own aiohttp calls.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from ops.durable.http_api import client_binding_json
from ops.durable.registry import registry_from_app

Ctx = df.DurableOrchestrationContext


def build_app() -> df.DFApp:
    app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.orchestration_trigger(context_name="context")
    def Work(context: Ctx) -> Generator[Any, Any, Any]:
        order = context.get_input()
        context.set_custom_status({"phase": "working"})
        results = yield context.task_all([context.call_activity("Square", n) for n in order["numbers"]])
        return {"sum": sum(results)}

    @app.orchestration_trigger(context_name="context")
    def Approval(context: Ctx) -> Generator[Any, Any, Any]:
        answer = yield context.wait_for_external_event("Approved")
        return {"approved": answer}

    @app.orchestration_trigger(context_name="context")
    def Review(context: Ctx) -> Generator[Any, Any, Any]:
        answer = context.wait_for_external_event("Approved")
        timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
        context.set_custom_status({"phase": "waiting"})
        winner = yield context.task_any([answer, timeout])
        if winner is answer:
            timeout.cancel()
        return {"approved": answer.result if winner is answer else None, "at": context.current_utc_datetime.isoformat()}

    @app.activity_trigger(input_name="n")
    def Square(n: int) -> int:
        return n * n

    @app.route(route="work", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def StartWork(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        # A starter shaped like HttpStarter: fixed id, 409 while one runs.
        body = req.get_json()
        instance_id = f"work-{body['day']}"
        existing = await client.get_status(instance_id)
        if existing and existing.runtime_status in (df.OrchestrationRuntimeStatus.Pending, df.OrchestrationRuntimeStatus.Running):
            return func.HttpResponse(
                json.dumps(
                    {
                        "status": "already-running",
                        "statusQueryGetUri": client.create_http_management_payload(instance_id)["statusQueryGetUri"],
                    }
                ),
                status_code=409,
                mimetype="application/json",
            )
        await client.start_new("Work", instance_id, {"numbers": body["numbers"]})
        return client.create_check_status_response(req, instance_id)

    return app


def http_get(url: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else {}, dict(error.headers)


@pytest.fixture
def app() -> df.DFApp:
    return build_app()


def test_client_binding_json_is_what_the_sdk_client_expects() -> None:
    binding = json.loads(client_binding_json("http://127.0.0.1:7071", system_key="k"))
    assert binding["rpcBaseUrl"] == "http://127.0.0.1:7071/durabletask/"
    assert binding["managementUrls"]["id"] == "INSTANCEID"

    client = df.DurableOrchestrationClient(json.dumps(binding))
    payload = client.create_http_management_payload("abc")
    assert payload["id"] == "abc"
    assert payload["statusQueryGetUri"].startswith("http://127.0.0.1:7071/runtime/webhooks/durabletask/instances/abc?")
    assert "code=k" in payload["statusQueryGetUri"]


def test_start_new_runs_the_orchestration_and_get_status_reports_it(
    app: df.DFApp, local_durable_host: Any, durable_client_run: Any, fixed_utc: Any
) -> None:
    host = local_durable_host(app, clock=lambda: fixed_utc)

    async def scenario() -> Any:
        client = df.DurableOrchestrationClient(host.client_json)
        instance_id = await client.start_new("Work", "w1", {"numbers": [1, 2, 3]})
        return instance_id, await client.get_status(instance_id)

    instance_id, status = durable_client_run(scenario())

    assert instance_id == "w1"
    assert status.runtime_status == df.OrchestrationRuntimeStatus.Completed
    assert status.output == {"sum": 14}
    assert status.input_ == {"numbers": [1, 2, 3]}
    assert status.custom_status == {"phase": "working"}
    assert status.created_time == fixed_utc
    start = host.requests[0]
    assert (start.method, start.path) == ("POST", "/durabletask/orchestrators/Work/w1")
    assert json.loads(json.loads(start.body)) == {"numbers": [1, 2, 3]}  # encoded twice


def test_an_instance_stays_pending_when_the_host_does_not_run_it(app: df.DFApp, local_durable_host: Any, durable_client_run: Any) -> None:
    # The starter tests rely on this: instances are created, never run, so nothing needs ARM.
    host = local_durable_host(app, run_on_start=False)

    async def scenario() -> Any:
        client = df.DurableOrchestrationClient(host.client_json)
        await client.start_new("Work", "w2", {"numbers": [2]})
        return await client.get_status("w2")

    pending = durable_client_run(scenario())

    assert pending.runtime_status == df.OrchestrationRuntimeStatus.Pending
    assert pending.input_ == {"numbers": [2]}
    assert host.get("w2").run is None


def test_check_status_response_location_answers_with_the_status(app: df.DFApp, local_durable_host: Any) -> None:
    host = local_durable_host(app)
    starter = registry_from_app(app).starters["StartWork"]

    response = starter.call(host.client_json, req=host.http_request("POST", "/api/work", body={"day": "mon", "numbers": [5]}))

    assert response.status_code == 202
    assert response.headers["Retry-After"] == "10"
    code, status, _ = http_get(response.headers["Location"])
    assert code == 200
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"sum": 25}
    assert status["instanceId"] == "work-mon"


def test_starter_sees_a_seeded_running_instance_and_answers_409(app: df.DFApp, local_durable_host: Any) -> None:
    host = local_durable_host(app)
    host.seed("work-tue", "Running", name="Work")
    starter = registry_from_app(app).starters["StartWork"]

    response = starter.call(host.client_json, req=host.http_request("POST", "/api/work", body={"day": "tue", "numbers": [1]}))

    assert response.status_code == 409
    status_url = json.loads(response.get_body())["statusQueryGetUri"]
    code, status, headers = http_get(status_url)
    assert (code, status["runtimeStatus"]) == (202, "Running")
    assert "Location" in headers
    assert host.get("work-tue").runtime_status == "Running"  # untouched


def test_starting_over_a_failed_instance_replaces_it(app: df.DFApp, local_durable_host: Any) -> None:
    host = local_durable_host(app)
    host.seed("work-wed", "Failed", name="Work", output="boom")
    starter = registry_from_app(app).starters["StartWork"]

    response = starter.call(host.client_json, req=host.http_request("POST", "/api/work", body={"day": "wed", "numbers": [2]}))

    assert response.status_code == 202
    assert host.get("work-wed").runtime_status == "Completed"
    assert host.get("work-wed").output == {"sum": 4}


def test_raise_event_resumes_a_waiting_instance(app: df.DFApp, local_durable_host: Any, durable_client_run: Any) -> None:
    host = local_durable_host(app)

    async def scenario() -> Any:
        client = df.DurableOrchestrationClient(host.client_json)
        await client.start_new("Approval", "a1")
        waiting = await client.get_status("a1")
        await client.raise_event("a1", "Approved", {"by": "ops"})
        return waiting, await client.get_status("a1")

    waiting, done = durable_client_run(scenario())

    assert waiting.runtime_status == df.OrchestrationRuntimeStatus.Running
    assert done.runtime_status == df.OrchestrationRuntimeStatus.Completed
    assert done.output == {"approved": {"by": "ops"}}


def test_a_host_that_holds_timers_keeps_a_waiting_instance_running_until_the_event_comes(
    app: df.DFApp, local_durable_host: Any, durable_client_run: Any, fixed_utc: Any
) -> None:
    host = local_durable_host(app, clock=lambda: fixed_utc, hold_timers=True)

    async def scenario() -> Any:
        client = df.DurableOrchestrationClient(host.client_json)
        await client.start_new("Review", "r1")
        waiting = await client.get_status("r1")
        await client.raise_event("r1", "Approved", {"by": "ops"})
        return waiting, await client.get_status("r1")

    waiting, done = durable_client_run(scenario())

    # without held timers the one-hour timeout would have fired at once, before the event came
    assert (waiting.runtime_status, waiting.custom_status) == (df.OrchestrationRuntimeStatus.Running, {"phase": "waiting"})
    assert done.runtime_status == df.OrchestrationRuntimeStatus.Completed
    assert done.output == {"approved": {"by": "ops"}, "at": fixed_utc.isoformat()}


def test_advance_lets_time_pass_for_an_instance_waiting_on_a_held_timer(
    app: df.DFApp, local_durable_host: Any, durable_client_run: Any, fixed_utc: Any
) -> None:
    host = local_durable_host(app, clock=lambda: fixed_utc, hold_timers=True)
    durable_client_run(df.DurableOrchestrationClient(host.client_json).start_new("Review", "r2"))

    record = host.advance("r2")

    assert record.runtime_status == "Completed"
    assert record.output == {"approved": None, "at": (fixed_utc + timedelta(hours=1)).isoformat()}


def test_drive_runs_an_instance_the_host_left_pending_with_the_events_raised_meanwhile(
    app: df.DFApp, local_durable_host: Any, durable_client_run: Any
) -> None:
    host = local_durable_host(app, run_on_start=False, hold_timers=True)

    async def scenario() -> None:
        client = df.DurableOrchestrationClient(host.client_json)
        await client.start_new("Review", "r3")
        await client.raise_event("r3", "Approved", "first")

    durable_client_run(scenario())
    assert host.get("r3").runtime_status == "Pending"

    record = host.drive("r3")

    assert record.runtime_status == "Completed" and record.output["approved"] == "first"
    with pytest.raises(ValueError, match="seeded"):
        host.drive(host.seed("s2", "Running", name="Review").instance_id)


def test_unknown_orchestrator_is_refused_by_start_new(app: df.DFApp, local_durable_host: Any, durable_client_run: Any) -> None:
    host = local_durable_host(app)

    async def scenario() -> None:
        await df.DurableOrchestrationClient(host.client_json).start_new("Nope", "n1")

    with pytest.raises(Exception, match="The function 'Nope' doesn't exist"):
        durable_client_run(scenario())


def test_public_status_route_requires_the_system_key(app: df.DFApp, local_durable_host: Any) -> None:
    host = local_durable_host(app)
    host.seed("s1", "Completed", name="Work", output=1)

    assert http_get(host.status_url("s1"))[0] == 200
    assert http_get(host.status_url("s1").replace(host.system_key, "wrong"))[0] == 401
    assert http_get(host.status_url("missing"))[0] == 404
