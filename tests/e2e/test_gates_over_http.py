"""Approval and stop over HTTP, into runs that really run: POST /api/upgrades starts the run through
the real HttpStarter and the SDK's DurableOrchestrationClient on the local durable host, which
drives the orchestrator through the durable SDK's replay against the ARM emulator and Azurite.

The host holds durable timers: a run stops at every wait (for the approval, between two polls)
until the test posts a decision or a stop, or lets time pass with ``host.advance``. So each POST
reaches the run at a known step, with no sleep and no wall clock.

Dates: the run's simulated clock is Monday's schedule time of the e2e week. The HTTP starter refuses
a date after today, and the e2e week may lie in the future (``E2E_WEEK_OF``), so the start names
only the environment: the starter takes today's date, whatever day that is, and the test reads the
instance id (and so the date of the approval and stop routes) from the starter's answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import azure.functions as func
import pytest

from ops import runner
from ops.durable.http_api import InstanceRecord, LocalDurableHost
from shared import runtime
from shared import settings as settings_mod
from tests.e2e.conftest import FAST_ARM, MON, Conductor, by_name, schedule_start

NEWEST_GA = "1.31.2"
APPROVE = {"decision": "approve", "by": "alice", "comment": "CAB-7"}
REJECT = {"decision": "reject", "by": "bob", "comment": "change freeze"}
#: Poll rounds a run may take from the approval to its end; far more than the emulator needs.
MAX_ADVANCES = 200


@dataclass
class HttpRun:
    """One sandbox run behind the HTTP API, and the requests that steer it."""

    conductor: Conductor
    host: LocalDurableHost
    instance_id: str = ""

    def request(self, method: str, route: str, body: Any = None, **route_params: str) -> func.HttpResponse:
        req = func.HttpRequest(
            method,
            f"{self.host.base_url}/api/{route}",
            body=json.dumps(body).encode() if body is not None else b"",
            route_params=route_params,
            headers={"Content-Type": "application/json"},
        )
        response: func.HttpResponse = runner.registry().starters["HttpStarter"].call(self.host.client_json, req=req)
        return response

    def start(self) -> func.HttpResponse:
        """POST /api/upgrades {"environment": "sandbox"}: the starter names the run for today."""
        response = self.request("POST", "upgrades", {"environment": "sandbox"})
        if response.status_code == 202:
            self.instance_id = json.loads(response.get_body())["id"]
        return response

    def post(self, action: str, body: Any) -> func.HttpResponse:
        """POST /api/upgrades/sandbox/{the run's date}/{action}."""
        day = self.instance_id.removeprefix("aks-upgrade-sandbox-")
        return self.request("POST", f"upgrades/sandbox/{day}/{action}", body, environment="sandbox", date=day, action=action)

    @property
    def record(self) -> InstanceRecord:
        record = self.host.get(self.instance_id)
        assert record is not None, f"no instance {self.instance_id}"
        return record

    @property
    def phase(self) -> Any:
        status = self.record.custom_status
        return status.get("phase") if isinstance(status, dict) else None

    def advance_until(self, done: Callable[[InstanceRecord], bool]) -> InstanceRecord:
        """Let time pass, one durable timer at a time, until ``done`` holds."""
        for _ in range(MAX_ADVANCES):
            if done(self.record):
                return self.record
            self.host.advance(self.instance_id)
        raise AssertionError(f"{self.instance_id} still {self.record.runtime_status} ({self.phase}) after {MAX_ADVANCES} timers")

    def finish(self) -> dict[str, Any]:
        """Let time pass until the run ends; its result (the run's JSON)."""
        record = self.advance_until(lambda r: r.runtime_status != "Running")
        assert record.runtime_status == "Completed", record.output
        output: dict[str, Any] = record.output
        return output


@pytest.fixture
def over_http(conductor: Conductor, local_durable_host: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., HttpRun]]:
    """``over_http(**settings)``: the app's settings (sandbox waits for approval) in the process
    environment, as the HttpStarter reads them, the activities' services built from the same, and
    a local durable host that holds timers."""

    def make(**extra: str) -> HttpRun:
        environ = conductor.environ(APPROVAL_ENVIRONMENTS="sandbox", **extra)
        for name in setting_names():
            monkeypatch.delenv(name, raising=False)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        runtime.install(runtime.build(settings_mod.load(environ), arm_client_options=FAST_ARM))
        host = local_durable_host(runner.registry(), clock=lambda: schedule_start(MON), hold_timers=True)
        return HttpRun(conductor, host)

    yield make


def setting_names() -> list[str]:
    """Every app setting shared/settings.py reads (its constants named as their value)."""
    return [value for name, value in vars(settings_mod).items() if name.isupper() and isinstance(value, str) and value.upper() == name]


def body_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def started_awaiting_approval(run: HttpRun) -> None:
    response = run.start()
    assert response.status_code == 202, response.get_body()
    assert (run.record.runtime_status, run.phase) == ("Running", "awaiting-approval")
    assert run.conductor.puts() == []


# -- approve ----------------------------------------------------------------------------------------
def test_an_approval_posted_to_a_waiting_run_lets_it_upgrade_and_record(over_http: Callable[..., HttpRun]) -> None:
    run = over_http()
    started_awaiting_approval(run)
    assert run.record.custom_status["plan"]["toUpgrade"] == 2

    response = run.post("approval", APPROVE)

    assert response.status_code == 202, response.get_body()
    assert body_of(response)["decision"] == "approve"
    result = run.finish()
    assert result["status"] == "succeeded" and result["recordedVersion"] == NEWEST_GA
    assert {c["result"] for c in result["clusters"]} == {"upgraded"}
    assert sorted(run.conductor.put_targets()) == ["aks-sandbox-weu-1", "aks-sandbox-weu-2"]
    record = run.conductor.record("sandbox")
    assert record is not None and record.version == NEWEST_GA and record.instance_id == run.instance_id
    rows = run.conductor.history.list("sandbox")
    assert rows and {(r.decided_by, r.decision, r.decision_comment) for r in rows} == {("alice", "approve", "CAB-7")}


# -- reject -----------------------------------------------------------------------------------------
def test_a_rejection_posted_to_a_waiting_run_skips_it_with_no_put_and_no_record(over_http: Callable[..., HttpRun]) -> None:
    run = over_http()
    started_awaiting_approval(run)

    response = run.post("approval", REJECT)

    assert response.status_code == 202, response.get_body()
    result = run.finish()
    assert (result["status"], result["reason"]) == ("skipped", "approval rejected by bob: change freeze")
    assert {c["result"] for c in result["clusters"]} == {"skipped"}
    assert run.conductor.puts() == [] and run.conductor.record("sandbox") is None
    rows = run.conductor.history.list("sandbox")
    assert rows and {(r.decided_by, r.decision, r.decision_comment) for r in rows} == {("bob", "reject", "change freeze")}


def test_a_rejection_posted_just_after_an_approval_wins(over_http: Callable[..., HttpRun]) -> None:
    # GIVEN both decisions reach the run before it takes the first one, as when two people answer
    # at once: the host runs the instance only when told (drive), so both are queued
    run = over_http()
    run.host.run_on_start = False
    assert run.start().status_code == 202
    run.host.drive(run.instance_id)
    assert run.phase == "awaiting-approval"

    approved, rejected = run.post("approval", APPROVE), run.post("approval", REJECT)
    run.host.drive(run.instance_id)

    assert (approved.status_code, rejected.status_code) == (202, 202)
    result = run.finish()
    assert (result["status"], result["reason"]) == ("skipped", "approval rejected by bob: change freeze")
    assert run.conductor.puts() == [] and run.conductor.record("sandbox") is None
    assert {(r.decided_by, r.decision) for r in run.conductor.history.list("sandbox")} == {("bob", "reject")}


def test_an_approval_posted_twice_then_a_rejection_in_one_batch_skips_the_run(over_http: Callable[..., HttpRun]) -> None:
    # GIVEN alice double-clicks and bob rejects, all before the run takes any: one batch of three
    run = over_http()
    run.host.run_on_start = False
    assert run.start().status_code == 202
    run.host.drive(run.instance_id)
    assert run.phase == "awaiting-approval"

    answers = [run.post("approval", APPROVE), run.post("approval", APPROVE), run.post("approval", REJECT)]
    run.host.drive(run.instance_id)

    assert [a.status_code for a in answers] == [202, 202, 202]
    result = run.finish()
    assert (result["status"], result["reason"]) == ("skipped", "approval rejected by bob: change freeze")
    assert run.conductor.puts() == [] and run.conductor.record("sandbox") is None


def test_a_rejection_accepted_just_as_the_run_went_ahead_stops_it_and_records_nothing(
    over_http: Callable[..., HttpRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN one upgrade at a time, alice's approval queued, and bob's rejection racing it: the
    # route reads awaiting-approval, then the run takes alice's approval and starts weu-1, and
    # only then is bob's event raised (and answered 202)
    run = over_http(MAX_PARALLEL_UPGRADES="1")
    started_awaiting_approval(run)
    run.host.run_on_start = False
    assert run.post("approval", APPROVE).status_code == 202
    raise_event = run.host.raise_event

    def run_goes_ahead_first(instance_id: str, event_name: str, data: Any) -> int:
        run.host.drive(instance_id)
        return raise_event(instance_id, event_name, data)

    monkeypatch.setattr(run.host, "raise_event", run_goes_ahead_first)
    rejected = run.post("approval", REJECT)
    monkeypatch.setattr(run.host, "raise_event", raise_event)
    puts_before_the_reject = list(run.conductor.puts())
    run.host.drive(run.instance_id)

    assert rejected.status_code == 202
    assert [p.path.rsplit("/", 1)[-1] for p in puts_before_the_reject] == ["aks-sandbox-weu-1"]
    result = run.finish()
    late = "approval rejected by bob after the run began: change freeze"
    assert (result["status"], result["reason"]) == ("stopped", f"{late}; nothing recorded")
    clusters = by_name(result)
    assert clusters["aks-sandbox-weu-1"]["result"] == "upgraded"  # in flight when rejected: awaited, checked, reported
    assert (clusters["aks-sandbox-weu-2"]["result"], clusters["aks-sandbox-weu-2"]["reason"]) == ("skipped", f"not started: {late}")
    assert run.conductor.puts() == puts_before_the_reject
    assert run.conductor.record("sandbox") is None and result["recordedVersion"] is None


# -- stop -------------------------------------------------------------------------------------------
def test_a_stop_posted_while_approval_is_awaited_stops_the_run_with_no_put(over_http: Callable[..., HttpRun]) -> None:
    run = over_http()
    started_awaiting_approval(run)

    response = run.post("stop", {"by": "carol", "reason": "incident INC-42"})

    assert response.status_code == 202 and body_of(response)["stopping"] == "stopped by carol: incident INC-42"
    result = run.finish()
    assert (result["status"], result["reason"]) == ("stopped", "stopped by carol: incident INC-42; nothing recorded")
    assert run.conductor.puts() == [] and run.conductor.record("sandbox") is None


def test_a_stop_posted_between_polls_starts_no_more_upgrades_and_records_nothing(over_http: Callable[..., HttpRun]) -> None:
    # GIVEN one upgrade at a time, and the run approved: weu-1's upgrade runs, weu-2 waits for the slot
    run = over_http(MAX_PARALLEL_UPGRADES="1")
    started_awaiting_approval(run)
    assert run.post("approval", APPROVE).status_code == 202
    assert (run.record.runtime_status, run.phase) == ("Running", "upgrading")
    puts_before_the_stop = list(run.conductor.puts())
    assert [p.path.rsplit("/", 1)[-1] for p in puts_before_the_stop] == ["aks-sandbox-weu-1"]

    response = run.post("stop", {"by": "carol", "reason": "incident INC-42"})

    assert response.status_code == 202
    result = run.finish()
    assert (result["status"], result["reason"]) == ("stopped", "stopped by carol: incident INC-42; nothing recorded")
    clusters = by_name(result)
    assert clusters["aks-sandbox-weu-1"]["result"] == "upgraded"  # in flight when stopped: awaited, checked, reported
    assert (clusters["aks-sandbox-weu-2"]["result"], clusters["aks-sandbox-weu-2"]["reason"]) == (
        "skipped",
        "not started: stopped by carol: incident INC-42",
    )
    assert run.conductor.puts() == puts_before_the_stop
    assert run.conductor.record("sandbox") is None and result["recordedVersion"] is None


# -- too late ---------------------------------------------------------------------------------------
def test_an_approval_posted_after_the_run_finished_answers_409_and_changes_nothing(over_http: Callable[..., HttpRun]) -> None:
    run = over_http()
    started_awaiting_approval(run)
    assert run.post("approval", REJECT).status_code == 202
    result = run.finish()

    late = run.post("approval", APPROVE)

    assert late.status_code == 409
    assert (body_of(late)["runtimeStatus"], body_of(late)["phase"]) == ("Completed", "done")
    assert run.record.output == result and run.conductor.puts() == []
    assert len([r for r in run.host.requests if r.path.endswith("/raiseEvent/Approval")]) == 1  # the late one raised nothing
