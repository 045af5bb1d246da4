"""The promotion gates' pure parts: reading a decision or a stop, the health verdict, the exit code."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ops.cli import exit_code
from shared import settings as settings_mod
from shared.domain import approvals, health, stops
from shared.domain.clusters import ClusterSnapshot, NodePool
from shared.errors import ConfigError

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CLUSTER_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"


# -- approvals -------------------------------------------------------------------------------------------
def test_a_decision_is_read_with_who_and_why() -> None:
    decision = approvals.read_decision({"decision": "approve", "by": " alice ", "comment": " CAB-7 "})
    assert decision == approvals.Decision("approve", "alice", "CAB-7") and decision.approved
    assert approvals.refusal(decision, 24) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"decision": "approve", "by": "a", "extra": 1}, "body"),
        ({"decision": "yes", "by": "a"}, "decision"),
        ({"decision": True, "by": "a"}, "decision"),
        ({"decision": "approve"}, "by"),
        ({"decision": "approve", "by": "   "}, "by"),
        ({"decision": "approve", "by": "x" * 201}, "by"),
        ({"decision": "approve", "by": "a\nb"}, "by"),  # a control character
        ({"decision": "approve", "by": "a", "comment": 5}, "comment"),
        ({"decision": "approve", "by": "a", "comment": "c" * 1001}, "comment"),
    ],
)
def test_a_decision_that_cannot_be_read_names_the_field(body: Any, field: str) -> None:
    with pytest.raises(approvals.BadDecisionError) as error:
        approvals.read_decision(body)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("decision", "reason"),
    [
        (approvals.Decision("reject", "bob", "not this week"), "approval rejected by bob: not this week"),
        (approvals.Decision("reject", "bob"), "approval rejected by bob"),
        (None, "approval timed out after 24 h"),
    ],
)
def test_every_refusal_reason_starts_with_approval(decision: approvals.Decision | None, reason: str) -> None:
    assert approvals.refusal(decision, 24) == reason


# -- stops -----------------------------------------------------------------------------------------------
ALICE_APPROVES = {"decision": "approve", "by": "alice", "comment": "CAB-7"}
CAROL_APPROVES = {"decision": "approve", "by": "carol"}
BOB_REJECTS = {"decision": "reject", "by": "bob", "comment": "freeze"}
NO_DECISION = {"decision": "yes", "by": "eve"}


@pytest.mark.parametrize(
    ("payloads", "decided_by", "refusal"),
    [
        ([ALICE_APPROVES], "alice", None),
        ([ALICE_APPROVES, CAROL_APPROVES], "alice", None),  # approvals only: the first stands
        ([ALICE_APPROVES, BOB_REJECTS], "bob", "approval rejected by bob: freeze"),  # a later reject overturns
        ([BOB_REJECTS, ALICE_APPROVES], "bob", "approval rejected by bob: freeze"),  # an approve after a reject changes nothing
        ([ALICE_APPROVES, CAROL_APPROVES, BOB_REJECTS], "bob", "approval rejected by bob: freeze"),
    ],
)
def test_of_several_decisions_any_reject_wins_and_otherwise_the_first_approval(
    payloads: list[Any], decided_by: str, refusal: str | None
) -> None:
    verdict = approvals.settle(payloads)

    assert verdict.decision is not None and verdict.decision.by == decided_by
    assert verdict.refusal == refusal


def test_a_payload_that_is_no_decision_refuses_even_after_an_approval() -> None:
    verdict = approvals.settle([ALICE_APPROVES, NO_DECISION])

    assert verdict.decision is None
    assert verdict.refusal is not None and verdict.refusal.startswith("approval not given: the Approval event's decision is unreadable")


@pytest.mark.parametrize(
    ("payloads", "more"),
    [
        ([ALICE_APPROVES], True),
        ([ALICE_APPROVES, CAROL_APPROVES], True),
        ([BOB_REJECTS], False),  # final
        ([ALICE_APPROVES, BOB_REJECTS], False),
        ([NO_DECISION], False),
        ([ALICE_APPROVES, dict(ALICE_APPROVES)], False),  # a repeat: what the SDK hands every later wait
        ([ALICE_APPROVES, CAROL_APPROVES, ALICE_APPROVES], True),  # not a repeat of the one just read
    ],
)
def test_a_run_reads_more_decisions_until_one_is_final_or_repeats_the_last(payloads: list[Any], more: bool) -> None:
    assert approvals.read_more(payloads) is more


def test_settling_needs_the_decision_that_ended_the_wait() -> None:
    with pytest.raises(ValueError, match="settle needs"):
        approvals.settle([])


def with_id(payload: dict[str, Any], request_id: str) -> dict[str, Any]:
    return {**payload, "requestId": request_id}


def test_an_event_carries_the_id_of_the_request_that_raised_it_and_a_body_cannot() -> None:
    payload = approvals.event_payload(approvals.Decision("approve", "alice", "CAB-7"), "r1")

    assert payload == with_id(ALICE_APPROVES, "r1")
    assert approvals.read_event(payload) == approvals.Decision("approve", "alice", "CAB-7")
    assert approvals.request_id_of(payload) == "r1" and approvals.request_id_of(ALICE_APPROVES) is None
    with pytest.raises(approvals.BadDecisionError) as error:
        approvals.read_decision(payload)  # an HTTP body naming an id of its choice
    assert error.value.field == "body"


@pytest.mark.parametrize("request_id", [5, "", "x" * 101, "a\nb"])
def test_an_event_whose_request_id_is_not_one_is_no_decision(request_id: Any) -> None:
    verdict = approvals.settle([with_id(ALICE_APPROVES, request_id)])

    assert verdict.decision is None
    assert verdict.refusal is not None and verdict.refusal.startswith("approval not given: the Approval event's requestId is unreadable")


@pytest.mark.parametrize(
    ("payloads", "more"),
    [
        # a double click: the same body under two requests is a second decision, read on
        ([with_id(ALICE_APPROVES, "r1"), with_id(ALICE_APPROVES, "r2")], True),
        # the SDK handing the one buffered event over again: the same request
        ([with_id(ALICE_APPROVES, "r1"), with_id(ALICE_APPROVES, "r1")], False),
        ([with_id(ALICE_APPROVES, "r1"), with_id(CAROL_APPROVES, "r2"), with_id(ALICE_APPROVES, "r1")], False),
        # raised by hand, without ids: equal to the one just read is a repeat, as before ids
        ([ALICE_APPROVES, with_id(ALICE_APPROVES, "r1")], True),
        ([with_id(ALICE_APPROVES, "r1"), ALICE_APPROVES], True),
    ],
)
def test_with_request_ids_a_repeat_is_the_same_request_not_the_same_body(payloads: list[Any], more: bool) -> None:
    assert approvals.read_more(payloads) is more


def test_an_approval_twice_then_a_reject_is_read_to_the_reject() -> None:
    payloads = [with_id(ALICE_APPROVES, "r1"), with_id(ALICE_APPROVES, "r2"), with_id(BOB_REJECTS, "r3")]

    assert all(approvals.read_more(payloads[:n]) for n in (1, 2))
    assert approvals.settle(payloads).refusal == "approval rejected by bob: freeze"


@pytest.mark.parametrize(
    ("payload", "refusal"),
    [
        (with_id(BOB_REJECTS, "r2"), "approval rejected by bob after the run began: freeze"),
        ({"decision": "reject", "by": "bob"}, "approval rejected by bob after the run began"),
        (with_id(CAROL_APPROVES, "r2"), None),  # a further approval changes nothing
    ],
)
def test_a_decision_after_the_run_began_stops_it_only_when_it_rejects(payload: Any, refusal: str | None) -> None:
    assert approvals.late_refusal(payload) == refusal


def test_an_unreadable_approval_after_the_run_began_stops_it_too() -> None:
    refusal = approvals.late_refusal(NO_DECISION)

    assert refusal is not None and refusal.startswith("approval not given after the run began: the Approval event's decision is unreadable")


def test_a_stop_names_who_and_why() -> None:
    assert stops.read_stop({"by": "carol", "reason": "incident"}).describe == "stopped by carol: incident"
    assert stops.read_stop({"by": "carol"}).describe == "stopped by carol"


def test_an_unreadable_stop_payload_still_stops() -> None:
    assert stops.describe_payload({"who": "x"}).startswith("stopped (the Stop event named no readable 'by'")
    with pytest.raises(stops.BadStopError) as error:
        stops.read_stop({"by": "carol", "reason": 42})
    assert error.value.field == "reason"


# -- health ----------------------------------------------------------------------------------------------
def cluster(**changes: Any) -> ClusterSnapshot:
    base = ClusterSnapshot(
        id=CLUSTER_ID,
        name="aks1",
        subscription_id="s",
        subscription_name="sub",
        resource_group="rg",
        location="westeurope",
        control_plane_version="1.31.2",
        provisioning_state="Succeeded",
        power_state="Running",
        node_pools=(NodePool("system", "1.31.2", "1.31.2"), NodePool("user", "1.31.2", "1.31.2")),
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("snapshot", "problem"),
    [
        (cluster(), None),
        (cluster(provisioning_state="Failed"), "HealthCheck: provisioningState is Failed after the upgrade, not Succeeded"),
        (cluster(power_state="Stopped"), "HealthCheck: powerState is Stopped after the upgrade, not Running"),
        (cluster(control_plane_version="1.31.1"), "HealthCheck: the control plane runs 1.31.1, not the target 1.31.2"),
        (
            cluster(node_pools=(NodePool("system", "1.31.2", "1.31.2"), NodePool("user", "1.30.5", "1.31.2"))),
            "HealthCheck: node pool user runs 1.30.5, not the target 1.31.2 (the operation ended Succeeded all the same)",
        ),
    ],
)
def test_the_health_check_wants_the_whole_cluster_running_the_target(snapshot: ClusterSnapshot, problem: str | None) -> None:
    assert health.cluster_problem(snapshot, "1.31.2") == problem


def alert(severity: str, minutes: int, target: str = CLUSTER_ID, name: str = "a") -> health.FiredAlert:
    return health.FiredAlert(name, severity, T0 + timedelta(minutes=minutes), target)


@pytest.mark.parametrize(
    ("alerts", "blocks"),
    [
        ([alert("Sev1", 5)], True),
        ([alert("Sev0", 0)], True),  # exactly when the upgrade started counts
        ([alert("Sev2", 5), alert("Sev3", 5), alert("Sev4", 5)], False),
        ([alert("Sev0", -1)], False),  # before the upgrade started
        ([alert("Sev1", 5, target=CLUSTER_ID + "/agentPools/user")], True),  # under the cluster
        ([alert("Sev1", 5, target=CLUSTER_ID + "-other")], False),  # another cluster whose name starts alike
        ([alert("sev1", 5, target=CLUSTER_ID.upper())], True),  # ids and severities in any case
    ],
)
def test_only_sev0_and_sev1_alerts_on_the_cluster_since_its_upgrade_started_block_it(alerts: list[health.FiredAlert], blocks: bool) -> None:
    problem = health.alert_problem(alerts, CLUSTER_ID, T0)
    assert (problem is not None) is blocks
    if problem is not None:
        assert problem.startswith("HealthCheck: ")


# -- settings --------------------------------------------------------------------------------------------
def test_the_gate_settings_have_their_defaults() -> None:
    settings = settings_mod.load({})
    assert (settings.approval_environments, settings.approval_timeout_hours, settings.health_check, settings.health_settle_minutes) == (
        (),
        24,
        "arm",
        10,
    )


def test_gate_settings_are_read_and_checked_together() -> None:
    settings = settings_mod.load({"APPROVAL_ENVIRONMENTS": "test, prod", "HEALTH_CHECK": "arm+alerts", "HEALTH_SETTLE_MINUTES": "0"})
    assert settings.approval_environments == ("test", "prod") and settings.health_check == "arm+alerts"
    with pytest.raises(ConfigError) as error:
        settings_mod.load(
            {
                "APPROVAL_ENVIRONMENTS": "prod,staging",
                "APPROVAL_TIMEOUT_HOURS": "200",
                "HEALTH_CHECK": "alerts",
                "HEALTH_SETTLE_MINUTES": "1_0",
            }
        )
    assert set(error.value.problems) == {"APPROVAL_ENVIRONMENTS", "APPROVAL_TIMEOUT_HOURS", "HEALTH_CHECK", "HEALTH_SETTLE_MINUTES"}
    assert "staging" in error.value.problems["APPROVAL_ENVIRONMENTS"]


@pytest.mark.parametrize(("status", "code"), [("succeeded", 0), ("skipped", 0), ("planned", 0), ("failed", 1), ("stopped", 1)])
def test_a_stopped_run_exits_1_like_a_failed_one(status: str, code: int) -> None:
    assert exit_code(status) == code


def test_the_approval_message_shows_the_plan_and_where_to_answer_escaped_for_slack() -> None:
    from shared import notification_text
    from shared.activity_messages import ApprovalNotice
    from shared.domain.planning import ClusterPlan, EnvironmentPlan

    plan = EnvironmentPlan(
        "prod",
        "follower",
        "ready",
        None,
        "1.31.2",
        (ClusterPlan("id1", "aks<prod>", "s", "rg", "l", "1.30.5", "1.31.2", "upgrade"),),
    )
    text, blocks = notification_text.render_approval_request(
        ApprovalNotice(plan, "2026-12-03", "aks-upgrade-prod-2026-12-03", 24), "https://app.example/api/upgrades/prod/2026-12-03/approval"
    )

    assert "awaiting approval (target 1.31.2)" in text and "within 24 h" in text
    assert "aks&lt;prod&gt;: 1.30.5 → 1.31.2" in text
    assert "https://app.example/api/upgrades/prod/2026-12-03/approval" in text
    assert blocks[0]["text"]["text"] == text
