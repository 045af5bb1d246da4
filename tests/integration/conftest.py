"""Fixtures shared by the starter tests: the real function app's starters on a local Durable
HTTP API, with every contract setting cleared and the default plan set explicitly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ops.durable.http_api import LocalDurableHost
from ops.durable.registry import DurableRegistry, registry_from_app
from shared import settings as settings_mod

SETTING_NAMES = (
    settings_mod.ROLLOUT_PLAN,
    settings_mod.UPGRADE_SCHEDULE,
    settings_mod.SUBSCRIPTION_IDS,
    settings_mod.CLUSTER_SELECTOR,
    settings_mod.OPT_OUT_TAG,
    settings_mod.TARGET_POLICY,
    settings_mod.MIN_SOAK_HOURS,
    settings_mod.FREEZE_DATES,
    settings_mod.MAX_PARALLEL_UPGRADES,
    settings_mod.DRY_RUN,
    settings_mod.ARM_ENDPOINT,
    settings_mod.AZURE_CREDENTIAL_KIND,
    settings_mod.VERSION_STORE_CONNECTION,
    settings_mod.VERSION_STORE_ENDPOINT,
    settings_mod.AZURE_WEBJOBS_STORAGE,
    settings_mod.VERSION_TABLE,
    settings_mod.HISTORY_TABLE,
    settings_mod.SLACK_WEBHOOK_URL,
    settings_mod.POLL_INTERVAL_SECONDS,
    settings_mod.UPGRADE_TIMEOUT_MINUTES,
    settings_mod.TENANT_ID,
    settings_mod.CLIENT_ID,
    settings_mod.CLIENT_SECRET,
)
DEFAULT_PLAN = {
    "timezone": "Europe/Oslo",
    "waves": [
        {"day": "Mon", "environment": "sandbox"},
        {"day": "Tue", "environment": "dev"},
        {"day": "Wed", "environment": "test"},
        {"day": "Thu", "environment": "prod"},
    ],
}


@pytest.fixture(scope="module")
def registry() -> DurableRegistry:
    from function_app import app

    return registry_from_app(app)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment for every contract setting, then the default plan explicitly."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(settings_mod.ROLLOUT_PLAN, json.dumps(DEFAULT_PLAN))
    return monkeypatch


@pytest.fixture
def host(local_durable_host: Any, registry: DurableRegistry, settings_env: pytest.MonkeyPatch) -> Iterator[LocalDurableHost]:
    yield local_durable_host(registry, run_on_start=False)
