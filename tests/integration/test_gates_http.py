"""POST /api/upgrades/{environment}/{date}/approval and .../stop through the real HttpStarter, the
SDK's DurableOrchestrationClient and the local durable host: the event reaches the run that
awaits it (202), a run that does not answers 409 with its status, no run 404, a bad body 400."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest

from ops.durable.http_api import LocalDurableHost
from ops.durable.registry import DurableRegistry

DEV_ID = "aks-upgrade-dev-2026-12-01"
DEV_INPUT = {"environment": "dev", "date": "2026-12-01", "dryRun": False, "force": False}
AWAITING = {"phase": "awaiting-approval", "environment": "dev", "approvalTimeoutHours": 24, "plan": {}}
APPROVE = {"decision": "approve", "by": "alice", "comment": "CAB-7"}


def post(registry: DurableRegistry, host: LocalDurableHost, action: str, body: Any, day: str = "2026-12-01") -> func.HttpResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = func.HttpRequest(
        "POST",
        f"{host.base_url}/api/upgrades/dev/{day}/{action}",
        body=data,
        route_params={"environment": "dev", "date": day, "action": action},
        headers={"Content-Type": "application/json"},
    )
    return registry.starters["HttpStarter"].call(host.client_json, req=req)


def body_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def raised(host: LocalDurableHost) -> list[Any]:
    return [r for r in host.requests if "/raiseEvent/" in r.path]


# -- approval ------------------------------------------------------------------------------------------
def test_a_decision_for_a_run_awaiting_approval_is_raised_as_the_approval_event(registry: DurableRegistry, host: LocalDurableHost) -> None:
    record = host.seed(DEV_ID, "Running", input=DEV_INPUT, custom_status=AWAITING)

    response = post(registry, host, "approval", APPROVE)

    assert response.status_code == 202, response.get_body()
    assert body_of(response)["instanceId"] == DEV_ID and body_of(response)["decision"] == "approve"
    request_id = body_of(response)["requestId"]
    assert record.raised == [("Approval", {**APPROVE, "requestId": request_id})]
    [request] = raised(host)
    assert request.path.endswith(f"/instances/{DEV_ID}/raiseEvent/Approval")


def test_each_decision_posted_is_raised_with_an_id_of_its_own_even_when_the_bodies_are_the_same(
    registry: DurableRegistry, host: LocalDurableHost
) -> None:
    # A double click: two requests, one body. The run must count both, not take the second for
    # the durable SDK handing the first one over again.
    record = host.seed(DEV_ID, "Running", input=DEV_INPUT, custom_status=AWAITING)

    first, second = post(registry, host, "approval", APPROVE), post(registry, host, "approval", APPROVE)

    assert (first.status_code, second.status_code) == (202, 202)
    ids = [payload["requestId"] for _, payload in record.raised]
    assert len(ids) == 2 and ids[0] != ids[1] and all(isinstance(i, str) and i for i in ids)
    assert ids == [body_of(first)["requestId"], body_of(second)["requestId"]]


def test_a_body_cannot_choose_the_request_id(registry: DurableRegistry, host: LocalDurableHost) -> None:
    record = host.seed(DEV_ID, "Running", input=DEV_INPUT, custom_status=AWAITING)

    response = post(registry, host, "approval", {**APPROVE, "requestId": "r1"})

    assert response.status_code == 400 and body_of(response)["field"] == "body"
    assert record.raised == []


@pytest.mark.parametrize(
    ("runtime_status", "custom_status"),
    [("Running", {"phase": "upgrading"}), ("Completed", {"phase": "done"}), ("Running", None)],
)
def test_a_run_that_does_not_await_approval_answers_409_with_its_status(
    registry: DurableRegistry, host: LocalDurableHost, runtime_status: str, custom_status: Any
) -> None:
    record = host.seed(DEV_ID, runtime_status, input=DEV_INPUT, custom_status=custom_status)

    response = post(registry, host, "approval", APPROVE)

    assert response.status_code == 409
    payload = body_of(response)
    assert payload["runtimeStatus"] == runtime_status and payload["instanceId"] == DEV_ID
    assert payload["statusQueryGetUri"] == host.status_url(DEV_ID)
    assert record.raised == [] and raised(host) == []


def test_an_approval_for_no_run_answers_404(registry: DurableRegistry, host: LocalDurableHost) -> None:
    response = post(registry, host, "approval", APPROVE)

    assert response.status_code == 404 and body_of(response)["instanceId"] == DEV_ID


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "maybe", "by": "alice"}, "decision"),
        ({"decision": "approve"}, "by"),
        ({"decision": "approve", "by": "alice", "when": "now"}, "body"),
        (b"[" * 40, "body"),
        (b"not json", "body"),
    ],
)
def test_a_bad_approval_body_answers_400_naming_the_field(registry: DurableRegistry, host: LocalDurableHost, body: Any, field: str) -> None:
    record = host.seed(DEV_ID, "Running", input=DEV_INPUT, custom_status=AWAITING)

    response = post(registry, host, "approval", body)

    assert response.status_code == 400 and body_of(response)["field"] == field
    assert record.raised == []


def test_an_approval_body_over_64_kib_answers_413(registry: DurableRegistry, host: LocalDurableHost) -> None:
    host.seed(DEV_ID, "Running", input=DEV_INPUT, custom_status=AWAITING)

    response = post(registry, host, "approval", json.dumps({**APPROVE, "comment": "x" * 70_000}).encode())

    assert response.status_code == 413


# -- stop -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("runtime_status", ["Running", "Pending"])
def test_a_stop_for_a_running_run_is_raised_as_the_stop_event(
    registry: DurableRegistry, host: LocalDurableHost, runtime_status: str
) -> None:
    record = host.seed(DEV_ID, runtime_status, input=DEV_INPUT, custom_status={"phase": "upgrading"})

    response = post(registry, host, "stop", {"by": "carol", "reason": "incident INC-42"})

    assert response.status_code == 202
    assert body_of(response)["stopping"] == "stopped by carol: incident INC-42"
    assert record.raised == [("Stop", {"by": "carol", "reason": "incident INC-42"})]


@pytest.mark.parametrize("runtime_status", ["Completed", "Failed", "Terminated"])
def test_a_stop_for_a_finished_run_answers_409(registry: DurableRegistry, host: LocalDurableHost, runtime_status: str) -> None:
    host.seed(DEV_ID, runtime_status, input=DEV_INPUT)

    response = post(registry, host, "stop", {"by": "carol"})

    assert response.status_code == 409 and body_of(response)["runtimeStatus"] == runtime_status
    assert raised(host) == []


def test_a_stop_for_no_run_answers_404_and_a_bad_body_400(registry: DurableRegistry, host: LocalDurableHost) -> None:
    assert post(registry, host, "stop", {"by": "carol"}).status_code == 404
    bad = post(registry, host, "stop", {"reason": "no who"})
    assert bad.status_code == 400 and body_of(bad)["field"] == "by"


def test_an_unknown_action_is_404_and_a_get_on_an_action_405(registry: DurableRegistry, host: LocalDurableHost) -> None:
    assert post(registry, host, "restart", {}).status_code == 404
    req = func.HttpRequest(
        "GET",
        f"{host.base_url}/api/upgrades/dev/2026-12-01/stop",
        body=b"",
        route_params={"environment": "dev", "date": "2026-12-01", "action": "stop"},
    )
    assert registry.starters["HttpStarter"].call(host.client_json, req=req).status_code == 405
