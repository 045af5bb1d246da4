"""The UpgradeOrchestrator itself, with fake activities, through the in-process durable driver.

The real generator is replayed by the durable SDK exactly as in Azure; only the activities are
fakes that speak the JSON the real ones speak. No ARM, no Azurite: every test runs in well under
a second and pins one piece of the orchestration (order of activities, parallelism, backoff,
deadline, continue-as-new, what happens when an activity's retries run out).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ops import runner
from ops.durable.driver import OrchestrationDriver, OrchestrationRun, replay, run_orchestration
from shared import orchestration
from shared.domain import planning, upgrade_loop

#: A Monday, 10:00 in the plan's Europe/Oslo: the sandbox wave's day and schedule time.
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DAY = "2026-11-30"
INSTANCE = f"aks-upgrade-sandbox-{DAY}"
PLAN = {"timezone": "Europe/Oslo", "waves": [{"day": "Mon", "environment": "sandbox"}, {"day": "Tue", "environment": "dev"}]}
SUB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters"
JOINED = "joined an upgrade already in progress to 1.31.2 (this run sent no PUT)"


def cluster_id(name: str) -> str:
    return f"{SUB}/{name}"


def cluster_plan(name: str, action: str = "upgrade") -> dict[str, Any]:
    return {
        "id": cluster_id(name),
        "name": name,
        "subscriptionId": "00000000-0000-0000-0000-000000000001",
        "resourceGroup": "rg",
        "location": "westeurope",
        "from": "1.30.5",
        "to": "1.31.2" if action == "upgrade" else None,
        "action": action,
        "reason": None if action == "upgrade" else "not running (powerState Stopped)",
        "eligible": action != "skipped",
        "subscriptionName": "sandbox",
    }


class FakeActivities:
    """The eight activities, as fakes that answer like the real ones and record every call.

    ``polls`` says after how many progress checks each upgrade is seen done (default 1);
    ``start_answers`` queues StartClusterUpgrade answers per cluster (default: upgrading);
    ``progress_error`` makes every CheckUpgradeProgress call raise.
    """

    def __init__(self, names: tuple[str, ...] = ("c1", "c2"), *, skipped: tuple[str, ...] = (), **config: Any) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, Any]] = []
        self.names = names
        self.skipped = skipped
        self.config: dict[str, Any] = {
            "plan": PLAN,
            "maxParallelUpgrades": 5,
            "pollIntervalSeconds": 60,
            "upgradeTimeoutMinutes": 360,
            "minSoakHours": 20,
            "freezeDates": [],
            "dryRun": False,
            **config,
        }
        self.polls: dict[str, int] = {}
        self.seen: Counter[str] = Counter()
        self.start_answers: dict[str, list[dict[str, Any]]] = {}
        self.start_error: Exception | None = None
        self.progress_error: Exception | None = None
        self.in_flight_sizes: list[int] = []
        #: cluster name -> the unhealthy reason its health check answers (default: healthy)
        self.unhealthy: dict[str, str] = {}
        self.health_error: Exception | None = None

    def by_name(self) -> dict[str, Callable[[Any], Any]]:
        return {
            orchestration.LOAD_SETTINGS: self.load_settings,
            orchestration.PLAN_LEAD: self.plan_lead,
            orchestration.PLAN_FOLLOWER: self.plan_lead,
            orchestration.START_UPGRADE: self.start,
            orchestration.CHECK_PROGRESS: self.check,
            orchestration.RECORD_VERSION: self.record_version,
            orchestration.RECORD_HISTORY: self.record_history,
            orchestration.NOTIFY: self.notify,
            orchestration.CHECK_HEALTH: self.check_health,
            orchestration.REQUEST_APPROVAL: self.request_approval,
        }

    def _called(self, name: str, payload: Any) -> None:
        with self.lock:
            self.calls.append((name, payload))

    def names_called(self) -> list[str]:
        return [name for name, _ in self.calls]

    def payloads(self, name: str) -> list[Any]:
        return [payload for called, payload in self.calls if called == name]

    def load_settings(self, payload: Any) -> dict[str, Any]:
        self._called(orchestration.LOAD_SETTINGS, payload)
        return self.config

    def plan_lead(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._called(orchestration.PLAN_LEAD, payload)
        clusters = [cluster_plan(n) for n in self.names] + [cluster_plan(n, "skipped") for n in self.skipped]
        clusters.sort(key=lambda c: c["id"])
        return {
            "environment": "sandbox",
            "role": "lead",
            "status": "ready",
            "reason": None,
            "targetVersion": "1.31.2",
            "clusters": clusters,
            "currentRecord": None,
            "protocol": planning.PROTOCOL,  # what today's planning activity stamps
        }

    def start(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._called(orchestration.START_UPGRADE, payload)
        cid = payload["cluster"]["id"]
        if self.start_error is not None:
            raise self.start_error
        with self.lock:
            queued = self.start_answers.get(cid) or []
            answer = queued.pop(0) if queued else {"state": "upgrading", "operationUrl": f"https://arm.test/operations/{cid[-2:]}"}
        return {"id": cid, "operationUrl": None, "reason": None, "retryAfter": None, **answer}

    def check(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._called(orchestration.CHECK_PROGRESS, payload)
        if self.progress_error is not None:
            raise self.progress_error
        answers = []
        with self.lock:
            self.in_flight_sizes.append(len(payload["clusters"]))
            for item in payload["clusters"]:
                self.seen[item["id"]] += 1
                needed = self.polls.get(item["id"].rsplit("/", 1)[-1], 1)
                state = "succeeded" if needed and self.seen[item["id"]] >= needed else "inProgress"
                answers.append({"id": item["id"], "state": state, "reason": None})
        return {"clusters": answers}

    def check_health(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._called(orchestration.CHECK_HEALTH, payload)
        if self.health_error is not None:
            raise self.health_error
        answers = []
        for item in payload["clusters"]:
            name = item["id"].rsplit("/", 1)[-1]
            if name in self.unhealthy:
                answers.append({"id": item["id"], "state": "unhealthy", "reason": self.unhealthy[name]})
            else:
                answers.append({"id": item["id"], "state": "healthy", "reason": None})
        return {"clusters": answers}

    def request_approval(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._called(orchestration.REQUEST_APPROVAL, payload)
        return {"sent": True}

    def record_version(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._called(orchestration.RECORD_VERSION, payload)
        return {"environment": payload["environment"], "version": payload["version"], "validatedAt": payload["validatedAt"]}

    def record_history(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._called(orchestration.RECORD_HISTORY, payload)
        return {"written": len(payload["clusters"])}

    def notify(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._called(orchestration.NOTIFY, payload)
        return {"sent": True}


def run(fakes: FakeActivities, **input_overrides: Any) -> OrchestrationRun:
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1", **input_overrides}
    return run_orchestration(handle, fakes.by_name(), INSTANCE, request, START, name=runner.ORCHESTRATOR)


def outcomes(run: OrchestrationRun) -> dict[str, tuple[str, str | None]]:
    return {c["id"].rsplit("/", 1)[-1]: (c["result"], c["reason"]) for c in run.output["clusters"]}


def test_every_cluster_is_upgraded_then_recorded_audited_and_notified() -> None:
    fakes = FakeActivities(("c1", "c2"), skipped=("c3",))

    result = run(fakes)

    assert result.succeeded, result.error
    assert result.output == {
        "instanceId": INSTANCE,
        "date": DAY,
        "environment": "sandbox",
        "role": "lead",
        "status": "succeeded",
        "reason": None,
        "targetVersion": "1.31.2",
        "recordedVersion": "1.31.2",
        "clusters": [
            {"id": cluster_id("c1"), "from": "1.30.5", "to": "1.31.2", "result": "upgraded", "reason": None},
            {"id": cluster_id("c2"), "from": "1.30.5", "to": "1.31.2", "result": "upgraded", "reason": None},
            {"id": cluster_id("c3"), "from": "1.30.5", "to": None, "result": "skipped", "reason": "not running (powerState Stopped)"},
        ],
    }
    assert fakes.names_called() == [
        "LoadRolloutSettings",
        "UpgradeLeadEnvironment",
        "StartClusterUpgrade",
        "StartClusterUpgrade",
        "CheckUpgradeProgress",
        "CheckClusterHealth",
        "RecordValidatedVersion",
        "RecordUpgradeHistory",
        "NotifyRollout",
    ]
    [recorded] = fakes.payloads("RecordValidatedVersion")
    assert recorded["version"] == "1.31.2" and recorded["clusters"] == [cluster_id("c1"), cluster_id("c2")]
    [audited] = fakes.payloads("RecordUpgradeHistory")
    assert audited["runId"] == "run-1" and audited["status"] == "succeeded"
    assert fakes.payloads("NotifyRollout") == [result.output]


def test_no_more_than_max_parallel_upgrades_are_ever_in_flight() -> None:
    fakes = FakeActivities(("c1", "c2", "c3", "c4", "c5"), maxParallelUpgrades=2)
    fakes.polls = {"c1": 1, "c2": 3, "c3": 2, "c4": 1, "c5": 1}

    result = run(fakes)

    assert result.output["status"] == "succeeded"
    assert max(fakes.in_flight_sizes) == 2
    assert len(fakes.payloads("StartClusterUpgrade")) == 5
    progress = [s for s in result.custom_statuses if s["phase"] == "upgrading"]
    assert max(s["inFlight"] for s in progress) == 2 and {s["clustersTotal"] for s in progress} == {5}


def test_a_transiently_refused_start_is_retried_after_its_backoff() -> None:
    fakes = FakeActivities(("c1",))
    fakes.start_answers[cluster_id("c1")] = [{"state": "retry", "reason": "TooManyRequests: slow down", "retryAfter": 90}]

    result = run(fakes)

    first, second = fakes.payloads("StartClusterUpgrade")
    waited = datetime.fromisoformat(second["clock"]) - datetime.fromisoformat(first["clock"])
    assert waited == timedelta(seconds=90)  # ARM's Retry-After, longer than the first backoff (30 s)
    assert outcomes(result) == {"c1": ("upgraded", None)}


def test_a_start_refused_on_every_attempt_fails_only_that_cluster() -> None:
    fakes = FakeActivities(("c1", "c2"))
    fakes.start_answers[cluster_id("c1")] = [{"state": "retry", "reason": "Conflict: busy"}] * upgrade_loop.MAX_START_ATTEMPTS

    result = run(fakes)

    assert outcomes(result) == {
        "c1": ("failed", f"Conflict: busy (gave up after {upgrade_loop.MAX_START_ATTEMPTS} attempts)"),
        "c2": ("upgraded", None),
    }
    assert result.output["status"] == "failed" and result.output["recordedVersion"] is None
    assert "RecordValidatedVersion" not in fakes.names_called()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"state": "already-current"}, ("already-current", upgrade_loop.FOUND_AT_TARGET)),  # after its health check
        ({"state": "skipped", "reason": "changed since planning: opted out"}, ("skipped", "changed since planning: opted out")),
        ({"state": "failed", "reason": "OperationNotAllowed: no"}, ("failed", "OperationNotAllowed: no")),
        ({"state": "upgrading", "operationUrl": None, "reason": JOINED}, ("upgraded", JOINED)),
    ],
)
def test_each_start_answer_ends_the_cluster_as_it_says(answer: dict[str, Any], expected: tuple[str, str | None]) -> None:
    fakes = FakeActivities(("c1",))
    fakes.start_answers[cluster_id("c1")] = [answer]

    result = run(fakes)

    assert outcomes(result) == {"c1": expected}
    # counted for the record only after the health gate looked at it (a skipped or failed one never)
    assert (orchestration.CHECK_HEALTH in fakes.names_called()) == (expected[0] in ("already-current", "upgraded"))


def test_a_start_whose_outcome_is_unknown_is_watched_not_sent_again() -> None:
    fakes = FakeActivities(("c1",))
    fakes.start_error = ConnectionError("connection reset\nwhile reading the answer")

    result = run(fakes)

    assert outcomes(result) == {"c1": ("upgraded", "start outcome unknown: connection reset")}
    [checked] = fakes.payloads("CheckUpgradeProgress")
    unknown = "start outcome unknown: connection reset"
    assert checked["clusters"] == [
        {"id": cluster_id("c1"), "to": "1.31.2", "operationUrl": None, "reason": unknown, "startedAt": START.isoformat()}
    ]


def test_upgrades_unfinished_at_the_deadline_fail_with_a_timeout() -> None:
    fakes = FakeActivities(("c1", "c2", "c3"), upgradeTimeoutMinutes=3, maxParallelUpgrades=2, healthSettleMinutes=0)
    fakes.polls = {"c1": 1, "c2": 0, "c3": 0}  # c2 and c3 never finish

    result = run(fakes)

    timeout = "Timeout: not finished within UPGRADE_TIMEOUT_MINUTES=3"
    assert outcomes(result) == {"c1": ("upgraded", None), "c2": ("failed", timeout), "c3": ("failed", timeout)}
    assert result.output["status"] == "failed"
    assert result.finished - result.started == timedelta(minutes=3)
    assert "RecordUpgradeHistory" in fakes.names_called() and "NotifyRollout" in fakes.names_called()


def test_a_long_upgrade_continues_as_new_and_ends_like_an_uncut_run(monkeypatch: pytest.MonkeyPatch) -> None:
    uncut_fakes = FakeActivities(("c1", "c2", "c3"), maxParallelUpgrades=1)
    uncut_fakes.polls = {"c1": 2, "c2": 1, "c3": 3}
    uncut = run(uncut_fakes)

    monkeypatch.setattr(orchestration, "ROUNDS_PER_EXECUTION", 1)
    cut_fakes = FakeActivities(("c1", "c2", "c3"), maxParallelUpgrades=1)
    cut_fakes.polls = dict(uncut_fakes.polls)
    cut = run(cut_fakes)

    assert uncut.executions == 1 and cut.executions >= 4
    assert cut.output == uncut.output and cut.output["status"] == "succeeded"
    assert cut_fakes.names_called() == uncut_fakes.names_called()
    assert cut.finished == uncut.finished


def test_a_progress_check_that_fails_after_its_retries_ends_the_run_cleanly() -> None:
    # GIVEN two upgrades started (MAX_PARALLEL_UPGRADES=2) and a third waiting for a slot, and a
    # progress check that keeps failing
    fakes = FakeActivities(("c1", "c2", "c3"), maxParallelUpgrades=2)
    fakes.progress_error = RuntimeError("version store unreachable\ntraceback ...")

    result = run(fakes)

    # THEN the run completes: the started ones are reported failed with why and what to do, the
    # waiting one is never started, nothing is recorded, and the run is still audited and notified
    assert result.succeeded, result.error
    unknown = (
        "ProgressUnknown: the progress check failed after retries: version store unreachable; "
        "the upgrade may still be running — re-run to resume monitoring"
    )
    not_started = "NotStarted: the progress check failed after retries: version store unreachable; re-run to upgrade it"
    assert outcomes(result) == {"c1": ("failed", unknown), "c2": ("failed", unknown), "c3": ("failed", not_started)}
    assert result.output["status"] == "failed" and result.output["recordedVersion"] is None
    assert result.output["reason"] == "3 of 3 cluster(s) failed: c1, c2, c3; nothing recorded"
    assert len(fakes.payloads("CheckUpgradeProgress")) == orchestration.ACTIVITY_RETRY.max_number_of_attempts
    assert [p["cluster"]["id"] for p in fakes.payloads("StartClusterUpgrade")] == [cluster_id("c1"), cluster_id("c2")]
    assert "RecordValidatedVersion" not in fakes.names_called()
    [audited] = fakes.payloads("RecordUpgradeHistory")
    assert audited["status"] == "failed" and len(audited["clusters"]) == 3
    assert fakes.payloads("NotifyRollout") == [result.output]
    assert result.custom_statuses[-1]["phase"] == "done"


def test_an_execution_carried_over_in_the_earlier_json_shape_finishes_the_run() -> None:
    # GIVEN the input of a continue-as-new execution written before the loop state was typed:
    # c1 in flight, c2 waiting for its backoff after one refused start, c3 ready, c4 finished
    fakes = FakeActivities(("c1", "c2", "c3", "c4"))
    plan = fakes.plan_lead({})
    deadline = (START + timedelta(hours=6)).isoformat()
    continuation = {
        "config": fakes.config,
        "role": "lead",
        "plan": plan,
        "started": (START - timedelta(minutes=50)).isoformat(),
        "loop": {
            "ready": [cluster_id("c3")],
            "waiting": {cluster_id("c2"): (START + timedelta(seconds=30)).isoformat()},
            "attempts": {cluster_id("c2"): 1},
            "inFlight": {cluster_id("c1"): {"id": cluster_id("c1"), "to": "1.31.2", "operationUrl": None, "reason": JOINED}},
            "finals": {cluster_id("c4"): {"id": cluster_id("c4"), "from": "1.30.5", "to": "1.31.2", "result": "already-current"}},
            "deadline": deadline,
        },
    }
    fakes.calls.clear()

    result = run(fakes, continuation=continuation)

    # THEN it carries on where the earlier execution stopped and ends like any run
    assert result.succeeded, result.error
    assert outcomes(result) == {
        "c1": ("upgraded", JOINED),
        "c2": ("upgraded", None),
        "c3": ("upgraded", None),
        "c4": ("already-current", None),
    }
    assert [p["cluster"]["id"] for p in fakes.payloads("StartClusterUpgrade")] == [cluster_id("c3"), cluster_id("c2")]
    assert "LoadRolloutSettings" not in fakes.names_called() and "UpgradeLeadEnvironment" not in fakes.names_called()
    [audited] = fakes.payloads("RecordUpgradeHistory")
    assert audited["startedAt"] == continuation["started"]


def test_a_day_that_turns_frozen_while_upgrades_wait_for_a_slot_starts_no_more() -> None:
    # GIVEN a run at 23:58 in Oslo on the Monday, one slot, upgrades that take three polls, and Tuesday frozen
    fakes = FakeActivities(("c1", "c2"), maxParallelUpgrades=1, freezeDates=["2026-12-01"])
    fakes.polls = {"c1": 3}
    late = datetime(2026, 11, 30, 22, 58, tzinfo=UTC)
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1"}

    result = run_orchestration(handle, fakes.by_name(), INSTANCE, request, late, name=runner.ORCHESTRATOR)

    # THEN c1, started on Monday, is watched to its end; c2 would start after midnight: not started
    assert outcomes(result) == {
        "c1": ("upgraded", None),
        "c2": (
            "skipped",
            f"not started: this run for {DAY} works on 2026-12-01, which is frozen (FREEZE_DATES 2026-12-01); no upgrade starts",
        ),
    }
    assert [p["cluster"]["id"] for p in fakes.payloads("StartClusterUpgrade")] == [cluster_id("c1")]
    assert next(c for c in result.output["clusters"] if c["id"] == cluster_id("c2"))["to"] is None
    [recorded] = fakes.payloads("RecordValidatedVersion")
    assert recorded["clusters"] == [cluster_id("c1")]


# -- promotion gates -----------------------------------------------------------------------------------
def run_with(fakes: FakeActivities, events: tuple[tuple[str, Any], ...] = (), **input_overrides: Any) -> OrchestrationRun:
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1", **input_overrides}
    return run_orchestration(handle, fakes.by_name(), INSTANCE, request, START, name=runner.ORCHESTRATOR, events=events)


def test_a_succeeded_upgrade_is_health_checked_after_it_settled() -> None:
    fakes = FakeActivities(("c1",), healthSettleMinutes=10)

    result = run(fakes)

    assert outcomes(result) == {"c1": ("upgraded", None)}
    [progress] = fakes.payloads("CheckUpgradeProgress")
    [health] = fakes.payloads("CheckClusterHealth")
    checked_at = datetime.fromisoformat(health["clusters"][0]["checkAt"])
    assert checked_at == START + timedelta(seconds=60) + timedelta(minutes=10)  # one poll, then the settle time
    assert health["checkAlerts"] is False and health["clusters"][0]["startedAt"] == START.isoformat()
    assert fakes.names_called().index("CheckClusterHealth") > fakes.names_called().index("CheckUpgradeProgress")
    assert progress["clusters"][0]["id"] == cluster_id("c1")


def test_an_unhealthy_cluster_fails_the_run_and_nothing_is_recorded() -> None:
    fakes = FakeActivities(("c1", "c2"), healthCheck="arm+alerts")
    fakes.unhealthy = {"c2": "HealthCheck: Sev1 alert 'api-5xx' fired at 2026-11-30T09:03:00+00:00, after the upgrade started"}

    result = run(fakes)

    assert outcomes(result) == {"c1": ("upgraded", None), "c2": ("failed", fakes.unhealthy["c2"])}
    assert result.output["status"] == "failed" and result.output["recordedVersion"] is None
    assert "RecordValidatedVersion" not in fakes.names_called()
    assert all(p["checkAlerts"] is True for p in fakes.payloads("CheckClusterHealth"))
    [notified] = fakes.payloads("NotifyRollout")
    assert any(c["reason"] == fakes.unhealthy["c2"] for c in notified["clusters"])


def test_a_health_check_that_fails_after_its_retries_fails_those_clusters() -> None:
    fakes = FakeActivities(("c1",))
    fakes.health_error = RuntimeError("ARM unreachable")

    result = run(fakes)

    [(status, reason)] = outcomes(result).values()
    assert (
        status == "failed" and reason is not None and reason.startswith("HealthCheck: not checked: the health check failed after retries")
    )
    assert result.output["status"] == "failed"


def approval_fakes(*names: str) -> FakeActivities:
    return FakeActivities(names or ("c1", "c2"), approvalEnvironments=["sandbox"], approvalTimeoutHours=24)


def test_an_approval_environment_waits_for_a_decision_before_its_first_put() -> None:
    fakes = approval_fakes()
    approve = ("Approval", {"decision": "approve", "by": "alice", "comment": "go"})

    result = run_with(fakes, (approve,))

    assert result.output["status"] == "succeeded"
    calls = fakes.names_called()
    assert calls.index("RequestApproval") < calls.index("StartClusterUpgrade")
    [notice] = fakes.payloads("RequestApproval")
    assert notice["timeoutHours"] == 24 and [c["id"] for c in notice["plan"]["clusters"]] == [cluster_id("c1"), cluster_id("c2")]
    waiting = [s for s in result.custom_statuses if s.get("phase") == "awaiting-approval"]
    assert waiting and waiting[0]["plan"]["environment"] == "sandbox"
    [audited] = fakes.payloads("RecordUpgradeHistory")
    assert audited["approval"] == {"decision": "approve", "by": "alice", "comment": "go"}


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ((("Approval", {"decision": "reject", "by": "bob", "comment": "not this week"}),), "approval rejected by bob: not this week"),
        ((), "approval timed out after 24 h"),
        ((("Approval", {"decision": "yes", "by": "eve"}),), "approval not given: the Approval event's decision is unreadable"),
    ],
)
def test_a_rejected_timed_out_or_unreadable_approval_skips_the_run_with_no_put_and_no_record(
    events: tuple[tuple[str, Any], ...], reason: str
) -> None:
    fakes = approval_fakes()

    result = run_with(fakes, events)

    assert result.output["status"] == "skipped" and result.output["reason"].startswith(reason)
    assert "StartClusterUpgrade" not in fakes.names_called() and "RecordValidatedVersion" not in fakes.names_called()
    assert {c["result"] for c in result.output["clusters"]} == {"skipped"}
    assert all(c["reason"].startswith(reason) and c["to"] is None for c in result.output["clusters"])
    [audited] = fakes.payloads("RecordUpgradeHistory")
    assert audited["status"] == "skipped"


def run_with_decisions_while_approval_is_requested(
    fakes: FakeActivities, *decisions: dict[str, Any], events_first: bool = False
) -> OrchestrationRun:
    """Raise ``decisions`` while RequestApproval runs: they reach the run in the batch of its
    completion, one after the other, as answers posted at the same moment do. ``events_first``:
    before the completion, as in Azure, where the run shows awaiting-approval (so the route
    answers 202) from the episode that asks, while the Slack message is still being sent."""
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1"}
    activities = fakes.by_name()

    def request_then_decide(payload: dict[str, Any]) -> dict[str, Any]:
        for decision in decisions:
            driver.raise_event("Approval", decision)
        return fakes.request_approval(payload)

    activities[orchestration.REQUEST_APPROVAL] = request_then_decide
    driver = OrchestrationDriver(
        handle,
        activities,
        instance_id=INSTANCE,
        input=request,
        start_time=START,
        name=runner.ORCHESTRATOR,
        events_before_completions=events_first,
    )
    return driver.run()


def test_a_reject_raised_just_after_an_approval_wins() -> None:
    fakes = approval_fakes()

    result = run_with_decisions_while_approval_is_requested(
        fakes, {"decision": "approve", "by": "alice"}, {"decision": "reject", "by": "bob", "comment": "not this week"}
    )

    assert result.output["status"] == "skipped" and result.output["reason"] == "approval rejected by bob: not this week"
    assert "StartClusterUpgrade" not in fakes.names_called() and "RecordValidatedVersion" not in fakes.names_called()
    [audited] = fakes.payloads("RecordUpgradeHistory")
    assert audited["approval"] == {"decision": "reject", "by": "bob", "comment": "not this week"}


def test_an_approval_raised_just_after_a_reject_changes_nothing() -> None:
    fakes = approval_fakes()

    result = run_with_decisions_while_approval_is_requested(
        fakes, {"decision": "reject", "by": "bob"}, {"decision": "approve", "by": "alice"}
    )

    assert result.output["status"] == "skipped" and result.output["reason"] == "approval rejected by bob"
    assert "StartClusterUpgrade" not in fakes.names_called()


def test_two_approvals_let_the_run_go_ahead_on_the_first() -> None:
    fakes = approval_fakes()

    result = run_with_decisions_while_approval_is_requested(
        fakes, {"decision": "approve", "by": "alice"}, {"decision": "approve", "by": "carol", "comment": "me too"}
    )

    assert result.output["status"] == "succeeded"
    [audited] = fakes.payloads("RecordUpgradeHistory")
    assert audited["approval"] == {"decision": "approve", "by": "alice", "comment": ""}


def test_reading_the_decisions_replays_to_the_same_result_and_actions() -> None:
    fakes = approval_fakes()
    result = run_with_decisions_while_approval_is_requested(
        fakes, {"decision": "approve", "by": "alice"}, {"decision": "reject", "by": "bob"}
    )
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]

    replayed = replay(handle, result.history, json.loads(result.input_json or "null"), result.instance_id)

    assert replayed.is_done and replayed.output == result.output and replayed.actions == result.actions


ALICE = {"decision": "approve", "by": "alice"}
CAROL = {"decision": "approve", "by": "carol", "comment": "me too"}
BOB = {"decision": "reject", "by": "bob", "comment": "not this week"}


def posted(decision: dict[str, Any], request_id: str) -> dict[str, Any]:
    """A decision as the HTTP route raises it: the body plus the id of that one request."""
    return {**decision, "requestId": request_id}


@pytest.mark.parametrize("events_first", [False, True], ids=["events-after-completions", "events-before-completions"])
@pytest.mark.parametrize("decisions", [(BOB, ALICE), (ALICE, BOB)], ids=["reject-then-approve", "approve-then-reject"])
def test_a_reject_posted_while_the_approval_is_requested_wins_in_either_order_of_delivery(
    decisions: tuple[dict[str, Any], ...], events_first: bool
) -> None:
    # GIVEN the run shows awaiting-approval (the route answers 202) while its Slack message is sent,
    # and both decisions reach it then: before the request's completion, as Azure delivers them
    fakes = approval_fakes()

    result = run_with_decisions_while_approval_is_requested(fakes, *decisions, events_first=events_first)

    assert result.output["status"] == "skipped" and result.output["reason"] == "approval rejected by bob: not this week"
    assert "StartClusterUpgrade" not in fakes.names_called() and "RecordValidatedVersion" not in fakes.names_called()


@pytest.mark.parametrize("events_first", [False, True], ids=["events-after-completions", "events-before-completions"])
def test_an_approval_posted_twice_then_a_reject_in_one_batch_still_skips_the_run(events_first: bool) -> None:
    # GIVEN alice double-clicks (two requests, two ids, the same body) and bob rejects just after
    fakes = approval_fakes()
    decisions = (posted(ALICE, "r1"), posted(ALICE, "r2"), posted(BOB, "r3"))

    result = run_with_decisions_while_approval_is_requested(fakes, *decisions, events_first=events_first)

    assert result.output["status"] == "skipped" and result.output["reason"] == "approval rejected by bob: not this week"
    assert "StartClusterUpgrade" not in fakes.names_called()
    [audited] = fakes.payloads("RecordUpgradeHistory")
    assert audited["approval"] == {"decision": "reject", "by": "bob", "comment": "not this week"}


def run_approved_then(
    fakes: FakeActivities,
    late: dict[tuple[str, int], tuple[str, dict[str, Any]]],
    *,
    events_first: bool = False,
    approval: dict[str, Any] | None = None,
) -> OrchestrationRun:
    """Approve a run that waits for its decision, then raise ``late[(activity, n)]`` while the
    n-th call (from 1) of that activity runs: after the run went ahead, as when the route read
    awaiting-approval just before the run took the first decision and raised its event just after."""
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1"}
    activities = fakes.by_name()
    calls: Counter[str] = Counter()

    def hooked(name: str, activity: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def call(payload: Any) -> Any:
            with fakes.lock:
                calls[name] += 1
                event = late.get((name, calls[name]))
            if event is not None:
                driver.raise_event(*event)
            return activity(payload)

        return call

    activities = {name: hooked(name, activity) for name, activity in activities.items()}
    driver = OrchestrationDriver(
        handle,
        activities,
        instance_id=INSTANCE,
        input=request,
        start_time=START,
        name=runner.ORCHESTRATOR,
        events_before_completions=events_first,
        hold_timers=True,  # the approval's timeout must not fire before alice answers
    )
    waiting = driver.run()
    assert (waiting.runtime_status, waiting.custom_status["phase"]) == ("Running", "awaiting-approval")
    driver.raise_event("Approval", approval or posted(ALICE, "r1"))
    result = driver.run()
    while result.runtime_status == "Running" and driver.advance_clock() is not None:
        result = driver.run()
    return result


LATE_REJECT = "approval rejected by bob after the run began: not this week"


@pytest.mark.parametrize("events_first", [False, True], ids=["events-after-completions", "events-before-completions"])
def test_a_reject_that_arrives_after_the_run_went_ahead_stops_it_like_a_stop(events_first: bool) -> None:
    # GIVEN one slot: c1 starts on alice's approval, and bob's reject arrives while it is being PUT
    fakes = approval_fakes("c1", "c2")
    fakes.config["maxParallelUpgrades"] = 1

    result = run_approved_then(fakes, {(orchestration.START_UPGRADE, 1): ("Approval", posted(BOB, "r2"))}, events_first=events_first)

    assert result.output["status"] == "stopped"
    assert result.output["reason"] == f"{LATE_REJECT}; nothing recorded"
    assert outcomes(result) == {
        "c1": ("upgraded", None),  # in flight when rejected: awaited and health checked
        "c2": ("skipped", f"not started: {LATE_REJECT}"),
    }
    assert [p["cluster"]["id"] for p in fakes.payloads("StartClusterUpgrade")] == [cluster_id("c1")]
    assert "RecordValidatedVersion" not in fakes.names_called() and result.output["recordedVersion"] is None


def test_a_late_approval_changes_nothing_and_a_reject_after_it_is_still_heard() -> None:
    fakes = approval_fakes("c1", "c2")
    fakes.config["maxParallelUpgrades"] = 1
    fakes.polls = {"c1": 2}
    late = {
        (orchestration.START_UPGRADE, 1): ("Approval", posted(CAROL, "r2")),
        (orchestration.CHECK_PROGRESS, 1): ("Approval", posted(BOB, "r3")),
    }

    result = run_approved_then(fakes, late)

    assert result.output["status"] == "stopped" and result.output["reason"] == f"{LATE_REJECT}; nothing recorded"
    assert outcomes(result)["c2"] == ("skipped", f"not started: {LATE_REJECT}")
    assert "RecordValidatedVersion" not in fakes.names_called()


def test_a_late_approval_alone_lets_the_run_finish_and_record_on_the_first() -> None:
    fakes = approval_fakes("c1", "c2")
    fakes.config["maxParallelUpgrades"] = 1

    result = run_approved_then(fakes, {(orchestration.START_UPGRADE, 1): ("Approval", posted(CAROL, "r2"))})

    assert result.output["status"] == "succeeded" and result.output["recordedVersion"] == "1.31.2"
    [audited] = fakes.payloads("RecordUpgradeHistory")
    assert audited["approval"] == {"decision": "approve", "by": "alice", "comment": ""}


def test_the_same_decision_delivered_again_is_not_read_as_a_new_one() -> None:
    # GIVEN alice's approval raised twice under one request id (a re-delivery, not a second request)
    fakes = approval_fakes("c1")

    result = run_approved_then(fakes, {(orchestration.START_UPGRADE, 1): ("Approval", posted(ALICE, "r1"))})

    assert result.output["status"] == "succeeded"


def test_a_late_reject_arriving_with_the_last_health_check_keeps_the_record_from_being_written() -> None:
    fakes = approval_fakes("c1")

    result = run_approved_then(fakes, {(orchestration.CHECK_HEALTH, 1): ("Approval", posted(BOB, "r2"))})

    assert result.output["status"] == "stopped" and result.output["reason"] == f"{LATE_REJECT}; nothing recorded"
    assert outcomes(result) == {"c1": ("upgraded", None)}
    assert "RecordValidatedVersion" not in fakes.names_called()


def test_a_late_reject_is_heard_in_an_execution_after_continue_as_new(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orchestration, "ROUNDS_PER_EXECUTION", 2)
    fakes = approval_fakes("c1", "c2")
    fakes.config["maxParallelUpgrades"] = 1
    fakes.polls = {"c1": 8}

    result = run_approved_then(fakes, {(orchestration.CHECK_PROGRESS, 5): ("Approval", posted(BOB, "r2"))})

    assert result.executions > 2
    assert result.output["status"] == "stopped" and result.output["reason"] == f"{LATE_REJECT}; nothing recorded"
    assert outcomes(result) == {"c1": ("upgraded", None), "c2": ("skipped", f"not started: {LATE_REJECT}")}


def test_a_run_that_did_not_wait_for_approval_ignores_an_approval_event() -> None:
    fakes = FakeActivities(("c1", "c2"), maxParallelUpgrades=1)
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1"}
    activities = fakes.by_name()

    def start_with_a_reject(payload: dict[str, Any]) -> dict[str, Any]:
        driver.raise_event("Approval", posted(BOB, "r1"))
        return fakes.start(payload)

    activities[orchestration.START_UPGRADE] = start_with_a_reject
    driver = OrchestrationDriver(handle, activities, instance_id=INSTANCE, input=request, start_time=START, name=runner.ORCHESTRATOR)
    result = driver.run()

    assert result.output["status"] == "succeeded" and result.output["recordedVersion"] == "1.31.2"


def test_a_run_that_heard_a_late_reject_replays_to_the_same_result_and_actions() -> None:
    fakes = approval_fakes("c1", "c2")
    fakes.config["maxParallelUpgrades"] = 1
    late = {
        (orchestration.START_UPGRADE, 1): ("Approval", posted(CAROL, "r2")),
        (orchestration.CHECK_PROGRESS, 1): ("Approval", posted(BOB, "r3")),
    }
    result = run_approved_then(fakes, late)
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]

    replayed = replay(handle, result.history, json.loads(result.input_json or "null"), result.instance_id)

    assert replayed.is_done and replayed.output == result.output and replayed.actions == result.actions


def test_the_approval_timeout_is_a_durable_timer_of_the_configured_hours() -> None:
    fakes = FakeActivities(("c1",), approvalEnvironments=["sandbox"], approvalTimeoutHours=6)

    result = run_with(fakes)

    assert result.output["reason"] == "approval timed out after 6 h"
    assert result.finished - result.started == timedelta(hours=6)


def test_an_environment_not_named_for_approval_does_not_wait() -> None:
    fakes = FakeActivities(("c1",), approvalEnvironments=["dev"])

    result = run_with(fakes)

    assert result.output["status"] == "succeeded" and "RequestApproval" not in fakes.names_called()


def test_a_stop_while_upgrades_run_starts_nothing_more_awaits_the_running_and_records_nothing() -> None:
    # GIVEN three clusters, one slot, and a Stop that arrives while the first one's progress is checked
    fakes = FakeActivities(("c1", "c2", "c3"), maxParallelUpgrades=1)
    fakes.polls = {"c1": 2}
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1"}
    activities = fakes.by_name()

    def check_then_stop(payload: dict[str, Any]) -> dict[str, Any]:
        if not fakes.payloads("CheckUpgradeProgress"):
            driver.raise_event("Stop", {"by": "carol", "reason": "incident INC-42"})
        return fakes.check(payload)

    activities[orchestration.CHECK_PROGRESS] = check_then_stop
    driver = OrchestrationDriver(handle, activities, instance_id=INSTANCE, input=request, start_time=START, name=runner.ORCHESTRATOR)
    result = driver.run()

    assert result.output["status"] == "stopped"
    assert result.output["reason"] == "stopped by carol: incident INC-42; nothing recorded"
    assert outcomes(result) == {
        "c1": ("upgraded", None),  # running when stopped: awaited and health checked
        "c2": ("skipped", "not started: stopped by carol: incident INC-42"),
        "c3": ("skipped", "not started: stopped by carol: incident INC-42"),
    }
    assert [p["cluster"]["id"] for p in fakes.payloads("StartClusterUpgrade")] == [cluster_id("c1")]
    assert "RecordValidatedVersion" not in fakes.names_called()
    assert "RecordUpgradeHistory" in fakes.names_called() and "NotifyRollout" in fakes.names_called()


def test_a_stop_while_waiting_for_approval_stops_the_run() -> None:
    fakes = approval_fakes()

    result = run_with(fakes, (("Stop", {"by": "dave"}),))

    assert result.output["status"] == "stopped" and result.output["reason"] == "stopped by dave; nothing recorded"
    assert "StartClusterUpgrade" not in fakes.names_called()


def test_a_stop_raised_before_the_first_start_starts_nothing() -> None:
    fakes = FakeActivities(("c1", "c2"))

    result = run_with(fakes, (("Stop", {"by": "erin", "reason": "wrong week"}),))

    assert result.output["status"] == "stopped"
    assert "StartClusterUpgrade" not in fakes.names_called()
    assert {c["result"] for c in result.output["clusters"]} == {"skipped"}


def test_a_stop_that_arrives_with_the_last_health_check_still_keeps_the_record_from_being_written() -> None:
    fakes = FakeActivities(("c1",))
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1"}
    activities = fakes.by_name()

    def check_health_then_stop(payload: dict[str, Any]) -> dict[str, Any]:
        driver.raise_event("Stop", {"by": "carol", "reason": "too late?"})
        return fakes.check_health(payload)

    activities[orchestration.CHECK_HEALTH] = check_health_then_stop
    driver = OrchestrationDriver(handle, activities, instance_id=INSTANCE, input=request, start_time=START, name=runner.ORCHESTRATOR)
    result = driver.run()

    assert result.output["status"] == "stopped" and result.output["recordedVersion"] is None
    assert outcomes(result) == {"c1": ("upgraded", None)}
    assert "RecordValidatedVersion" not in fakes.names_called()


def test_the_awaiting_approval_status_stays_small_for_a_large_environment_and_ends_with_the_decision() -> None:
    import json as json_mod

    names = tuple(f"aks-prod-westeurope-{n:03d}" for n in range(250))
    fakes = FakeActivities(names, approvalEnvironments=["sandbox"], maxParallelUpgrades=50, healthSettleMinutes=0)
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1"}
    activities = fakes.by_name()
    seen_at_first_start: list[Any] = []

    def start(payload: dict[str, Any]) -> dict[str, Any]:
        if not seen_at_first_start:
            seen_at_first_start.append(driver.result().custom_status)  # what a status request would show now
        return fakes.start(payload)

    activities[orchestration.START_UPGRADE] = start
    driver = OrchestrationDriver(handle, activities, instance_id=INSTANCE, input=request, start_time=START, name=runner.ORCHESTRATOR)
    driver.raise_event("Approval", {"decision": "approve", "by": "alice"})
    result = driver.run()

    [waiting] = [s for s in result.custom_statuses if s.get("phase") == "awaiting-approval"]
    assert len(json_mod.dumps(waiting).encode("utf-16-le")) < 16 * 1024  # Durable Functions' limit
    assert waiting["plan"]["toUpgrade"] == 250 and len(waiting["plan"]["clusters"]) == 25 and waiting["plan"]["more"] == 225
    # Once decided, the status no longer says awaiting-approval: a later decision is answered 409.
    assert seen_at_first_start[0]["phase"] != "awaiting-approval"
    assert result.output["status"] == "succeeded"


def test_a_health_check_that_cannot_be_read_waits_a_poll_before_the_next_try() -> None:
    fakes = FakeActivities(("c1",), healthSettleMinutes=0)
    answers = iter([{"state": "unknown", "reason": "TooManyRequests"}, {"state": "healthy", "reason": None}])

    def flaky(payload: dict[str, Any]) -> dict[str, Any]:
        fakes._called(orchestration.CHECK_HEALTH, payload)
        return {"clusters": [{"id": c["id"], **next(answers)} for c in payload["clusters"]]}

    activities = fakes.by_name()
    activities[orchestration.CHECK_HEALTH] = flaky
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1"}
    result = run_orchestration(handle, activities, INSTANCE, request, START, name=runner.ORCHESTRATOR)

    first, second = fakes.payloads("CheckClusterHealth")
    assert datetime.fromisoformat(second["clock"]) - datetime.fromisoformat(first["clock"]) == timedelta(seconds=60)
    assert outcomes(result) == {"c1": ("upgraded", None)}


def test_refused_settings_are_announced_like_any_other_end() -> None:
    fakes = FakeActivities(("c1",))
    activities = fakes.by_name()

    def bad_settings(payload: Any) -> Any:
        raise RuntimeError("invalid settings (1): HEALTH_CHECK: must be one of ['arm', 'arm+alerts']")

    activities[orchestration.LOAD_SETTINGS] = bad_settings
    handle = runner.registry().orchestrators[runner.ORCHESTRATOR]
    request = {"environment": None, "date": DAY, "dryRun": False, "force": False, "runId": "run-1"}
    result = run_orchestration(handle, activities, INSTANCE, request, START, name=runner.ORCHESTRATOR)

    assert result.output["status"] == "failed" and result.output["reason"].startswith("refused: ")
    [notified] = fakes.payloads("NotifyRollout")
    assert notified["status"] == "failed"


class AlreadyCurrent(FakeActivities):
    """A lead whose clusters already run the target when planned (e.g. the re-run after a failed
    health check), its own record ``current_record``."""

    def __init__(self, current_record: str | None) -> None:
        super().__init__(("c1", "c2"))
        self.current_record = current_record

    def plan_lead(self, payload: dict[str, Any]) -> dict[str, Any]:
        plan = super().plan_lead(payload)
        plan["clusters"] = [{**c, "from": "1.31.2", "to": "1.31.2", "action": "already-current"} for c in plan["clusters"]]
        return {**plan, "currentRecord": self.current_record}


def test_a_rerun_checks_the_clusters_already_at_an_unrecorded_version_and_an_unhealthy_one_blocks_the_record() -> None:
    fakes = AlreadyCurrent(current_record="1.30.5")
    fakes.unhealthy = {"c2": "HealthCheck: Sev1 alert 'api-5xx' fired at 2026-11-30T09:03:00+00:00, after the upgrade started"}

    result = run(fakes)

    assert outcomes(result) == {"c1": ("already-current", None), "c2": ("failed", fakes.unhealthy["c2"])}
    assert result.output["status"] == "failed" and result.output["recordedVersion"] is None
    assert orchestration.START_UPGRADE not in fakes.names_called()  # nothing to PUT
    assert orchestration.RECORD_VERSION not in fakes.names_called()
    checked = [c["id"].rsplit("/", 1)[-1] for p in fakes.payloads(orchestration.CHECK_HEALTH) for c in p["clusters"]]
    assert sorted(checked) == ["c1", "c2"]


def test_a_rerun_whose_clusters_at_the_target_are_healthy_records_it() -> None:
    fakes = AlreadyCurrent(current_record=None)

    result = run(fakes)

    assert result.output["status"] == "succeeded" and result.output["recordedVersion"] == "1.31.2"
    assert outcomes(result) == {"c1": ("already-current", None), "c2": ("already-current", None)}
    assert len(fakes.payloads(orchestration.CHECK_HEALTH)) == 1


def test_a_quiet_week_on_the_recorded_version_checks_no_health() -> None:
    fakes = AlreadyCurrent(current_record="1.31.2")

    result = run(fakes)

    assert result.output["status"] == "succeeded"
    assert orchestration.CHECK_HEALTH not in fakes.names_called()
