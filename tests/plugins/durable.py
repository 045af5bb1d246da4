"""pytest fixtures for driving durable code in-process.

- ``local_durable_host``: factory ``(app_or_registry, **options) -> LocalDurableHost``;
  the host is started on loopback and stopped at teardown. ``options`` are
  ``LocalDurableHost``'s (``clock``, ``run_on_start``, ...).
- ``durable_client_run``: runs a coroutine that uses ``DurableOrchestrationClient`` (or a
  starter) in a fresh event loop and closes the SDK's shared aiohttp session afterwards.
- ``fixed_utc``: a fixed, timezone-aware start time for deterministic runs.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from ops.durable.http_api import LocalDurableHost
from ops.durable.registry import run_with_sdk_session

T = TypeVar("T")

LocalDurableHostFactory = Callable[..., LocalDurableHost]


@pytest.fixture
def fixed_utc() -> datetime:
    return datetime(2024, 3, 4, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC


@pytest.fixture
def local_durable_host() -> Iterator[LocalDurableHostFactory]:
    hosts: list[LocalDurableHost] = []

    def factory(app: Any, **options: Any) -> LocalDurableHost:
        host = LocalDurableHost(app, **options)
        host.start()
        hosts.append(host)
        return host

    yield factory
    for host in hosts:
        host.stop()


@pytest.fixture
def durable_client_run() -> Callable[[Coroutine[Any, Any, T]], T]:
    return run_with_sdk_session
