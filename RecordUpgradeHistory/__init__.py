"""RecordUpgradeHistory: append audit rows, one per cluster attempt."""

from typing import Any

import azure.durable_functions as df

from shared.activities import records

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def RecordUpgradeHistory(payload: Any) -> dict[str, Any]:
    return records.record_upgrade_history(payload)
