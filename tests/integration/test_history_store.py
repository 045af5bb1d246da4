"""The audit history against a real Azurite, through azure-data-tables (no mocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableClient

from ops.azurite import Azurite, free_port
from shared import errors
from shared.adapters.history_store import TableHistoryStore
from shared.domain.records import AuditEntry

MONDAY = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)


def _cluster(name: str, group: str = "rg-aks") -> str:
    return (
        f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{group}"
        f"/providers/Microsoft.ContainerService/managedClusters/{name}"
    )


def _entry(environment: str = "dev", cluster: str = "aks-a", *, day: int = 0, minutes: int = 0, **changes: Any) -> AuditEntry:
    started = MONDAY + timedelta(days=day, minutes=minutes)
    values: dict[str, Any] = {
        "instance_id": f"upgrade-{environment}-{started:%Y-%m-%d}",
        "environment": environment,
        "cluster_id": _cluster(cluster),
        "from_version": "1.29.4",
        "to_version": "1.30.5",
        "result": "upgraded",
        "reason": None,
        "started_at": started,
        "finished_at": started + timedelta(minutes=20),
    }
    values.update(changes)
    return AuditEntry(**values)


def _raw(azurite: Azurite, table: str) -> TableClient:
    return TableClient.from_connection_string(azurite.connection_string, table)


def test_recorded_entries_list_back_newest_first(history_store: TableHistoryStore) -> None:
    monday, tuesday, wednesday = _entry(day=0), _entry(day=1), _entry(day=2)
    history_store.record([tuesday, monday])
    history_store.record([wednesday])
    assert history_store.list() == [wednesday, tuesday, monday]


def test_entries_round_trip_every_field(history_store: TableHistoryStore) -> None:
    failed = _entry(result="failed", to_version="1.30.5", reason="UpgradeFailed: Drain of node aks-nodepool1-0 did not complete.")
    skipped = _entry(cluster="aks-b", result="skipped", from_version=None, to_version=None, reason="power state Stopped")
    history_store.record([failed, skipped])
    assert sorted(history_store.list(), key=lambda e: e.cluster_id) == [failed, skipped]


def test_listing_one_environment_leaves_out_the_others(history_store: TableHistoryStore) -> None:
    dev, test = _entry("dev"), _entry("test", day=1)
    history_store.record([dev, test])
    assert history_store.list(environment="dev") == [dev]
    assert history_store.list(environment="test") == [test]
    assert history_store.list(environment="prod") == []


def test_limit_keeps_the_newest_entries(history_store: TableHistoryStore) -> None:
    week = [_entry(day=day) for day in range(5)]
    other = _entry("prod", day=9)
    history_store.record([*week, other])
    assert history_store.list(environment="dev", limit=2) == [week[4], week[3]]
    assert history_store.list(limit=2) == [other, week[4]]
    assert history_store.list(limit=0) == []


def test_recording_the_same_attempt_of_a_run_again_duplicates_nothing(history_store: TableHistoryStore) -> None:
    # A retried or replayed history activity records the same run's attempt again.
    attempt = _entry(result="failed", reason="Timeout", run_id="run-1")
    history_store.record([attempt])
    history_store.record([attempt])
    assert history_store.list() == [attempt]


def test_a_rerun_of_the_same_instance_adds_rows_and_keeps_the_earlier_failure(history_store: TableHistoryStore) -> None:
    # GIVEN a failed attempt, then a re-run of the same environment and date (same instance id,
    # and in `ops run` the same simulated start time) that upgrades the cluster
    failed = _entry(result="failed", reason="UpgradeFailed: drain did not complete", run_id="run-1")
    upgraded = _entry(result="upgraded", run_id="run-2")
    assert (failed.instance_id, failed.cluster_id, failed.started_at) == (upgraded.instance_id, upgraded.cluster_id, upgraded.started_at)
    history_store.record([failed])
    history_store.record([upgraded])
    # THEN both attempts are in the history
    assert sorted(history_store.list(), key=lambda e: e.run_id or "") == [failed, upgraded]


def test_a_later_attempt_never_replaces_an_earlier_one_with_another_start_time(history_store: TableHistoryStore) -> None:
    first = _entry(result="failed", reason="Timeout")
    later = _entry(minutes=3, instance_id=first.instance_id)
    history_store.record([first])
    history_store.record([later])
    assert history_store.list() == [later, first]


def test_the_last_of_two_entries_for_one_attempt_in_a_batch_wins(history_store: TableHistoryStore) -> None:
    planned = _entry(result="planned", run_id="run-1")
    done = _entry(run_id="run-1")
    history_store.record([planned, done])
    assert history_store.list() == [done]


def test_rows_written_before_runs_had_ids_still_list(azurite: Azurite, history_store: TableHistoryStore, history_table_name: str) -> None:
    history_store.record([_entry(run_id="run-1")])
    raw = _raw(azurite, history_table_name)
    row = dict(next(iter(raw.list_entities())))
    del row["runId"]
    row["RowKey"] = row["RowKey"] + "0"
    raw.upsert_entity(row)
    assert sorted((e.run_id or "") for e in history_store.list()) == ["", "run-1"]


def test_same_cluster_in_different_instances_keeps_both(history_store: TableHistoryStore) -> None:
    monday, tuesday = _entry(day=0), _entry(day=1)
    assert monday.cluster_id == tuesday.cluster_id
    history_store.record([monday, tuesday])
    assert history_store.list() == [tuesday, monday]


def test_cluster_ids_full_of_slashes_are_kept_whole_and_not_in_the_key(
    azurite: Azurite, history_store: TableHistoryStore, history_table_name: str
) -> None:
    a, b = _entry(cluster="aks-a"), _entry(cluster="aks-a", day=0, instance_id="other")
    a_other_group = _entry(cluster_id=_cluster("aks-a", group="rg-other"))
    history_store.record([a, b, a_other_group])
    listed = history_store.list()
    assert sorted(e.cluster_id for e in listed) == sorted([a.cluster_id, b.cluster_id, a_other_group.cluster_id])
    for row in _raw(azurite, history_table_name).list_entities():
        assert not set(row["RowKey"]) & set("/\\#?")
        assert row["clusterId"].startswith("/subscriptions/")


def test_more_than_one_transaction_worth_of_entries_is_recorded(history_store: TableHistoryStore) -> None:
    fleet = [_entry(cluster=f"aks-{n:03d}", minutes=n) for n in range(150)]
    history_store.record(fleet)
    history_store.record(fleet)  # and again, idempotently, across transactions
    listed = history_store.list(environment="dev")
    assert len(listed) == 150
    assert listed[0] == fleet[-1] and listed[-1] == fleet[0]


def test_recording_nothing_is_a_no_op(history_store: TableHistoryStore) -> None:
    history_store.record([])
    assert history_store.list() == []


def test_listing_before_any_record_returns_empty(history_store: TableHistoryStore) -> None:
    assert history_store.list() == []
    assert history_store.list(environment="dev", limit=5) == []


def test_entry_with_a_naive_time_is_refused_naming_the_field(history_store: TableHistoryStore) -> None:
    with pytest.raises(errors.StoreError) as caught:
        history_store.record([_entry(finished_at=datetime(2024, 5, 6, 9, 0))])
    assert caught.value.field == "finishedAt"


def test_environment_that_cannot_be_a_partition_key_is_refused(history_store: TableHistoryStore) -> None:
    with pytest.raises(errors.StoreError) as caught:
        history_store.record([_entry(environment="dev#1")])
    assert caught.value.field == "environment"


def test_malformed_history_row_names_the_field(azurite: Azurite, history_store: TableHistoryStore, history_table_name: str) -> None:
    history_store.record([_entry()])
    raw = _raw(azurite, history_table_name)
    row = next(iter(raw.list_entities()))
    row["startedAt"] = "last week"
    raw.upsert_entity(row)
    with pytest.raises(errors.StoreError) as caught:
        history_store.list()
    assert caught.value.field == "startedAt"


def test_unreachable_history_is_transient_and_keeps_the_key_secret(azurite: Azurite) -> None:
    port = free_port()
    conn = azurite.connection_string.replace(f":{azurite.port}/", f":{port}/")
    store = TableHistoryStore.from_connection_string(conn, "AKSHistory")
    with pytest.raises(errors.StoreUnavailableError) as caught:
        store.list()
    assert "AccountKey" not in str(caught.value) and "Eby8vdM02" not in str(caught.value)
    with pytest.raises(errors.StoreUnavailableError):
        store.record([_entry()])
