"""A whole local estate in one process: Azurite + the ARM emulator, and the settings that point
the app at them. The demo and the benchmark run in a :func:`local_lab`; the end-to-end tests keep
one emulator and one Azurite for their whole session but build their settings with the same
:func:`app_environ`, so the demo, the benchmark and the tests cannot drift apart."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ops.azurite import Azurite
from ops.emulator import ArmEmulator, Fleet, sample_fleet


class SimulatedClock:
    """Seconds on the orchestrator's simulated clock, shared with the emulator so that an emulated
    operation of N minutes finishes after N minutes of durable timers, not of wall time."""

    def __init__(self) -> None:
        self._origin: datetime | None = None
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds

    def advance_to(self, moment: datetime) -> None:
        if self._origin is None:
            self._origin = moment
        self.seconds = max(self.seconds, (moment - self._origin).total_seconds())


@dataclass
class Lab:
    emulator: ArmEmulator
    azurite: Azurite
    clock: SimulatedClock

    def environ(self, **overrides: str) -> dict[str, str]:
        """Settings for the app against this lab (on top of nothing: the shell does not leak in)."""
        return app_environ(self.emulator.base_url, self.azurite.connection_string, **overrides)


def app_environ(arm_endpoint: str, version_store_connection: str, **overrides: str) -> dict[str, str]:
    """The app's settings against a local ARM emulator and Azurite, then ``overrides``: every
    other setting keeps its default, as a fresh deployment would."""
    env = {
        "ARM_ENDPOINT": arm_endpoint,
        "AZURE_CREDENTIAL_KIND": "emulator",
        "VERSION_STORE_CONNECTION": version_store_connection,
        "POLL_INTERVAL_SECONDS": "60",
    }
    env.update(overrides)
    return env


@contextmanager
def local_lab(
    fleet: Fleet | None = None, *, latency_ms: float = 0, page_size: int = 10, emulator_options: Mapping[str, Any] | None = None
) -> Iterator[Lab]:
    """Start Azurite and the emulator; trust the emulator's CA in this process; stop both after."""
    clock = SimulatedClock()
    with (
        Azurite() as azurite,
        ArmEmulator(
            fleet or sample_fleet(), latency_ms=latency_ms, clock=clock, page_size=page_size, **(emulator_options or {})
        ) as emulator,
    ):
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = emulator.ca_bundle_path
        try:
            yield Lab(emulator, azurite, clock)
        finally:
            if previous is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous
