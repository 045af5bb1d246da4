"""Audit history: one Table Storage row per cluster upgrade attempt, for operators.

Row layout (its own table, e.g. ``AKSUpgradeHistory``):

- PartitionKey: the environment.
- RowKey: ``<inverted startedAt, 18 digits>_<attempt key>``, so a partition lists newest
  first. The attempt key is the first 32 hex digits of sha256(instanceId NUL clusterId):
  ARM ids are full of ``/``, which keys may not contain, and the pair (instance, cluster)
  is what makes an attempt unique. The full cluster id is kept in ``clusterId``.
- Properties: instanceId, attemptKey, clusterId, fromVersion, toVersion, result, reason
  (absent when None), startedAt, finishedAt (Edm.DateTime).

Recording the same instance and cluster again replaces the row. If its startedAt moved
(a replayed activity), the row key moves too, so the old row is deleted in the same
transaction as the new one is written.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TransactionOperation, UpdateMode

from shared import errors
from shared.adapters import tables
from shared.domain.records import AuditEntry

#: A Table Storage transaction holds at most 100 operations, all in one partition.
MAX_TRANSACTION = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Microseconds from the epoch to 10000-01-01: inverting against it sorts newest first.
_MAX_MICROS = 253_402_300_800_000_000


def attempt_key(instance_id: str, cluster_id: str) -> str:
    """What identifies one attempt: the instance and the (case-insensitive) ARM cluster id."""
    digest = hashlib.sha256(f"{instance_id}\x00{cluster_id.lower()}".encode())
    return digest.hexdigest()[:32]


def row_key(entry: AuditEntry) -> str:
    started = tables.to_utc(entry.started_at)
    micros = (started - _EPOCH) // timedelta(microseconds=1)
    return f"{_MAX_MICROS - micros:018d}_{attempt_key(entry.instance_id, entry.cluster_id)}"


class TableHistoryStore:
    """Appends and lists upgrade attempts through one TableClient (STYLE item 10)."""

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
        """Write ``entries``; an (instance, cluster) already recorded is replaced, not duplicated.

        One transaction per environment and per 100 operations; creates the table on first use.
        """
        by_partition: dict[str, dict[str, dict[str, Any]]] = {}
        for entry in entries:
            entity = self._to_entity(entry)
            # The last entry for an attempt wins, as a second record() call would.
            rows = by_partition.setdefault(entity["PartitionKey"], {})
            for key, existing in list(rows.items()):
                if existing["attemptKey"] == entity["attemptKey"]:
                    del rows[key]
            rows[entity["RowKey"]] = entity
        for partition, rows in by_partition.items():
            self._write_partition(partition, builtins.list(rows.values()))

    def _write_partition(self, partition: str, entities: builtins.list[dict[str, Any]]) -> None:
        action = f"recording history for {partition!r}"
        with tables.translated(self._client, action):
            try:
                stale = self._stale_rows(partition, entities)
            except ResourceNotFoundError as err:
                if not tables.is_table_missing(err):
                    raise
                tables.create_table_if_missing(self._client)
                stale = []
            operations: builtins.list[tuple[TransactionOperation, Any, Mapping[str, Any]]] = [
                (TransactionOperation.DELETE, row, {}) for row in stale
            ]
            operations += [(TransactionOperation.UPSERT, entity, {"mode": UpdateMode.REPLACE}) for entity in entities]
            for start in range(0, len(operations), MAX_TRANSACTION):
                self._client.submit_transaction(operations[start : start + MAX_TRANSACTION])

    def _stale_rows(self, partition: str, entities: Iterable[Mapping[str, Any]]) -> builtins.list[dict[str, str]]:
        """Rows of the same attempts under another row key (their startedAt changed)."""
        wanted = {entity["attemptKey"]: entity["RowKey"] for entity in entities}
        stale: builtins.list[dict[str, str]] = []
        for instance_id in sorted({entity["instanceId"] for entity in entities}):
            found = self._client.query_entities(
                "PartitionKey eq @pk and instanceId eq @iid",
                parameters={"pk": partition, "iid": instance_id},
                select=["PartitionKey", "RowKey", "attemptKey"],
            )
            for row in found:
                key = row.get("attemptKey")
                if key in wanted and wanted[key] != row["RowKey"]:
                    stale.append({"PartitionKey": partition, "RowKey": row["RowKey"]})
        return stale

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
            "attemptKey": attempt_key(entry.instance_id, entry.cluster_id),
            "instanceId": entry.instance_id,
            "clusterId": entry.cluster_id,
            "result": entry.result,
            "startedAt": times["startedAt"],
            "finishedAt": times["finishedAt"],
        }
        for name, optional in (
            ("fromVersion", entry.from_version),
            ("toVersion", entry.to_version),
            ("reason", entry.reason),
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
        )
