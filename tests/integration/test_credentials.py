"""The process's one credential: in production the app's managed identity, named by its client id;
on a workstation without a sign-in, one line that says how to sign in.

The managed identity test runs azure-identity's real ManagedIdentityCredential against a local
stand-in of the identity endpoint the Functions host offers (App Service's IDENTITY_ENDPOINT and
IDENTITY_HEADER), so it sees the request the app would send in Azure.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from shared import runtime, settings
from shared.adapters import credentials

IDENTITY_CLIENT_ID = "6f1c2d3e-4b5a-4c6d-8e7f-90a1b2c3d4e5"
ARM_SCOPE = "https://management.azure.com/.default"


class IdentityEndpoint(BaseHTTPRequestHandler):
    """App Service's managed identity endpoint: a token for whoever asks with the right header."""

    requests: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        type(self).requests.append({**query, "header": self.headers.get("X-IDENTITY-HEADER", "")})
        body = json.dumps(
            {
                "access_token": f"token-for-{query.get('client_id', 'system')}",
                "expires_on": str(int(time.time()) + 3600),
                "token_type": "Bearer",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def identity_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[IdentityEndpoint]]:
    IdentityEndpoint.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), IdentityEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{server.server_port}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "secret-header")
    try:
        yield IdentityEndpoint
    finally:
        server.shutdown()
        server.server_close()


def test_the_managed_identity_kind_asks_for_a_token_of_exactly_the_identity_named_by_azure_client_id(
    identity_endpoint: type[IdentityEndpoint],
) -> None:
    chosen = settings.load({"AZURE_CREDENTIAL_KIND": "managed-identity", "AZURE_CLIENT_ID": IDENTITY_CLIENT_ID})

    token = credentials.build(chosen).get_token(ARM_SCOPE)

    assert token.token == f"token-for-{IDENTITY_CLIENT_ID}"
    [request] = identity_endpoint.requests
    assert request["client_id"] == IDENTITY_CLIENT_ID and request["resource"] == "https://management.azure.com"
    assert request["header"] == "secret-header"


def test_arm_the_version_store_and_the_history_share_the_one_credential_of_the_process() -> None:
    chosen = settings.load(
        {
            "AZURE_CREDENTIAL_KIND": "managed-identity",
            "AZURE_CLIENT_ID": IDENTITY_CLIENT_ID,
            "VERSION_STORE_ENDPOINT": "https://stconductordat.table.core.windows.net",
        }
    )

    services = runtime.build(chosen)

    # The table clients keep the credential they were given (azure-data-tables' TableClient.credential).
    assert services.versions._client.credential is services.credential
    assert services.history._client.credential is services.credential


def test_a_bad_azure_client_id_for_the_managed_identity_is_a_bad_setting() -> None:
    with pytest.raises(settings.ConfigError) as caught:
        settings.load({"AZURE_CREDENTIAL_KIND": "managed-identity", "AZURE_CLIENT_ID": "my-identity"})

    assert set(caught.value.problems) == {"AZURE_CLIENT_ID"}


def test_without_any_sign_in_the_problem_is_one_line_that_says_how_to_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the environment credential, with nothing in the environment: no network, no az CLI.
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_USERNAME", "AZURE_CLIENT_CERTIFICATE_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")

    problem = credentials.sign_in_problem(credentials.developer_chain(), ARM_SCOPE)

    assert problem is not None and len(problem.splitlines()) == 1
    assert "az login" in problem and "AZURE_CREDENTIAL_KIND=managed-identity" in problem and "AZURE_CLIENT_ID" in problem


def test_a_credential_that_gets_a_token_has_no_sign_in_problem(identity_endpoint: type[IdentityEndpoint]) -> None:
    chosen = settings.load({"AZURE_CREDENTIAL_KIND": "managed-identity"})

    assert credentials.sign_in_problem(credentials.build(chosen), ARM_SCOPE) is None
    assert identity_endpoint.requests[0].get("client_id") is None  # no client id: the system-assigned identity
