"""``python -m ops demo``: a whole rollout week on the embedded sample fleet.

Starts Azurite and the ARM emulator, runs Monday (sandbox, the lead) through Thursday (prod) with
the default settings, prints what happened per day and cluster, the version store's records, and
finally one JSON line with all of it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from ops import lab as lab_mod
from ops import report, runner
from shared import runtime
from shared import settings as settings_mod
from shared.errors import VersionTableMissingError


def coming_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7)


def run_week(week_of: date | None = None) -> int:
    monday = coming_monday(week_of or date.today())
    if week_of is not None:
        monday = week_of - timedelta(days=week_of.weekday())
    results: list[dict[str, Any]] = []
    with lab_mod.local_lab() as lab:
        settings = settings_mod.load(lab.environ())
        print(f"AKS upgrade conductor demo: week of {monday} against the local ARM emulator ({lab.emulator.base_url})")
        print(
            f"plan: {', '.join(f'{w.environment}' for w in settings.rollout_plan.waves)} (Mon..Thu), "
            f"policy {settings.target_policy}, soak {settings.min_soak_hours:g} h\n"
        )
        for offset in range(4):
            day = monday + timedelta(days=offset)
            outcome = runner.execute(settings, day, on_clock_advance=lab.clock.advance_to)
            results.append(outcome.result)
            print(f"{day.strftime('%a')} " + report.run_summary(outcome.result) + "\n")
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
        print("version store (PartitionKey=validated):")
        print(
            report.table(
                [(env, str(r["version"]), str(r["validatedAt"]), str(len(r["clusters"]))) for env, r in records.items()],
                ("environment", "version", "validatedAt", "clusters"),
            )
        )
        puts = [r for r in lab.emulator.requests if r.method == "PUT"]
        print(f"\nARM requests: {len(lab.emulator.requests)} (PUTs: {len(puts)})")
    print(json.dumps({"week": results, "records": records}))
    return 1 if any(r["status"] == "failed" for r in results) else 0
