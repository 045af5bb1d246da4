"""Credentials per AZURE_CREDENTIAL_KIND: managed identity / az login, the original client secret,
or a static token for the local emulator (Settings refuses it unless ARM_ENDPOINT is loopback)."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential

from shared import settings as settings_mod
from shared.errors import ConfigError


class EmulatorCredential:
    """A fixed bearer token for the local ARM emulator; never sent anywhere else."""

    def __init__(self, token: str = "emulator-token") -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)


def build(settings: settings_mod.Settings) -> TokenCredential:
    """The credential the ARM clients use."""
    kind = settings.credential_kind
    if kind == "emulator":
        if not settings_mod.is_loopback_url(settings.arm_endpoint):
            raise ConfigError({settings_mod.AZURE_CREDENTIAL_KIND: "emulator credential needs a loopback ARM_ENDPOINT"})
        return EmulatorCredential()
    if kind == "client-secret":
        from azure.identity import ClientSecretCredential

        assert settings.tenant_id and settings.client_id and settings.client_secret
        return ClientSecretCredential(settings.tenant_id, settings.client_id, settings.client_secret)
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()
