"""pytest fixtures for the local ARM emulator (ops.emulator).

- ``arm_emulator``: one running :class:`ops.emulator.ArmEmulator` for the session, serving the
  sample fleet over HTTPS with a trustme CA, paging 4 items at a time so every list pages.
- ``arm``: the same emulator reset for this test: fresh sample fleet, no faults, no recorded
  requests, no added latency (waited out with ``time.sleep``), no throttling (a test may
  ``arm.enable_throttling(clock)``; it is off again after the test). Use this one in tests.
- ``arm_credential``: a static bearer token (:class:`ops.emulator.StaticTokenCredential`).
- ``arm_client_kwargs``: keyword arguments for any Azure mgmt client aimed at the emulator
  (``base_url``, ``connection_verify``, small retry backoff so retried faults stay fast).
- ``container_service``: ``container_service(subscription_id)`` builds a real ContainerServiceClient.
- ``arm_env``: sets REQUESTS_CA_BUNDLE / SSL_CERT_FILE to the emulator's CA for this test and
  returns the settings that point the app at it (ARM_ENDPOINT, AZURE_CREDENTIAL_KIND=emulator).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.mgmt.containerservice import ContainerServiceClient

from ops.emulator import ArmEmulator, StaticTokenCredential, sample_fleet

NONPROD_SUBSCRIPTION = "00000000-0000-0000-0000-00000000a001"
PROD_SUBSCRIPTION = "00000000-0000-0000-0000-00000000a002"
SESSION_PAGE_SIZE = 4


@pytest.fixture(scope="session")
def arm_emulator() -> Iterator[ArmEmulator]:
    with ArmEmulator(sample_fleet(), page_size=SESSION_PAGE_SIZE) as emulator:
        yield emulator


@pytest.fixture
def arm(arm_emulator: ArmEmulator) -> Iterator[ArmEmulator]:
    arm_emulator.disable_throttling()
    arm_emulator.reset(sample_fleet())
    arm_emulator.latency_ms = 0
    arm_emulator.latency_wait = time.sleep
    arm_emulator.page_size = SESSION_PAGE_SIZE
    yield arm_emulator
    arm_emulator.disable_throttling()
    arm_emulator.clear_faults()
    arm_emulator.latency_ms = 0
    arm_emulator.latency_wait = time.sleep


@pytest.fixture(scope="session")
def arm_credential() -> StaticTokenCredential:
    return StaticTokenCredential()


@pytest.fixture
def arm_client_kwargs(arm: ArmEmulator) -> dict[str, Any]:
    return {
        "base_url": arm.base_url,
        "connection_verify": arm.ca_bundle_path,
        "retry_backoff_factor": 0.01,
        "retry_backoff_max": 0.1,
    }


@pytest.fixture
def container_service(
    arm_credential: StaticTokenCredential, arm_client_kwargs: dict[str, Any]
) -> Iterator[Callable[[str], ContainerServiceClient]]:
    clients: list[ContainerServiceClient] = []

    def make(subscription_id: str = NONPROD_SUBSCRIPTION) -> ContainerServiceClient:
        client = ContainerServiceClient(arm_credential, subscription_id, **arm_client_kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def arm_env(arm: ArmEmulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", arm.ca_bundle_path)
    monkeypatch.setenv("SSL_CERT_FILE", arm.ca_bundle_path)
    return {"ARM_ENDPOINT": arm.base_url, "AZURE_CREDENTIAL_KIND": "emulator"}
