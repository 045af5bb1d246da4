"""``python -m ops demo``: a whole rollout week on the embedded sample fleet.

Starts Azurite and the ARM emulator, runs Monday (sandbox, the lead) through Thursday (prod) with
the default settings, and prints what happened per day and cluster and the version store's
records. With ``--json`` it ends with one JSON line holding all of it (without, that 4 KB line
would only be noise for a person).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO, Any

from ops import console as console_mod
from ops import lab as lab_mod
from ops import report, runner
from shared import runtime
from shared import settings as settings_mod
from shared.errors import VersionTableMissingError

#: The days of the demo week (Monday..Thursday: the default plan's four waves).
DAYS = 4


def coming_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7)


@dataclass(frozen=True)
class Week:
    """What a demo week did: its days' run results, the records at the end, ARM's request count."""

    monday: date
    arm_endpoint: str
    plan: str
    days: tuple[tuple[date, dict[str, Any]], ...]
    records: dict[str, dict[str, Any]]
    requests: int
    puts: int

    def summary(self) -> dict[str, Any]:
        """The ``--json`` document: ``{"week": [run result x 4], "records": {env: record}}``."""
        return {"week": [result for _, result in self.days], "records": self.records}

    @property
    def failed(self) -> bool:
        return any(result["status"] == "failed" for _, result in self.days)


def run_week(week_of: date | None = None, *, as_json: bool = False) -> int:
    """Run the week, print it; exit code 1 when any day failed."""
    week = play_week(week_of)
    show_week(week, as_json=as_json)
    return 1 if week.failed else 0


def play_week(week_of: date | None = None) -> Week:
    monday = coming_monday(week_of or date.today())
    if week_of is not None:
        monday = week_of - timedelta(days=week_of.weekday())
    days: list[tuple[date, dict[str, Any]]] = []
    with lab_mod.local_lab() as lab:
        settings = settings_mod.load(lab.environ())
        plan = (
            f"{', '.join(w.environment for w in settings.rollout_plan.waves)} (Mon..Thu), "
            f"policy {settings.target_policy}, soak {settings.min_soak_hours:g} h"
        )
        with console_mod.steps(f"week of {monday}", DAYS) as progress:
            for offset in range(DAYS):
                day = monday + timedelta(days=offset)
                progress.describe(f"{day.strftime('%a')} {day}")
                outcome = runner.execute(settings, day, on_clock_advance=lab.clock.advance_to)
                days.append((day, outcome.result))
                progress.advance()
        records = _records(settings)
        puts = sum(1 for r in lab.emulator.requests if r.method == "PUT")
        return Week(monday, lab.emulator.base_url, plan, tuple(days), records, len(lab.emulator.requests), puts)


def _records(settings: settings_mod.Settings) -> dict[str, dict[str, Any]]:
    store = runtime.services().versions
    records: dict[str, dict[str, Any]] = {}
    for wave in settings.rollout_plan.waves:
        try:
            record = store.read_validated(wave.environment)
        except VersionTableMissingError:
            record = None
        if record is not None:
            records[wave.environment] = {
                "version": record.version,
                "validatedAt": record.validated_at.isoformat(),
                "instanceId": record.instance_id,
                "clusters": list(record.clusters),
            }
    return records


def show_week(week: Week, *, as_json: bool, stream: IO[str] | None = None) -> None:
    """Each day per cluster and the records as tables; with ``as_json`` the JSON summary last."""
    out = console_mod.console(stream)
    out.print(f"AKS upgrade conductor demo: week of {week.monday} against the local ARM emulator ({week.arm_endpoint})")
    out.print(f"plan: {week.plan}")
    for day, result in week.days:
        out.print()
        out.print(f"{day.strftime('%a')} ", end="")
        out.print(report.run_view(result))
    out.print()
    out.print("version store (PartitionKey=validated):")
    out.print(report.records_view(week.records))
    out.print(f"ARM requests: {week.requests} (PUTs: {week.puts})")
    if as_json:
        out.file.flush()
        print(json.dumps(week.summary()), file=out.file, flush=True)
