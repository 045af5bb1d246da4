"""RecordUpgradeHistory: append audit rows, one per cluster attempt."""

from typing import Any

import azure.durable_functions as df

from shared import logs
from shared.activities import records
from shared.activity_messages import HistoryRequest

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def RecordUpgradeHistory(payload: Any) -> dict[str, Any]:
    with logs.bound_to_payload(payload):
        return records.record_upgrade_history(HistoryRequest.from_dict(payload)).to_dict()
