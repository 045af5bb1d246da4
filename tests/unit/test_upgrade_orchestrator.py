"""The UpgradeOrchestrator itself, with fake activities, through the in-process durable driver.

The real generator is replayed by the durable SDK exactly as in Azure; only the activities are
fakes that speak the JSON the real ones speak. No ARM, no Azurite: every test runs in well under
a second and pins one piece of the orchestration (order of activities, parallelism, backoff,
deadline, continue-as-new, what happens when an activity's retries run out).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ops import runner
from ops.durable.driver import OrchestrationRun, run_orchestration
from shared import orchestration
from shared.domain import upgrade_loop

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
        ({"state": "already-current"}, ("already-current", None)),
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


def test_a_start_whose_outcome_is_unknown_is_watched_not_sent_again() -> None:
    fakes = FakeActivities(("c1",))
    fakes.start_error = ConnectionError("connection reset\nwhile reading the answer")

    result = run(fakes)

    assert outcomes(result) == {"c1": ("upgraded", "start outcome unknown: connection reset")}
    [checked] = fakes.payloads("CheckUpgradeProgress")
    unknown = "start outcome unknown: connection reset"
    assert checked["clusters"] == [{"id": cluster_id("c1"), "to": "1.31.2", "operationUrl": None, "reason": unknown}]


def test_upgrades_unfinished_at_the_deadline_fail_with_a_timeout() -> None:
    fakes = FakeActivities(("c1", "c2", "c3"), upgradeTimeoutMinutes=3, maxParallelUpgrades=2)
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
