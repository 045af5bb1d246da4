"""What the Table Storage adapters share: client factories and error translation.

Every azure-core exception raised by a TableClient call is translated here, once, into the
conductor's error tree, so that callers decide on our types and never on azure-core's:

- the table does not exist                    -> VersionTableMissingError (names the table)
- connection refused, timeouts, 408/429/5xx   -> StoreUnavailableError (transient)
- any other answer from the service           -> StoreError (permanent)

Messages name the endpoint's host and the table, never the account key or a SAS token:
azure-core messages can quote request URLs (a SAS lives in the query string), so the
original text is scrubbed and the original exception is not chained.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableClient

from shared import errors, logs
from shared.domain import dates
from shared.domain.text import first_line

#: Bounded retries so that an unreachable store fails within seconds, not minutes
#: (azure-core's defaults retry 10 times with up to 120 s between tries).
CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 3,
    "retry_backoff_factor": 0.2,
    "retry_backoff_max": 2,
    "connection_timeout": 5,
    "read_timeout": 20,
}

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def client_from_connection_string(conn: str, table_name: str, **options: Any) -> TableClient:
    """A TableClient with bounded retries; ``options`` override :data:`CLIENT_OPTIONS`."""
    return TableClient.from_connection_string(conn, table_name, **{**CLIENT_OPTIONS, **options})


def client_from_endpoint(endpoint: str, table_name: str, credential: TokenCredential | Any, **options: Any) -> TableClient:
    """A TableClient for identity-based access (e.g. DefaultAzureCredential), bounded retries."""
    return TableClient(
        endpoint=endpoint,
        table_name=table_name,
        credential=credential,
        **{**CLIENT_OPTIONS, **options},
    )


def endpoint_host(client: TableClient) -> str:
    """host[:port] of the client's endpoint (no path, no query, no credentials)."""
    parts = urlsplit(client.url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


#: Characters Table Storage refuses in PartitionKey and RowKey (plus control characters).
_BAD_KEY = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")


def bad_key(value: str) -> bool:
    """True when ``value`` cannot be a PartitionKey or RowKey."""
    return bool(_BAD_KEY.search(value))


def is_table_missing(err: BaseException) -> bool:
    code = getattr(err, "error_code", None)
    return isinstance(err, HttpResponseError) and code == "TableNotFound"


def _first_line(err: BaseException) -> str:
    """The first line of the error's message, without secrets (or the error's type when it has none)."""
    message = getattr(err, "message", None) or str(err)
    return logs.redact(first_line(str(message))) or type(err).__name__


def translate(err: BaseException, client: TableClient, action: str) -> errors.ConductorError:
    """The conductor error for an azure-core exception raised while doing ``action``."""
    where = f"table {client.table_name!r} at {endpoint_host(client)}"
    if isinstance(err, (ServiceRequestError, ServiceResponseError)):
        return errors.StoreUnavailableError(f"version store unreachable while {action}: {where}: {type(err).__name__}: {_first_line(err)}")
    if is_table_missing(err):
        return errors.VersionTableMissingError(
            f"table {client.table_name!r} does not exist at {endpoint_host(client)}",
            field="table",
        )
    if isinstance(err, HttpResponseError):
        status = err.status_code
        code = getattr(err, "error_code", None) or ""
        detail = f"HTTP {status} {code}".strip() + f": {_first_line(err)}"
        if status is None or status in TRANSIENT_STATUS:
            return errors.StoreUnavailableError(f"version store unavailable while {action}: {where}: {detail}")
        return errors.StoreError(f"version store refused {action}: {where}: {detail}")
    raise TypeError(f"not an azure-core error: {type(err).__name__}")


@contextmanager
def translated(client: TableClient, action: str) -> Iterator[None]:
    """Run a block of TableClient calls with azure-core errors translated."""
    try:
        yield
    except (ServiceRequestError, ServiceResponseError, HttpResponseError) as err:
        raise translate(err, client, action) from None


def create_table_if_missing(client: TableClient) -> None:
    """Create the client's table; another writer creating it first is fine."""
    try:
        client.create_table()
    except ResourceExistsError:
        pass


def to_utc(value: datetime) -> datetime:
    """A plain, timezone-aware UTC datetime (drops the SDK's TablesEntityDatetime subclass)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime")
    value = value.astimezone(UTC)
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=UTC,
    )


def parse_utc(value: object) -> datetime:
    """An Edm.DateTime (datetime) or an ISO 8601 string with an offset or ``Z``, as UTC.

    Raises ValueError for anything else, including strings without an offset: a time
    whose zone we would have to guess is not a time we can soak against.
    """
    if isinstance(value, datetime):
        return to_utc(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("not a date-time")
    return dates.parse_utc_instant(value.strip())
