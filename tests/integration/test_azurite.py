"""The Azurite launcher: starts on a free loopback port, serves the table API, stops cleanly."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient

from ops.azurite import ACCOUNT_NAME, DEFAULT_BINARY, Azurite, AzuriteError


def _port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_session_azurite_serves_tables_through_the_real_sdk(azurite: Azurite) -> None:
    # GIVEN the session's Azurite WHEN a table is created and listed with the SDK
    with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        service.create_table("LauncherSmoke")
        names = [table.name for table in service.list_tables()]
        service.delete_table("LauncherSmoke")
    # THEN it is there
    assert "LauncherSmoke" in names


def test_connection_string_names_the_loopback_table_endpoint(azurite: Azurite) -> None:
    assert azurite.table_endpoint == f"http://127.0.0.1:{azurite.port}/{ACCOUNT_NAME}"
    assert f"TableEndpoint={azurite.table_endpoint};" in azurite.connection_string
    assert f"AccountName={ACCOUNT_NAME};" in azurite.connection_string


def test_launcher_stops_the_process_and_frees_the_port_on_exit() -> None:
    with Azurite() as server:
        port, pid = server.port, server._process.pid if server._process else -1
        assert server.running and _port_is_open(port)
    assert not server.running
    assert not _port_is_open(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_launcher_removes_its_temporary_directory_on_exit() -> None:
    with Azurite() as server:
        location = server.location
        assert location is not None and location.is_dir()
    assert not location.exists()


def test_missing_binary_is_a_clear_error_naming_the_path(tmp_path: Path) -> None:
    bogus = tmp_path / "node_modules" / ".bin" / "azurite-table"
    with pytest.raises(AzuriteError, match=r"not found: .*azurite-table"):
        Azurite(binary=bogus).start()


def test_missing_node_modules_tells_you_to_run_npm_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # GIVEN the default binary is absent (as in a fresh clone before `npm ci`)
    monkeypatch.setattr("ops.azurite.DEFAULT_BINARY", tmp_path / "absent" / "azurite-table")
    # THEN the error says how to fix it
    with pytest.raises(AzuriteError, match=r"run `npm ci`"):
        Azurite().start()


def test_a_binary_that_exits_at_once_is_reported_with_its_output(tmp_path: Path) -> None:
    broken = tmp_path / "azurite-table"
    broken.write_text("#!/bin/sh\necho 'cannot start: boom' >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(AzuriteError) as caught:
        Azurite(binary=broken).start()
    message = str(caught.value)
    assert str(broken) in message and "code 3" in message and "boom" in message


def test_a_binary_that_never_answers_times_out_naming_its_log(tmp_path: Path) -> None:
    silent = tmp_path / "azurite-table"
    silent.write_text("#!/bin/sh\necho 'still warming up'\nexec sleep 30\n")
    silent.chmod(0o755)
    with pytest.raises(AzuriteError, match=r"did not answer .* within 1s; log .*azurite\.log"):
        Azurite(binary=silent, start_timeout_s=1).start()


def test_default_binary_lives_under_the_repository_node_modules() -> None:
    root = Path(__file__).resolve().parents[2]
    assert root / "node_modules" / ".bin" / "azurite-table" == DEFAULT_BINARY
