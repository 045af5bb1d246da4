"""Fault injection: every fault of the error policy, each asserting the exact PUTs that reached ARM
(none twice, none wrong) and what the version store holds afterwards.

"Accepted PUT" = a PUT the emulator answered 2xx: an upgrade request that ARM took. A rejected
PUT (409, 412, 503, dropped) changed nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from ops.emulator import FaultRule
from shared.domain.records import ValidatedRecord
from tests.e2e.conftest import MON, TUE, Conductor, by_name, schedule_start

NEWEST_GA = "1.31.2"
SANDBOX = ("aks-sandbox-weu-1", "aks-sandbox-weu-2")


def accepted_puts(conductor: Conductor) -> Counter[str]:
    return Counter(r.path.rsplit("/", 1)[-1] for r in conductor.puts() if r.status is not None and 200 <= r.status < 300)


def put_attempts(conductor: Conductor) -> Counter[str]:
    return Counter(r.path.rsplit("/", 1)[-1] for r in conductor.puts())


def assert_sandbox_upgraded_once_each(conductor: Conductor, result: dict) -> None:
    assert result["status"] == "succeeded", result
    assert accepted_puts(conductor) == Counter(dict.fromkeys(SANDBOX, 1))
    assert {r.body["properties"]["kubernetesVersion"] for r in conductor.puts()} == {NEWEST_GA}
    record = conductor.record("sandbox")
    assert record is not None and record.version == NEWEST_GA


# -- transient ARM faults: retried, then exactly one upgrade per cluster ----------------------------
def test_throttling_with_retry_after_is_retried_by_the_sdk(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        FaultRule(
            kind="error",
            method="GET",
            path=r"/managedClusters$",
            status=429,
            code="TooManyRequests",
            message="throttled",
            retry_after=1,
            times=2,
        )
    )
    result = conductor.run(MON)

    assert_sandbox_upgraded_once_each(conductor, result)
    assert sum(1 for r in conductor.arm.requests if r.status == 429) == 2


@pytest.mark.parametrize("status,code", [(500, "InternalServerError"), (503, "ServiceUnavailable")])
def test_server_errors_on_reads_are_retried(conductor: Conductor, status: int, code: str) -> None:
    # The lead's planning read: the region's version list (it plans every sandbox cluster from it).
    conductor.arm.add_fault(
        FaultRule(kind="error", method="GET", path=r"/kubernetesVersions$", status=status, code=code, message="try again", times=2)
    )
    result = conductor.run(MON)

    assert_sandbox_upgraded_once_each(conductor, result)
    assert sum(1 for r in conductor.arm.requests if r.status == status) == 2


def test_a_503_on_the_put_is_retried_later_by_the_orchestrator_never_by_the_http_layer(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        FaultRule(kind="error", method="PUT", cluster="aks-sandbox-weu-1", status=503, code="ServiceUnavailable", message="busy", times=1)
    )
    result = conductor.run(MON)

    assert_sandbox_upgraded_once_each(conductor, result)
    assert put_attempts(conductor)["aks-sandbox-weu-1"] == 2  # the rejected one, then the accepted one


def test_a_409_while_another_operation_runs_backs_off_and_upgrades_once(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        FaultRule(
            kind="error",
            method="PUT",
            cluster="aks-sandbox-weu-2",
            status=409,
            code="OperationNotAllowed",
            message="Another operation (Updating) is in progress.",
            times=2,
        )
    )
    outcome = conductor.execute(MON)

    assert_sandbox_upgraded_once_each(conductor, outcome.result)
    assert put_attempts(conductor)["aks-sandbox-weu-2"] == 3
    assert any(e["EventType"] == 10 for e in outcome.run.history)  # the backoff is a durable timer


def test_a_dropped_connection_on_the_put_is_not_resent_blindly(conductor: Conductor) -> None:
    conductor.arm.add_fault(FaultRule(kind="drop", method="PUT", cluster="aks-sandbox-weu-1", times=1))
    result = conductor.run(MON)

    assert_sandbox_upgraded_once_each(conductor, result)


def test_dropped_connections_on_reads_are_retried(conductor: Conductor) -> None:
    conductor.arm.add_fault(FaultRule(kind="drop", method="GET", path=r"/subscriptions$", times=1))
    conductor.arm.add_fault(FaultRule(kind="drop", method="GET", path=r"/operations/", times=1))
    result = conductor.run(MON)

    assert_sandbox_upgraded_once_each(conductor, result)


def test_latency_slows_nothing_but_the_clock(conductor: Conductor) -> None:
    conductor.arm.add_fault(FaultRule(kind="latency", latency_ms=150, times=6))
    result = conductor.run(MON)

    assert_sandbox_upgraded_once_each(conductor, result)


def test_throttling_that_never_ends_fails_only_that_cluster_after_bounded_attempts(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        FaultRule(
            kind="error",
            method="PUT",
            cluster="aks-sandbox-weu-1",
            status=409,
            code="OperationNotAllowed",
            message="Another operation is in progress.",
        )
    )
    result = conductor.run(MON)

    clusters = by_name(result)
    assert result["status"] == "failed"
    assert clusters["aks-sandbox-weu-1"]["result"] == "failed"
    assert clusters["aks-sandbox-weu-1"]["reason"].startswith("OperationNotAllowed: Another operation is in progress.")
    assert clusters["aks-sandbox-weu-2"]["result"] == "upgraded"
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-2": 1})
    assert 1 < put_attempts(conductor)["aks-sandbox-weu-1"] <= 5
    assert conductor.record("sandbox") is None


# -- permanent faults: that cluster fails with ARM's words; nothing is recorded ---------------------
@pytest.mark.parametrize("outcome,code", [("Failed", "UpgradeFailed"), ("Canceled", "OperationCanceled")])
def test_an_operation_that_ends_badly_fails_the_cluster_and_records_nothing(conductor: Conductor, outcome: str, code: str) -> None:
    conductor.arm.add_fault(
        FaultRule(
            kind="outcome", cluster="aks-sandbox-weu-1", outcome=outcome, code=code, message="Drain of node aks-user1-123 did not complete."
        )
    )
    result = conductor.run(MON)

    clusters = by_name(result)
    assert result["status"] == "failed" and result["recordedVersion"] is None
    assert clusters["aks-sandbox-weu-1"]["reason"] == f"{code}: Drain of node aks-user1-123 did not complete."
    assert clusters["aks-sandbox-weu-2"]["result"] == "upgraded"
    assert accepted_puts(conductor) == Counter(dict.fromkeys(SANDBOX, 1))
    assert conductor.record("sandbox") is None


def test_after_a_failed_lead_the_next_environment_upgrades_nothing_and_says_why(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        FaultRule(kind="outcome", cluster="aks-sandbox-weu-1", outcome="Failed", code="UpgradeFailed", message="quota exceeded")
    )
    conductor.run(MON)
    conductor.arm.clear_requests()

    dev = conductor.run(TUE)

    assert dev["status"] == "skipped" and "no validated version recorded for sandbox" in dev["reason"]
    assert conductor.puts() == []


def test_a_bad_request_is_permanent_and_not_retried(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        FaultRule(
            kind="error",
            method="PUT",
            cluster="aks-sandbox-weu-2",
            status=400,
            code="InvalidParameter",
            message="The value of parameter X is invalid.",
        )
    )
    result = conductor.run(MON)

    assert by_name(result)["aks-sandbox-weu-2"]["reason"] == "InvalidParameter: The value of parameter X is invalid."
    assert put_attempts(conductor)["aks-sandbox-weu-2"] == 1
    assert conductor.record("sandbox") is None


# -- the cluster changes under us -------------------------------------------------------------------
def test_a_cluster_stopped_between_plan_and_put_is_not_touched(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        FaultRule(
            # After the lead's last planning read (the region's version list), before the GET that precedes the PUT.
            kind="state",
            method="GET",
            path=r"/kubernetesVersions$",
            target="aks-sandbox-weu-1",
            changes={"powerState": "Stopped"},
            times=1,
        )
    )
    result = conductor.run(MON)

    # It stopped being eligible: skipped with what changed; it neither fails nor blocks the run,
    # and it is not in the record.
    clusters = by_name(result)
    assert result["status"] == "succeeded"
    assert clusters["aks-sandbox-weu-1"]["result"] == "skipped"
    assert clusters["aks-sandbox-weu-1"]["reason"].startswith("changed since planning: not running (powerState Stopped)")
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-2": 1})
    record = conductor.record("sandbox")
    assert record is not None and [c.rsplit("/", 1)[-1] for c in record.clusters] == ["aks-sandbox-weu-2"]


def test_an_etag_change_between_get_and_put_means_get_and_decide_again(conductor: Conductor) -> None:
    conductor.arm.add_fault(FaultRule(kind="state", method="GET", path=r"/managedClusters/aks-sandbox-weu-1$", changes={}, nth=1))
    result = conductor.run(MON)

    assert_sandbox_upgraded_once_each(conductor, result)
    statuses = [r.status for r in conductor.puts() if r.path.endswith("aks-sandbox-weu-1")]
    assert statuses[0] == 412 and len(statuses) == 2


def test_someone_elses_upgrade_between_plan_and_put_is_not_overwritten(conductor: Conductor) -> None:
    conductor.arm.add_fault(
        FaultRule(
            kind="state",
            method="GET",
            path=r"/kubernetesVersions$",  # after planning read the cluster, before the GET that precedes its PUT
            target="aks-sandbox-weu-2",
            changes={"provisioningState": "Upgrading", "kubernetesVersion": "1.31.2", "currentKubernetesVersion": "1.31.1"},
            times=1,
        )
    )
    result = conductor.run(MON, UPGRADE_TIMEOUT_MINUTES="5", HEALTH_SETTLE_MINUTES="0")

    # The same target is already on its way: watch it (here it never ends) rather than PUT again.
    cluster = by_name(result)["aks-sandbox-weu-2"]
    assert cluster["result"] == "failed" and cluster["reason"].startswith("Timeout")
    assert accepted_puts(conductor) == Counter({"aks-sandbox-weu-1": 1})
    assert conductor.record("sandbox") is None


# -- idempotency: re-runs and crashes ----------------------------------------------------------------
def test_a_crash_between_put_and_record_resumes_monitoring_on_rerun(conductor: Conductor) -> None:
    # GIVEN a run whose progress checks all fail until its deadline: the PUTs went out, nothing recorded
    conductor.arm.add_fault(
        FaultRule(kind="error", method="GET", path=r"/operations/", status=500, code="InternalServerError", message="down")
    )
    first = conductor.run(MON, UPGRADE_TIMEOUT_MINUTES="3", HEALTH_SETTLE_MINUTES="0")
    assert first["status"] == "failed" and conductor.record("sandbox") is None
    assert accepted_puts(conductor) == Counter(dict.fromkeys(SANDBOX, 1))
    # WHEN ARM recovers and the same day is run again
    conductor.arm.clear_faults()
    again = conductor.run(MON)
    # THEN no second PUT: the running upgrades are monitored to the end and recorded
    assert again["status"] == "succeeded", again
    assert accepted_puts(conductor) == Counter(dict.fromkeys(SANDBOX, 1))
    record = conductor.record("sandbox")
    assert record is not None and record.version == NEWEST_GA


# -- the version store ------------------------------------------------------------------------------
def test_a_malformed_stored_version_stops_the_follower_with_a_clear_reason(conductor: Conductor) -> None:
    table = conductor.versions._client
    table.create_table()
    table.upsert_entity(
        {
            "PartitionKey": "validated",
            "RowKey": "sandbox",
            "version": "1.31",
            "validatedAt": schedule_start(MON - timedelta(days=29)).isoformat(),
            "instanceId": "x",
            "clusters": "[]",
        }
    )
    result = conductor.run(TUE)

    assert result["status"] == "failed" and "version" in result["reason"] and "no upgrades" in result["reason"]
    assert conductor.puts() == []


def test_an_unavailable_store_fails_the_follower_cleanly_and_upgrades_nothing(conductor: Conductor) -> None:
    closed_port = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    )
    result = conductor.run(TUE, VERSION_STORE_CONNECTION=closed_port)

    assert result["status"] == "failed" and "planning failed" in result["reason"]
    assert "a2V5" not in result["reason"]
    assert conductor.puts() == []


def test_an_unavailable_store_at_record_time_reports_the_run_failed_not_recorded(conductor: Conductor) -> None:
    closed_port = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    )
    result = conductor.run(MON, VERSION_STORE_CONNECTION=closed_port)

    assert result["status"] == "failed" and "recording" in result["reason"] and result["recordedVersion"] is None
    assert accepted_puts(conductor) == Counter(dict.fromkeys(SANDBOX, 1))


def test_a_stored_record_round_trips_as_the_contract_layout(conductor: Conductor) -> None:
    conductor.run(MON)
    entity = conductor.versions._client.get_entity("validated", "sandbox")

    assert set(entity) >= {"version", "validatedAt", "instanceId", "clusters"}
    assert entity["validatedAt"].endswith("+00:00")
    assert isinstance(conductor.record("sandbox"), ValidatedRecord)
