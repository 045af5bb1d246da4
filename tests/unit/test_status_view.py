"""What ``ops status``, ``ops history`` and ``ops report`` show of the promotion gates, from a week
made up here (no stores): the approval decision a run went (or did not go) ahead on, the status of
the whole run, and a next firing that will wait for a person's decision before its first PUT.

The JSON documents only ever gain keys: every key scripts read before is still there, unchanged.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ops import console, html_report, report
from ops import status as status_mod
from shared.domain import outlook, rollout
from shared.domain.records import AuditEntry, ValidatedRecord

PLAN = rollout.parse_plan(rollout.DEFAULT_PLAN_JSON)  # Mon sandbox .. Thu prod, Europe/Oslo
MON = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TUE_FIRING = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
CLUSTER = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-sandbox-1"
#: The keys of ``ops history --json`` rows and of ``nextFiring`` before the gates were shown.
HISTORY_KEYS = {"instanceId", "runId", "environment", "cluster", "from", "to", "result", "reason", "startedAt", "finishedAt"}
RECORD = ValidatedRecord("sandbox", "1.31.2", MON + timedelta(minutes=30), "aks-upgrade-sandbox-2026-11-30", (CLUSTER,))
FIRING_KEYS = {"at", "date", "environment", "role", "status", "reason"}


def approved_attempt() -> AuditEntry:
    return AuditEntry(
        instance_id="aks-upgrade-sandbox-2026-11-30",
        environment="sandbox",
        cluster_id=CLUSTER,
        from_version="1.30.5",
        to_version="1.31.2",
        result="upgraded",
        reason=None,
        started_at=MON,
        finished_at=MON + timedelta(minutes=30),
        run_id="run-1",
        decided_by="alice",
        decision="approve",
        decision_comment="CAB-7",
        run_status="succeeded",
    )


def week(*, approval_environments: tuple[str, ...] = ("dev",)) -> status_mod.WeekStatus:
    """Monday's sandbox run went ahead on alice's approval; Tuesday's firing runs dev."""
    runs = outlook.runs_from_history([approved_attempt()])
    firing = outlook.outlook_of_firing(
        PLAN,
        TUE_FIRING,
        records={"sandbox": RECORD},
        min_soak_hours=0,
        approval_environments=approval_environments,
        approval_timeout_hours=12,
    )
    sandbox = status_mod.EnvironmentStatus(
        environment="sandbox",
        role="lead",
        weekday=0,
        predecessor=None,
        successor="dev",
        record=None,
        record_error=None,
        soaking=None,
        last_run=runs[0],
    )
    return status_mod.WeekStatus(
        now=MON + timedelta(hours=3),
        timezone=PLAN.timezone,
        min_soak_hours=0,
        upgrade_schedule="0 0 10 * * 1-4",
        dry_run=False,
        environments=(sandbox,),
        next_firing=firing,
        next_firing_error=None,
        runs=tuple(runs),
        warnings=(),
    )


def plain(renderable: object) -> str:
    stream = io.StringIO()
    console.console(stream, {}).print(renderable)
    return stream.getvalue()


def test_history_json_rows_add_the_run_status_and_who_decided_to_the_keys_they_had() -> None:
    row = report.history_row(approved_attempt())

    assert set(row) >= HISTORY_KEYS
    assert (row["cluster"], row["result"], row["startedAt"]) == (CLUSTER, "upgraded", MON.isoformat())
    assert {k: row[k] for k in set(row) - HISTORY_KEYS} == {
        "runStatus": "succeeded",
        "decidedBy": "alice",
        "decision": "approve",
        "decisionComment": "CAB-7",
    }


def test_the_history_table_shows_each_rows_run_status_and_decision() -> None:
    undecided = replace(approved_attempt(), decided_by=None, decision=None, decision_comment=None, run_status=None)

    text = plain(report.history_view([approved_attempt(), undecided]))

    header, _, decided_line, undecided_line = text.splitlines()[:4]
    assert header.split() == ["finished", "environment", "cluster", "from", "to", "result", "run", "decision", "reason"]
    assert "upgraded" in decided_line and "succeeded" in decided_line and "approved by alice: CAB-7" in decided_line
    assert "approved" not in undecided_line and "succeeded" not in undecided_line


def test_status_json_gives_the_last_runs_decision_and_says_the_next_firing_awaits_approval() -> None:
    document = status_mod.to_dict(week())

    [sandbox] = document["environments"]
    last = sandbox["lastRun"]
    assert (last["status"], last["decidedBy"], last["decision"], last["decisionComment"]) == ("succeeded", "alice", "approve", "CAB-7")
    firing = document["nextFiring"]
    assert set(firing) >= FIRING_KEYS
    assert (firing["environment"], firing["status"], firing["awaitsApproval"], firing["approvalTimeoutHours"]) == ("dev", "act", True, 12)


def test_status_json_says_a_firing_outside_approval_environments_does_not_wait() -> None:
    firing = status_mod.to_dict(week(approval_environments=()))["nextFiring"]

    assert (firing["status"], firing["awaitsApproval"], firing["approvalTimeoutHours"]) == ("act", False, None)


def test_the_status_view_names_who_decided_and_that_the_next_run_waits_for_a_decision() -> None:
    text = plain(status_mod.view(week()))

    assert "approved by alice: CAB-7" in text
    assert "dev (follower) act after a person's decision: with a cluster to upgrade, it waits up to 12 h (APPROVAL_TIMEOUT_HOURS)" in text
    assert "waits up to" not in plain(status_mod.view(week(approval_environments=())))


def test_the_html_report_shows_who_decided_and_that_the_next_run_waits_for_a_decision() -> None:
    page = html_report.render(week(), 14)

    assert '<span class="decision">approved by alice: CAB-7</span>' in page
    assert "act after a person&#x27;s decision: with a cluster to upgrade, it waits up to 12 h" in page
