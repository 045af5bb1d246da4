"""The process's services (settings + adapters), built once from Settings by one factory.

Activities call :func:`services`; the first call reads the environment. Tests and the ``ops``
CLI install their own with :func:`install` (same adapters, pointed at the emulator and Azurite).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from shared import settings as settings_mod
from shared.adapters import arm as arm_mod
from shared.adapters import credentials
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


_lock = threading.Lock()
_current: Services | None = None


def build(settings: settings_mod.Settings, *, arm_client_options: dict[str, object] | None = None) -> Services:
    """Build every adapter from Settings. Nothing here sends a request."""
    credential = credentials.build(settings)
    arm = arm_mod.ArmGateway(credential, settings.arm_endpoint, client_options=arm_client_options)
    if settings.version_store_endpoint:
        from azure.identity import DefaultAzureCredential

        table_credential = DefaultAzureCredential()
        versions = TableVersionStore.from_endpoint(settings.version_store_endpoint, settings.version_table, table_credential)
        history = TableHistoryStore.from_endpoint(settings.version_store_endpoint, settings.history_table, table_credential)
    else:
        assert settings.version_store_connection is not None
        versions = TableVersionStore.from_connection_string(settings.version_store_connection, settings.version_table)
        history = TableHistoryStore.from_connection_string(settings.version_store_connection, settings.history_table)
    notifier: Notifier = SlackNotifier.from_url(settings.slack_webhook_url) if settings.slack_webhook_url else NullNotifier()
    return Services(settings, arm, versions, history, notifier)


def services() -> Services:
    """The installed services, or ones built from the process environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = build(settings_mod.load())
        return _current


def install(new: Services | None) -> Services | None:
    """Replace the process's services (None resets to lazy loading); returns the previous ones."""
    global _current
    with _lock:
        previous, _current = _current, new
        return previous
