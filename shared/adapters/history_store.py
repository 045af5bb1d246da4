"""Audit history: one Table Storage row per cluster upgrade attempt, append-only, for operators.

Row layout (its own table, e.g. ``AKSUpgradeHistory``):

- PartitionKey: the environment.
- RowKey: ``<inverted startedAt, 18 digits>_<attempt key>``, so a partition lists newest
  first. The attempt key is the first 32 hex digits of sha256(instanceId NUL clusterId NUL
  runId): ARM ids are full of ``/``, which keys may not contain, and the triple (instance,
  cluster, run) is what makes an attempt unique. The full cluster id is kept in ``clusterId``.
- Properties: instanceId, runId (absent on rows from before runs had ids), decidedBy, decision
  and decisionComment (the approval gate's decision, where one was asked for), attemptKey,
  clusterId, fromVersion, toVersion, result, reason (absent when None), runStatus (the whole
  run's status; absent on older rows), startedAt, finishedAt (Edm.DateTime).

A re-run of the same environment and date is the same instance id but another run, so its
rows are added next to the earlier attempt's, which stay (a failure is never erased by the
re-run that fixed it). Recording the same run again (a retried or replayed activity) writes
the same keys, so it duplicates nothing.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableClient, TransactionOperation, UpdateMode

from shared import errors
from shared.adapters import tables
from shared.domain.records import AuditEntry

#: A Table Storage transaction holds at most 100 operations, all in one partition.
MAX_TRANSACTION = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Microseconds from the epoch to 10000-01-01: inverting against it sorts newest first.
_MAX_MICROS = 253_402_300_800_000_000


def attempt_key(instance_id: str, cluster_id: str, run_id: str | None = None) -> str:
    """What identifies one attempt: the instance, the (case-insensitive) ARM cluster id and the run.

    Without a run id the key is the one rows had before runs had ids.
    """
    name = f"{instance_id}\x00{cluster_id.lower()}" + (f"\x00{run_id}" if run_id is not None else "")
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def row_key(entry: AuditEntry) -> str:
    started = tables.to_utc(entry.started_at)
    micros = (started - _EPOCH) // timedelta(microseconds=1)
    return f"{_MAX_MICROS - micros:018d}_{attempt_key(entry.instance_id, entry.cluster_id, entry.run_id)}"


class TableHistoryStore:
    """Appends and lists upgrade attempts through the one TableClient it is given (built from Settings
    by ``runtime.build``, or around Azurite in tests), so tests exercise this very adapter."""

    def __init__(self, client: TableClient) -> None:
        self._client = client

    @classmethod
    def from_connection_string(cls, conn: str, table_name: str, **options: Any) -> TableHistoryStore:
        return cls(tables.client_from_connection_string(conn, table_name, **options))

    @classmethod
    def from_endpoint(cls, endpoint: str, table_name: str, credential: TokenCredential | Any, **options: Any) -> TableHistoryStore:
        return cls(tables.client_from_endpoint(endpoint, table_name, credential, **options))

    @property
    def table_name(self) -> str:
        return str(self._client.table_name)

    # -- writes -------------------------------------------------------------------------

    def record(self, entries: Sequence[AuditEntry]) -> None:
        """Add ``entries``; an attempt of a run already recorded is rewritten, never duplicated.

        Rows of other runs are never touched. One transaction per environment and per 100
        operations; creates the table on first use.
        """
        by_partition: dict[str, dict[str, dict[str, Any]]] = {}
        for entry in entries:
            entity = self._to_entity(entry)
            # The same attempt twice in one batch: the last one wins, as a second record() would.
            by_partition.setdefault(entity["PartitionKey"], {})[entity["RowKey"]] = entity
        for partition, rows in by_partition.items():
            self._write_partition(partition, builtins.list(rows.values()))

    def _write_partition(self, partition: str, entities: builtins.list[dict[str, Any]]) -> None:
        operations: builtins.list[tuple[TransactionOperation, Any, Mapping[str, Any]]] = [
            (TransactionOperation.UPSERT, entity, {"mode": UpdateMode.REPLACE}) for entity in entities
        ]
        with tables.translated(self._client, f"recording history for {partition!r}"):
            for start in range(0, len(operations), MAX_TRANSACTION):
                chunk = operations[start : start + MAX_TRANSACTION]
                try:
                    self._client.submit_transaction(chunk)
                except HttpResponseError as err:
                    if not tables.is_table_missing(err):
                        raise
                    tables.create_table_if_missing(self._client)
                    self._client.submit_transaction(chunk)

    def _to_entity(self, entry: AuditEntry) -> dict[str, Any]:
        where = f"table {self.table_name!r}"
        if not entry.environment or tables.bad_key(entry.environment):
            raise errors.StoreError(
                f"{where}: environment {entry.environment!r} cannot be a partition key",
                field="environment",
            )
        for name, ident in (("instanceId", entry.instance_id), ("clusterId", entry.cluster_id)):
            if not isinstance(ident, str) or not ident:
                raise errors.StoreError(f"{where}: {name} must be a non-empty string", field=name)
        times: dict[str, datetime] = {}
        for name, moment in (("startedAt", entry.started_at), ("finishedAt", entry.finished_at)):
            try:
                times[name] = tables.to_utc(moment)
            except (AttributeError, ValueError):
                raise errors.StoreError(f"{where}: {name} {moment!r} must be a timezone-aware datetime", field=name) from None
        entity: dict[str, Any] = {
            "PartitionKey": entry.environment,
            "RowKey": row_key(entry),
            "attemptKey": attempt_key(entry.instance_id, entry.cluster_id, entry.run_id),
            "instanceId": entry.instance_id,
            "clusterId": entry.cluster_id,
            "result": entry.result,
            "startedAt": times["startedAt"],
            "finishedAt": times["finishedAt"],
        }
        for name, optional in (
            ("runId", entry.run_id),
            ("decidedBy", entry.decided_by),
            ("decision", entry.decision),
            ("decisionComment", entry.decision_comment),
            ("fromVersion", entry.from_version),
            ("toVersion", entry.to_version),
            ("reason", entry.reason),
            ("runStatus", entry.run_status),
        ):
            if optional is not None:
                entity[name] = optional
        return entity

    # -- reads --------------------------------------------------------------------------

    def list(self, environment: str | None = None, limit: int | None = None) -> builtins.list[AuditEntry]:
        """Attempts newest first (by startedAt), of one environment or all; [] without a table."""
        if limit is not None and limit <= 0:
            return []
        with tables.translated(self._client, "listing history"):
            try:
                if environment is not None:
                    # One partition comes back in row-key order, which is newest first.
                    pages = self._client.query_entities(
                        "PartitionKey eq @pk",
                        parameters={"pk": environment},
                        results_per_page=min(limit or 1000, 1000),
                    )
                    rows = []
                    for row in pages:
                        rows.append(row)
                        if limit is not None and len(rows) >= limit:
                            break
                else:
                    rows = builtins.list(self._client.list_entities())
            except ResourceNotFoundError as err:
                if tables.is_table_missing(err):
                    return []
                raise
        entries = [self._from_entity(row) for row in rows]
        entries.sort(key=lambda e: (e.started_at, e.finished_at), reverse=True)
        return entries[:limit] if limit is not None else entries

    def _from_entity(self, row: Mapping[str, Any]) -> AuditEntry:
        where = f"table {self.table_name!r} row {row.get('PartitionKey')}/{row.get('RowKey')}"

        def text(name: str, required: bool) -> str | None:
            value = row.get(name)
            if value is None or value == "":
                if required:
                    raise errors.StoreError(f"{where}: {name} is missing", field=name)
                return None
            if not isinstance(value, str):
                raise errors.StoreError(f"{where}: {name} is not a string", field=name)
            return value

        def when(name: str) -> datetime:
            try:
                return tables.parse_utc(row.get(name))
            except (TypeError, ValueError):
                raise errors.StoreError(f"{where}: {name} {row.get(name)!r} is not a UTC date-time", field=name) from None

        return AuditEntry(
            instance_id=text("instanceId", True) or "",
            environment=str(row["PartitionKey"]),
            cluster_id=text("clusterId", True) or "",
            from_version=text("fromVersion", False),
            to_version=text("toVersion", False),
            result=text("result", True) or "",
            reason=text("reason", False),
            started_at=when("startedAt"),
            finished_at=when("finishedAt"),
            run_id=text("runId", False),
            decided_by=text("decidedBy", False),
            decision=text("decision", False),
            decision_comment=text("decisionComment", False),
            run_status=text("runStatus", False),
        )
