"""Promotion gates through the real app: the health gate after every upgrade (the cluster's own
state, and with HEALTH_CHECK=arm+alerts its Sev0/Sev1 alerts), the approval gate before an
environment's first PUT, and a person's stop. ARM emulator (as strict as AKS), Azurite, the
orchestrator through the durable SDK's replay, and the real command line.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from ops import runner
from ops.durable import history as h
from ops.emulator import FaultRule, sample_fleet
from shared import runtime
from shared.domain import approvals
from tests.e2e.conftest import FAST_ARM, MON, Conductor, by_name, schedule_start

NEWEST_GA = "1.31.2"
APPROVE_SANDBOX = {"APPROVAL_ENVIRONMENTS": "sandbox"}


def accepted_puts(conductor: Conductor) -> Counter[str]:
    return Counter(r.path.rsplit("/", 1)[-1] for r in conductor.puts() if r.status is not None and 200 <= r.status < 300)


# -- health gate ----------------------------------------------------------------------------------------
def test_an_operation_that_succeeds_while_a_pool_stays_behind_fails_the_health_check(conductor: Conductor) -> None:
    # GIVEN AKS ends weu-1's operation Succeeded although pool user1 never moved (a drain timeout)
    conductor.arm.add_fault(FaultRule(kind="outcome", cluster="aks-sandbox-weu-1", outcome="Succeeded", pools_behind=("user1",)))

    result = conductor.run(MON)

    cluster = by_name(result)["aks-sandbox-weu-1"]
    assert cluster["result"] == "failed"
    assert cluster["reason"].startswith("HealthCheck: node pool user1 runs 1.30.4, not the target 1.31.2")
    assert by_name(result)["aks-sandbox-weu-2"]["result"] == "upgraded"
    assert result["status"] == "failed" and result["recordedVersion"] is None
    assert conductor.record("sandbox") is None


def test_the_health_check_runs_after_the_settle_time(conductor: Conductor) -> None:
    outcome = conductor.execute(MON, HEALTH_SETTLE_MINUTES="30")

    assert outcome.result["status"] == "succeeded"
    [health] = [payload for name, payload in outcome.run.activity_calls if name == "CheckClusterHealth"][:1]
    ran_at = datetime.fromisoformat(health["clusters"][0]["checkAt"])
    assert ran_at - schedule_start(MON) >= timedelta(minutes=30)
    # the record is written only once every cluster passed: after the settle time
    record = conductor.record("sandbox")
    assert record is not None and record.validated_at >= ran_at


def test_a_sev1_alert_after_the_upgrade_started_fails_the_cluster_with_alerts_checked(conductor: Conductor) -> None:
    start = schedule_start(MON)
    conductor.arm.add_alert("aks-sandbox-weu-2", severity="Sev1", fired_at=start + timedelta(minutes=3), name="api-server-5xx")
    conductor.arm.add_alert("aks-sandbox-weu-1", severity="Sev3", fired_at=start + timedelta(minutes=3), name="noisy-but-minor")
    conductor.arm.add_alert("aks-sandbox-weu-1", severity="Sev0", fired_at=start - timedelta(hours=2), name="before-the-upgrade")

    result = conductor.run(MON, HEALTH_CHECK="arm+alerts")

    clusters = by_name(result)
    assert clusters["aks-sandbox-weu-1"]["result"] == "upgraded"  # a Sev3, and a Sev0 from before the upgrade, do not count
    assert clusters["aks-sandbox-weu-2"]["result"] == "failed"
    assert clusters["aks-sandbox-weu-2"]["reason"].startswith("HealthCheck: Sev1 alert 'api-server-5xx' fired at")
    assert result["status"] == "failed" and conductor.record("sandbox") is None
    alert_reads = [r for r in conductor.arm.requests if r.path.lower().endswith("/microsoft.alertsmanagement/alerts")]
    assert len(alert_reads) == 2 and all("targetresource" in r.query and "customtimerange" in r.query for r in alert_reads)


def test_a_rerun_after_a_failed_health_check_checks_the_clusters_again_and_records_nothing_while_one_is_unhealthy(
    conductor: Conductor,
) -> None:
    # GIVEN Monday's run failed weu-2's health check on a Sev1 alert: both clusters now run 1.31.2
    # (30 s after the start: both runs start at the schedule's time on the simulated clock)
    conductor.arm.add_alert("aks-sandbox-weu-2", severity="Sev1", fired_at=schedule_start(MON) + timedelta(seconds=30), name="api-5xx")
    first = conductor.run(MON, HEALTH_CHECK="arm+alerts")
    assert first["status"] == "failed" and conductor.record("sandbox") is None
    puts_before = accepted_puts(conductor)

    # WHEN the day is run again: both clusters are already at the target
    again = conductor.run(MON, HEALTH_CHECK="arm+alerts")

    # THEN they are checked before they count: the alert (within this run's window) still blocks
    clusters = by_name(again)
    assert clusters["aks-sandbox-weu-1"]["result"] == "already-current"
    assert clusters["aks-sandbox-weu-2"]["result"] == "failed" and clusters["aks-sandbox-weu-2"]["reason"].startswith("HealthCheck: Sev1")
    assert again["status"] == "failed" and conductor.record("sandbox") is None
    assert accepted_puts(conductor) == puts_before  # no PUT: nothing to upgrade


def test_the_next_scheduled_run_does_not_promote_what_a_health_check_refused_within_the_soak(conductor: Conductor) -> None:
    # GIVEN Monday's run failed weu-2's health check on a Sev1 alert
    conductor.arm.add_alert("aks-sandbox-weu-2", severity="Sev1", fired_at=schedule_start(MON) + timedelta(seconds=30), name="api-5xx")
    assert conductor.run(MON, HEALTH_CHECK="arm+alerts")["status"] == "failed"

    # WHEN the next Monday's run finds both clusters at the target, with a soak longer than the week
    # between: the alert fired inside the soak before this run started
    week_later = MON + timedelta(days=7)
    again = conductor.run(week_later, HEALTH_CHECK="arm+alerts", MIN_SOAK_HOURS="200")

    # THEN weu-2 fails its check again and nothing is recorded
    assert by_name(again)["aks-sandbox-weu-2"]["reason"].startswith("HealthCheck: Sev1")
    assert again["status"] == "failed" and conductor.record("sandbox") is None

    # AND with the default soak (20 h) the week-old alert is behind the window: the version is promoted
    recovered = conductor.run(week_later + timedelta(days=7), HEALTH_CHECK="arm+alerts")
    assert recovered["status"] == "succeeded" and (record := conductor.record("sandbox")) is not None
    assert record.version == by_name(recovered)["aks-sandbox-weu-2"]["to"]


def test_a_cluster_someone_else_upgraded_and_left_busy_is_not_counted_as_current(conductor: Conductor) -> None:
    # GIVEN weu-2 reaches the target by someone else's hand between planning and its PUT, and is
    # then busy with something else (a scale operation)
    conductor.arm.add_fault(
        FaultRule(
            kind="state",
            method="GET",
            path=r"/kubernetesVersions$",  # after planning read the cluster, before the GET that precedes its PUT
            target="aks-sandbox-weu-2",
            changes={"provisioningState": "Updating", "kubernetesVersion": NEWEST_GA},
            times=1,
        )
    )

    result = conductor.run(MON)

    cluster = by_name(result)["aks-sandbox-weu-2"]
    assert cluster["result"] == "skipped" and "provisioningState is Updating" in cluster["reason"]
    record = conductor.record("sandbox")
    assert record is not None and not [c for c in record.clusters if c.endswith("aks-sandbox-weu-2")]


def test_without_alerts_in_the_health_check_alerts_are_not_read(conductor: Conductor) -> None:
    conductor.arm.add_alert("aks-sandbox-weu-2", severity="Sev0", fired_at=schedule_start(MON) + timedelta(minutes=3))

    result = conductor.run(MON)

    assert result["status"] == "succeeded"
    assert not [r for r in conductor.arm.requests if "alertsmanagement" in r.path.lower()]


# -- approval gate --------------------------------------------------------------------------------------
def test_ops_run_approve_lets_the_run_go_ahead_and_the_history_keeps_who_decided(conductor: Conductor) -> None:
    process = conductor.cli(
        "run", "--date", MON.isoformat(), "--json", "--approve", "--by", "alice", "--comment", "CAB-7", **APPROVE_SANDBOX
    )

    assert process.returncode == 0, process.stderr
    result = conductor.last_json(process)
    assert result["status"] == "succeeded" and result["recordedVersion"] == NEWEST_GA
    rows = conductor.history.list("sandbox")
    assert {(r.decided_by, r.decision, r.decision_comment) for r in rows} == {("alice", "approve", "CAB-7")}


def test_ops_run_gives_its_decision_while_the_run_asks_and_under_a_request_id_as_the_route_does(conductor: Conductor) -> None:
    # Raised before the run waits, the decision would be buffered by the durable SDK and handed to
    # every later wait, and the run could hear no later decision.
    settings = conductor.settings(**APPROVE_SANDBOX)
    services = runtime.build(settings, arm_client_options=FAST_ARM)

    outcome = runner.execute(settings, MON, services=services, approval=approvals.Decision("approve", "alice", "CAB-7"))

    assert outcome.result["status"] == "succeeded" and outcome.run.executions == 1
    events = outcome.run.history
    asked = next(i for i, e in enumerate(events) if e["EventType"] == h.TASK_SCHEDULED and e["Name"] == "RequestApproval")
    [raised] = [(i, e) for i, e in enumerate(events) if e["EventType"] == h.EVENT_RAISED and e["Name"] == approvals.EVENT]
    assert raised[0] > asked
    payload = json.loads(raised[1]["Input"])
    assert approvals.read_event(payload) == approvals.Decision("approve", "alice", "CAB-7")
    assert re.fullmatch(r"[0-9a-f]{32}", payload["requestId"])


def test_ops_run_reject_skips_the_run_with_no_put_and_no_record(conductor: Conductor) -> None:
    process = conductor.cli("run", "--date", MON.isoformat(), "--json", "--reject", "--by", "bob", "--comment", "freeze", **APPROVE_SANDBOX)

    assert process.returncode == 0, process.stderr
    result = conductor.last_json(process)
    assert (result["status"], result["reason"]) == ("skipped", "approval rejected by bob: freeze")
    assert {c["result"] for c in result["clusters"]} == {"skipped"}
    assert conductor.puts() == [] and conductor.record("sandbox") is None
    assert {(r.decided_by, r.decision) for r in conductor.history.list("sandbox")} == {("bob", "reject")}


def test_ops_run_without_a_decision_times_out_at_once(conductor: Conductor) -> None:
    process = conductor.cli("run", "--date", MON.isoformat(), "--json", APPROVAL_TIMEOUT_HOURS="12", **APPROVE_SANDBOX)

    result = conductor.last_json(process)
    assert (result["status"], result["reason"]) == ("skipped", "approval timed out after 12 h")
    assert conductor.puts() == []


def test_a_decision_flag_without_an_approval_environment_changes_nothing(conductor: Conductor) -> None:
    result = conductor.last_json(conductor.cli("run", "--date", MON.isoformat(), "--json", "--reject", "--by", "bob"))

    assert result["status"] == "succeeded"  # sandbox is not in APPROVAL_ENVIRONMENTS: nothing waited


def test_decision_flags_are_checked_like_an_http_body(conductor: Conductor) -> None:
    both = conductor.cli("run", "--date", MON.isoformat(), "--approve", "--reject")
    by_alone = conductor.cli("run", "--date", MON.isoformat(), "--by", "alice")

    assert both.returncode == 2 and by_alone.returncode == 2
    assert "--by and --comment go with --approve or --reject" in by_alone.stderr
    assert conductor.arm.requests == []


def test_an_unknown_approval_environment_is_a_bad_setting(conductor: Conductor) -> None:
    process = conductor.cli("run", "--date", MON.isoformat(), APPROVAL_ENVIRONMENTS="sandbox,staging")

    assert process.returncode == 2 and "APPROVAL_ENVIRONMENTS" in process.stderr and "staging" in process.stderr
    assert conductor.arm.requests == []


def test_a_stop_while_approval_is_awaited_ends_the_run_stopped_with_no_put(conductor: Conductor) -> None:
    # A stop while waiting for approval, delivered as the HTTP route delivers it (the Stop event).
    from ops import runner
    from ops.durable import driver as driver_mod
    from shared import orchestration, runtime

    settings = conductor.settings(**APPROVE_SANDBOX)
    runtime.install(runtime.build(settings))
    reg = runner.registry()
    request = orchestration.RunRequest(None, MON.isoformat(), run_id="stop-test").to_input()
    run = driver_mod.run_orchestration(
        reg.orchestrators[runner.ORCHESTRATOR],
        reg.activities,
        orchestration.instance_id_for("sandbox", MON.isoformat()),
        request,
        runner.start_clock(settings, MON),
        name=runner.ORCHESTRATOR,
        events=[("Stop", {"by": "carol", "reason": "incident"})],
    )

    assert run.output["status"] == "stopped" and run.output["reason"] == "stopped by carol: incident; nothing recorded"
    assert conductor.puts() == [] and conductor.record("sandbox") is None


# -- pre-flight findings ---------------------------------------------------------------------------------
SUNDAY_WINDOW = {
    "name": "aksManagedAutoUpgradeSchedule",
    "properties": {
        "maintenanceWindow": {
            "schedule": {"weekly": {"intervalWeeks": 1, "dayOfWeek": "Sunday"}},
            "durationHours": 4,
            "utcOffset": "+00:00",
            "startTime": "00:00",
        }
    },
}


def findings_fleet(conductor: Conductor) -> None:
    fleet = sample_fleet()
    changed = []
    for c in fleet.clusters:
        if c.name == "aks-sandbox-weu-1":
            c = replace(c, maintenance_configurations=(SUNDAY_WINDOW,))
        if c.name == "aks-sandbox-weu-2":
            c = replace(c, auto_upgrade_channel="stable")
        changed.append(c)
    conductor.arm.reset(replace(fleet, clusters=tuple(changed)))


def test_ops_plan_lists_findings_per_cluster_and_the_run_carries_them(conductor: Conductor) -> None:
    findings_fleet(conductor)
    conductor.arm.set_cluster_state("aks-sandbox-weu-1", agentPools={"user1": "1.29.9"})

    plan = conductor.last_json(conductor.cli("plan", "--date", MON.isoformat(), "--json"))
    result = conductor.run(MON)

    planned = {c["name"]: c for c in plan["clusters"]}
    lag = "node pools lag the control plane (1.30.4): user1 at 1.29.9"
    assert lag in planned["aks-sandbox-weu-1"]["findings"]
    assert any(
        f.startswith("planned maintenance 'aksManagedAutoUpgradeSchedule': its window (weekly on Sunday")
        for f in planned["aks-sandbox-weu-1"]["findings"]
    )
    channel = planned["aks-sandbox-weu-2"]
    assert channel["action"] == "skipped" and "auto-upgrade channel is 'stable'" in channel["reason"]
    # the run carries the findings it saw itself (maintenance is read by ops plan only) as reasons
    clusters = by_name(result)
    assert clusters["aks-sandbox-weu-1"]["result"] == "upgraded" and clusters["aks-sandbox-weu-1"]["reason"] == lag
    assert clusters["aks-sandbox-weu-2"]["result"] == "skipped" and "auto-upgrade channel" in clusters["aks-sandbox-weu-2"]["reason"]
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-1": 1})
    maintenance_reads = [r for r in conductor.arm.requests if r.path.lower().endswith("/maintenanceconfigurations")]
    assert len(maintenance_reads) == 1  # ops plan read it for the one cluster it would upgrade; the run did not
