"""Credentials per AZURE_CREDENTIAL_KIND: the app's managed identity, the developer chain
(managed identity / az login), the original client secret, or a static token for the local
emulator (Settings refuses it unless ARM_ENDPOINT is loopback).

One credential per process: ``runtime.build`` calls :func:`build` once and hands the same object
to the ARM clients, the version store, the history and the telemetry exporter, so a token is
fetched once and cached once. In Azure, ``managed-identity`` asks exactly the identity named by
AZURE_CLIENT_ID; the developer chain (``default``) would first try environment variables,
workload identity and others, each a chance to pick up the wrong identity and a delay.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError

from shared import settings as settings_mod
from shared.domain.text import first_line
from shared.errors import ConfigError

#: How to get a token, for an operator whose machine has none.
SIGN_IN_HINT = (
    "sign in with `az login` (and `az account set --subscription <id>`), or, on a machine with a managed identity, "
    f"set {settings_mod.AZURE_CREDENTIAL_KIND}=managed-identity and {settings_mod.AZURE_CLIENT_ID}=<the identity's client id>"
)


class EmulatorCredential:
    """A fixed bearer token for the local ARM emulator; never sent anywhere else."""

    def __init__(self, token: str = "emulator-token") -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)


def build(settings: settings_mod.Settings) -> TokenCredential:
    """The process's credential (call once per process: ``runtime.build`` does)."""
    kind = settings.credential_kind
    if kind == "emulator":
        if not settings_mod.is_loopback_url(settings.arm_endpoint):
            raise ConfigError({settings_mod.AZURE_CREDENTIAL_KIND: "emulator credential needs a loopback ARM_ENDPOINT"})
        return EmulatorCredential()
    if kind == "managed-identity":
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=settings.managed_identity_client_id)
    if kind == "client-secret":
        from azure.identity import ClientSecretCredential

        assert settings.tenant_id and settings.client_id and settings.client_secret
        return ClientSecretCredential(settings.tenant_id, settings.client_id, settings.client_secret)
    return developer_chain()


def developer_chain() -> TokenCredential:
    """DefaultAzureCredential: managed identity in Azure, ``az login`` on a workstation."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def sign_in_problem(credential: TokenCredential, scope: str) -> str | None:
    """Why ``credential`` cannot get a token for ``scope`` (one line, with how to sign in), or None.

    The credential chain's own message lists every credential it tried on a dozen lines; an
    operator needs the first of them and what to do.
    """
    try:
        credential.get_token(scope)
    except ClientAuthenticationError as exc:  # CredentialUnavailableError is one too
        return f"no Azure token for {scope} ({first_line(str(exc.message or exc))}): {SIGN_IN_HINT}"
    return None
