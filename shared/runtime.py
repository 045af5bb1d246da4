"""The process's services (settings + adapters), built once from Settings by one factory.

Activities call :func:`services`; the first call reads the environment, builds the one
credential of the process and, in the Functions host, switches on telemetry with it
(``shared/adapters/telemetry.py``). Tests and the ``ops`` CLI install their own with
:func:`install` (same adapters, pointed at the emulator and Azurite), so they never configure
telemetry.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from azure.core.credentials import TokenCredential

from shared import settings as settings_mod
from shared.adapters import arm as arm_mod
from shared.adapters import credentials, telemetry
from shared.adapters.history_store import TableHistoryStore
from shared.adapters.notifier import Notifier, NullNotifier, SlackNotifier
from shared.adapters.version_store import TableVersionStore


@dataclass(frozen=True)
class Services:
    settings: settings_mod.Settings
    arm: arm_mod.ArmGateway
    versions: TableVersionStore
    history: TableHistoryStore
    notifier: Notifier
    #: The process's one credential: ARM, the tables and the telemetry exporter share it (and its
    #: token cache).
    credential: TokenCredential


_lock = threading.Lock()
_current: Services | None = None


def build(settings: settings_mod.Settings, *, arm_client_options: dict[str, object] | None = None) -> Services:
    """Build every adapter from Settings. Nothing here sends a request."""
    credential = credentials.build(settings)
    arm = arm_mod.ArmGateway(credential, settings.arm_endpoint, client_options=arm_client_options)
    if settings.version_store_endpoint:
        # The same credential, except behind the emulator's static token (a local ARM with real
        # tables, for tooling only): that token must never go to a real table endpoint.
        table_credential = credentials.developer_chain() if settings.credential_kind == "emulator" else credential
        versions = TableVersionStore.from_endpoint(settings.version_store_endpoint, settings.version_table, table_credential)
        history = TableHistoryStore.from_endpoint(settings.version_store_endpoint, settings.history_table, table_credential)
    else:
        assert settings.version_store_connection is not None
        versions = TableVersionStore.from_connection_string(settings.version_store_connection, settings.version_table)
        history = TableHistoryStore.from_connection_string(settings.version_store_connection, settings.history_table)
    notifier: Notifier = SlackNotifier.from_url(settings.slack_webhook_url) if settings.slack_webhook_url else NullNotifier()
    return Services(settings, arm, versions, history, notifier, credential)


def services() -> Services:
    """The installed services, or ones built from the process environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = build(settings_mod.load())
            telemetry.configure(os.environ, _current.credential)
        return _current


def install(new: Services | None) -> Services | None:
    """Replace the process's services (None resets to lazy loading); returns the previous ones."""
    global _current
    with _lock:
        previous, _current = _current, new
        return previous
