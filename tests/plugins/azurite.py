"""pytest fixtures for Table Storage: one Azurite per session, a fresh table per test.

- ``azurite``: the running :class:`ops.azurite.Azurite` (session); fails with "run `npm ci`"
  when Azurite is not installed, rather than skipping, so CI cannot pass without it.
- ``table_service``: a TableServiceClient on it.
- ``version_table_name`` / ``history_table_name``: a table name no other test uses (not
  created: the stores create their tables on first write, and some tests need it absent).
- ``version_store`` / ``history_store``: the real adapters on those tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.core.exceptions import HttpResponseError
from azure.data.tables import TableServiceClient

from ops.azurite import Azurite, AzuriteError
from shared.adapters.history_store import TableHistoryStore
from shared.adapters.version_store import TableVersionStore


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    try:
        server = Azurite().start()
    except AzuriteError as err:
        pytest.fail(str(err), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def table_service(azurite: Azurite) -> Iterator[TableServiceClient]:
    with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        yield service


def _unique_table_name(prefix: str) -> str:
    # Letters and digits only, starting with a letter, 3..63 characters.
    return f"{prefix}{uuid.uuid4().hex[:16]}"


def _fresh_table(service: TableServiceClient, prefix: str) -> Iterator[str]:
    name = _unique_table_name(prefix)
    yield name
    try:
        service.delete_table(name)
    except HttpResponseError:
        pass


@pytest.fixture
def version_table_name(table_service: TableServiceClient) -> Iterator[str]:
    yield from _fresh_table(table_service, "AKSVersion")


@pytest.fixture
def history_table_name(table_service: TableServiceClient) -> Iterator[str]:
    yield from _fresh_table(table_service, "AKSHistory")


@pytest.fixture
def version_store(azurite: Azurite, version_table_name: str) -> TableVersionStore:
    return TableVersionStore.from_connection_string(azurite.connection_string, version_table_name)


@pytest.fixture
def history_store(azurite: Azurite, history_table_name: str) -> TableHistoryStore:
    return TableHistoryStore.from_connection_string(azurite.connection_string, history_table_name)
