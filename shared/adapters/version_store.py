"""The version store: each environment's validated Kubernetes version, in Table Storage.

Rows (table ``VERSION_TABLE``; docs/architecture.md, "Version store and audit history"):

- ``validated``/<environment>: ``version``, ``validatedAt`` (ISO 8601 UTC with ``+00:00``;
  ``Z`` and Edm.DateTime are read too), ``instanceId``, ``clusters`` (JSON list of ids).
- ``aksversion``/``1``: the original design's single row, ``versionnumber``; read as the
  lead's record when it has none of its own, with the row's table Timestamp as the time.

A follower's soak clock and target come from these rows, so a malformed row is an error
naming the bad property, never a guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from shared import errors
from shared.adapters import tables
from shared.domain.records import ValidatedRecord

VALIDATED_PARTITION = "validated"
LEGACY_PARTITION = "aksversion"
LEGACY_ROW = "1"
LEGACY_PROPERTY = "versionnumber"

#: What a Kubernetes version looks like in the store: major.minor.patch, digits only.
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


class TableVersionStore:
    """Reads and writes validated-version records through the one TableClient it is given (built from
    Settings by ``runtime.build``, or around Azurite in tests), so tests exercise this very adapter."""

    def __init__(self, client: TableClient) -> None:
        self._client = client

    @classmethod
    def from_connection_string(cls, conn: str, table_name: str, **options: Any) -> TableVersionStore:
        """For a connection string (Azurite, or an account key / SAS); bounded retries."""
        return cls(tables.client_from_connection_string(conn, table_name, **options))

    @classmethod
    def from_endpoint(cls, endpoint: str, table_name: str, credential: TokenCredential | Any, **options: Any) -> TableVersionStore:
        """For identity-based access: ``https://<account>.table.core.windows.net`` + a credential."""
        return cls(tables.client_from_endpoint(endpoint, table_name, credential, **options))

    @property
    def table_name(self) -> str:
        return str(self._client.table_name)

    # -- reads --------------------------------------------------------------------------

    def read_validated(self, environment: str) -> ValidatedRecord | None:
        """The environment's record, or None when it has none.

        Raises VersionTableMissingError when the table does not exist, StoreError for a
        malformed row, StoreUnavailableError when the store cannot be reached.
        """
        _check_key(environment)
        entity = self._get(VALIDATED_PARTITION, environment)
        if entity is None:
            return None
        where = self._where(VALIDATED_PARTITION, environment)
        instance_id = entity.get("instanceId")
        if instance_id is not None and not isinstance(instance_id, str):
            raise errors.StoreError(f"{where}: instanceId is not a string", field="instanceId")
        return ValidatedRecord(
            environment=environment,
            version=_version(entity, "version", where),
            validated_at=_timestamp(entity.get("validatedAt"), "validatedAt", where),
            instance_id=instance_id or None,
            clusters=_clusters(entity.get("clusters"), where),
            source="validated",
        )

    def read_legacy(self, environment: str = "") -> ValidatedRecord | None:
        """The original ``aksversion``/``1`` row as a record, or None.

        The caller decides which environment it stands for (the lead's) and may pass it as
        ``environment``; its time is the row's table Timestamp, the last time the original
        app wrote it.
        """
        entity = self._get(LEGACY_PARTITION, LEGACY_ROW)
        if entity is None:
            return None
        where = self._where(LEGACY_PARTITION, LEGACY_ROW)
        metadata = getattr(entity, "metadata", None) or {}
        return ValidatedRecord(
            environment=environment,
            version=_version(entity, LEGACY_PROPERTY, where),
            validated_at=_timestamp(metadata.get("timestamp"), "Timestamp", where),
            instance_id=None,
            clusters=(),
            source="legacy",
        )

    # -- writes -------------------------------------------------------------------------

    def write_validated(self, record: ValidatedRecord) -> None:
        """Replace the environment's row with exactly ``record``; create the table if needed.

        Keeping an old ``validatedAt`` when the version did not change is the caller's rule
        (it has to read first anyway); this writes what it is given.
        """
        _check_key(record.environment)
        where = self._where(VALIDATED_PARTITION, record.environment)
        if not isinstance(record.version, str) or not _VERSION.match(record.version):
            raise errors.StoreError(
                f"{where}: refusing to write version {record.version!r} (expected major.minor.patch)",
                field="version",
            )
        try:
            validated_at = tables.to_utc(record.validated_at)
        except (AttributeError, ValueError):
            raise errors.StoreError(
                f"{where}: refusing to write validatedAt {record.validated_at!r} (expected a timezone-aware datetime)",
                field="validatedAt",
            ) from None
        entity = {
            "PartitionKey": VALIDATED_PARTITION,
            "RowKey": record.environment,
            "version": record.version,
            "validatedAt": validated_at.isoformat(),
            "instanceId": record.instance_id or "",
            "clusters": json.dumps(list(record.clusters)),
        }
        self._upsert(entity)

    # -- plumbing -----------------------------------------------------------------------

    def _where(self, partition: str, row: str) -> str:
        return f"table {self.table_name!r} row {partition}/{row}"

    def _get(self, partition: str, row: str) -> Mapping[str, Any] | None:
        with tables.translated(self._client, f"reading {partition}/{row}"):
            try:
                return self._client.get_entity(partition, row)
            except ResourceNotFoundError as err:
                if tables.is_table_missing(err):
                    raise
                return None

    def _upsert(self, entity: dict[str, Any]) -> None:
        action = f"writing {entity['PartitionKey']}/{entity['RowKey']}"
        with tables.translated(self._client, action):
            try:
                self._client.upsert_entity(entity, mode=UpdateMode.REPLACE)
            except ResourceNotFoundError as err:
                if not tables.is_table_missing(err):
                    raise
                tables.create_table_if_missing(self._client)
                self._client.upsert_entity(entity, mode=UpdateMode.REPLACE)


def _check_key(environment: object) -> None:
    if not isinstance(environment, str) or not environment or tables.bad_key(environment):
        raise errors.StoreError(
            f"environment {environment!r} cannot be a row key (empty, or contains / \\ # ? or a control character)",
            field="environment",
        )


def _version(entity: Mapping[str, Any], name: str, where: str) -> str:
    value = entity.get(name)
    if value is None or value == "":
        raise errors.StoreError(f"{where}: {name} is missing or empty", field=name)
    if not isinstance(value, str) or not _VERSION.match(value.strip()):
        raise errors.StoreError(f"{where}: {name} {value!r} is not a Kubernetes version like 1.30.5", field=name)
    return value.strip()


def _timestamp(value: object, name: str, where: str) -> datetime:
    if value is None or value == "":
        raise errors.StoreError(f"{where}: {name} is missing", field=name)
    try:
        return tables.parse_utc(value)
    except (TypeError, ValueError):
        raise errors.StoreError(
            f"{where}: {name} {value!r} is not an ISO 8601 date-time with a UTC offset",
            field=name,
        ) from None


def _clusters(value: object, where: str) -> tuple[str, ...]:
    problem = None
    parsed: object = None
    if not isinstance(value, str):
        problem = "is missing" if value is None else f"is a {type(value).__name__}, not a JSON string"
    else:
        try:
            parsed = json.loads(value)
        except ValueError:
            problem = f"{value[:80]!r} is not JSON"
        else:
            if not isinstance(parsed, list) or not all(isinstance(item, str) and item for item in parsed):
                problem = f"{value[:80]!r} is not a JSON list of cluster id strings"
    if problem is not None:
        raise errors.StoreError(f"{where}: clusters {problem}", field="clusters")
    assert isinstance(parsed, list)
    return tuple(parsed)
