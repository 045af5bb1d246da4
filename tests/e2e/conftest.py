"""End-to-end fixtures: the whole app (function_app → orchestrator → activities) driven in-process
through the durable SDK's replay, against the ARM emulator (HTTPS, real SDK clients) and Azurite.

``conductor`` gives each test fresh tables and a fresh sample fleet; ``conductor.run(...)`` is
``python -m ops run`` minus the process boundary, ``conductor.cli(...)`` is the real command line.

Dates: every test takes its days from ``MON``..``SAT`` below, and its instance ids, freeze ranges
and expected clocks from the helpers here, never from literals. ``E2E_WEEK_OF=YYYY-MM-DD`` moves
the whole layer to the week holding that date (default: the week of 2026-11-30), so that running
it a year forward and a year back (``make e2e-shifted``) proves no test depends on today's date.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ops import lab, runner
from ops.azurite import Azurite
from ops.emulator import ArmEmulator
from shared import runtime
from shared import settings as settings_mod
from shared.adapters.history_store import TableHistoryStore
from shared.adapters.version_store import TableVersionStore
from shared.domain import dates
from shared.domain.records import ValidatedRecord
from shared.errors import VersionTableMissingError

REPO = Path(__file__).resolve().parents[2]
FAST_ARM = {"retry_backoff_factor": 0.01, "retry_backoff_max": 0.2}

WEEK_OF_VARIABLE = "E2E_WEEK_OF"
DEFAULT_WEEK_OF = "2026-11-30"
#: The default settings' run clock: UPGRADE_SCHEDULE 10:00 in ROLLOUT_PLAN's Europe/Oslo.
SCHEDULE_TIME, PLAN_ZONE = time(10, 0), ZoneInfo("Europe/Oslo")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder carries the ``e2e`` marker (``pytest -m "not e2e"`` leaves the layer out).

    pytest calls this hook with every collected item, not only this folder's, hence the path check.
    """
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


def week_monday(text: str) -> date:
    """The Monday of the week holding ``text`` (YYYY-MM-DD); a bad value names the variable."""
    try:
        day = dates.parse_date(text.strip())
    except ValueError as exc:
        raise pytest.UsageError(f"{WEEK_OF_VARIABLE} must be a date YYYY-MM-DD: {exc}") from None
    return day - timedelta(days=day.weekday())


# One rollout week: Monday .. Saturday of E2E_WEEK_OF's week (default 2026-11-30 .. 2026-12-05).
MON, TUE, WED, THU, FRI, SAT = (week_monday(os.environ.get(WEEK_OF_VARIABLE) or DEFAULT_WEEK_OF) + timedelta(days=n) for n in range(6))


def iso(day: date) -> str:
    """``day`` as the CLI, the HTTP API and instance ids spell it."""
    return day.isoformat()


def instance_id(environment: str, day: date) -> str:
    """The durable instance id of ``environment``'s run for ``day``: aks-upgrade-<env>-<date>."""
    return f"aks-upgrade-{environment}-{iso(day)}"


def freeze_range(first: date, last: date) -> str:
    """A FREEZE_DATES range covering ``first`` .. ``last``."""
    return f"{iso(first)}..{iso(last)}"


def schedule_start(day: date) -> datetime:
    """When a run for ``day`` starts under the default settings, in UTC, worked out with zoneinfo
    (so a week on the other side of a daylight-saving change gets its own UTC hour)."""
    return datetime.combine(day, SCHEDULE_TIME, tzinfo=PLAN_ZONE).astimezone(UTC)


@dataclass
class Conductor:
    arm: ArmEmulator
    azurite: Azurite
    version_table: str
    history_table: str
    overrides: dict[str, str] = field(default_factory=dict)

    def environ(self, **extra: str) -> dict[str, str]:
        """The demo's settings (ops.lab builds both), on this test's own tables."""
        tables = {"VERSION_TABLE": self.version_table, "HISTORY_TABLE": self.history_table}
        return lab.app_environ(self.arm.base_url, self.azurite.connection_string, **{**tables, **self.overrides, **extra})

    def settings(self, **extra: str) -> settings_mod.Settings:
        return settings_mod.load(self.environ(**extra))

    def run(self, day: date, environment: str | None = None, *, dry_run: bool = False, **extra: str) -> dict[str, Any]:
        return self.execute(day, environment, dry_run=dry_run, **extra).result

    def execute(self, day: date, environment: str | None = None, *, dry_run: bool = False, **extra: str) -> runner.RunOutcome:
        settings = self.settings(**extra)
        services = runtime.build(settings, arm_client_options=FAST_ARM)
        return runner.execute(settings, day, environment, dry_run=dry_run, services=services)

    @property
    def versions(self) -> TableVersionStore:
        return TableVersionStore.from_connection_string(self.azurite.connection_string, self.version_table)

    @property
    def history(self) -> TableHistoryStore:
        return TableHistoryStore.from_connection_string(self.azurite.connection_string, self.history_table)

    def record(self, environment: str) -> ValidatedRecord | None:
        """The environment's validated record; None when absent (or when no table was ever written)."""
        try:
            return self.versions.read_validated(environment)
        except VersionTableMissingError:
            return None

    def puts(self) -> list[Any]:
        return [r for r in self.arm.requests if r.method == "PUT"]

    def put_targets(self) -> dict[str, str]:
        """cluster name → kubernetesVersion of every PUT (a second PUT for a name would overwrite: count separately)."""
        return {r.path.rsplit("/", 1)[-1]: r.body["properties"]["kubernetesVersion"] for r in self.puts()}

    def cli(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
        env.update(self.environ(**extra))
        env["REQUESTS_CA_BUNDLE"] = self.arm.ca_bundle_path
        return subprocess.run([sys.executable, "-m", "ops", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)

    @staticmethod
    def last_json(process: subprocess.CompletedProcess[str]) -> Any:
        lines = [line for line in process.stdout.splitlines() if line.strip()]
        assert lines, f"no output; stderr: {process.stderr}"
        return json.loads(lines[-1])


@pytest.fixture
def conductor(arm: ArmEmulator, arm_env: dict[str, str], azurite: Azurite, version_table_name: str, history_table_name: str) -> Conductor:
    arm.clear_requests()
    yield Conductor(arm, azurite, version_table_name, history_table_name)
    runtime.install(None)


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"].rsplit("/", 1)[-1]: c for c in result["clusters"]}
