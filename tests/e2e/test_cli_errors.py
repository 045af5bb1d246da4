"""Ordinary mistakes on the command line answer in one line on stderr with exit 2, never a
traceback: a store that is down, an unreadable fleet file, a port in use, no Azure sign-in, a bad
LOG_LEVEL. And the output for people never disturbs the ``--json`` last line."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.azurite import ACCOUNT_KEY, ACCOUNT_NAME, free_port
from tests.e2e.conftest import MON, Conductor, iso


def one_line_exit_2(process: subprocess.CompletedProcess[str]) -> str:
    """The one stderr line of a refused command (and proof that there is exactly one, and no traceback)."""
    assert process.returncode == 2, process.stderr
    assert "Traceback" not in process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    return lines[0]


def closed_store() -> str:
    """A connection string to a loopback port nobody listens on: a version store that is down."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:{free_port()}/{ACCOUNT_NAME};"
    )


@pytest.mark.parametrize("command", [("history",), ("history", "--json"), ("status",), ("status", "--json")], ids=" ".join)
def test_a_store_that_is_down_is_one_line_naming_the_store_settings(conductor: Conductor, command: tuple[str, ...]) -> None:
    process = conductor.cli(*command, VERSION_STORE_CONNECTION=closed_store())

    line = one_line_exit_2(process)
    assert "unreachable" in line and "VERSION_STORE_CONNECTION" in line
    assert ACCOUNT_KEY not in process.stderr
    assert process.stdout == ""


def test_plan_without_an_azure_sign_in_says_how_to_sign_in_in_one_line_and_contacts_nothing(conductor: Conductor) -> None:
    # The developer chain, limited to the environment credential with nothing in the environment:
    # what a workstation without `az login` gets, without probing this machine's network.
    process = conductor.cli("plan", "--date", iso(MON), AZURE_CREDENTIAL_KIND="default", AZURE_TOKEN_CREDENTIALS="EnvironmentCredential")

    line = one_line_exit_2(process)
    assert line.startswith("not signed in to Azure: ")
    assert "az login" in line and "AZURE_CREDENTIAL_KIND=managed-identity" in line and "AZURE_CLIENT_ID" in line
    assert "Attempted credentials" not in process.stderr  # not the credential chain's dump
    assert conductor.arm.requests == []


def test_a_dry_run_against_real_azure_without_a_sign_in_says_how_to_sign_in(conductor: Conductor) -> None:
    real = {
        "ARM_ENDPOINT": "https://management.azure.com",
        "AZURE_CREDENTIAL_KIND": "default",
        "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
    }

    line = one_line_exit_2(conductor.cli("run", "--date", iso(MON), "--dry-run", "--json", **real))

    assert line.startswith("not signed in to Azure: ") and "az login" in line


def test_a_bad_log_level_is_a_usage_error(conductor: Conductor) -> None:
    line = one_line_exit_2(conductor.cli("history", LOG_LEVEL="loud"))

    assert "LOG_LEVEL" in line


@pytest.fixture
def fleet_files(tmp_path: Path) -> dict[str, str]:
    files = {"not-json": "{clusters: [", "wrong-shape": '{"clusters": [{"name": "aks-1"}]}', "not-an-object": "[1, 2]"}
    paths = {}
    for name, text in files.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        paths[name] = str(path)
    paths["missing"] = str(tmp_path / "missing.json")
    return paths


@pytest.mark.parametrize("case", ["missing", "not-json", "wrong-shape", "not-an-object"])
def test_an_emulator_fleet_file_that_cannot_be_read_is_a_usage_error(conductor: Conductor, fleet_files: dict[str, str], case: str) -> None:
    line = one_line_exit_2(conductor.cli("emulator", "--fleet", fleet_files[case]))

    assert "--fleet" in line and Path(fleet_files[case]).name in line


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_an_emulator_port_in_use_is_a_usage_error(conductor: Conductor, busy_port: int) -> None:
    line = one_line_exit_2(conductor.cli("emulator", "--port", str(busy_port)))

    assert f"--port {busy_port} is already in use" in line


def test_with_json_the_run_prints_only_its_json_line_and_without_it_no_json(conductor: Conductor) -> None:
    as_json = conductor.cli("run", "--date", iso(MON), "--json")
    as_text = conductor.cli("run", "--date", iso(MON), "--environment", "dev")

    assert as_json.returncode == 0 and len(as_json.stdout.strip().splitlines()) == 1
    assert conductor.last_json(as_json)["status"] == "succeeded"
    assert as_text.returncode == 0 and "status=" in as_text.stdout
    assert not any(line.lstrip().startswith("{") for line in as_text.stdout.splitlines())
    assert "\x1b[" not in as_text.stdout  # no colour into a pipe
