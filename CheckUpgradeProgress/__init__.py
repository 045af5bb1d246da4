"""CheckUpgradeProgress: one look at every in-flight upgrade."""

from typing import Any

import azure.durable_functions as df

from shared import logs
from shared.activities import upgrades
from shared.activity_messages import ProgressRequest

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def CheckUpgradeProgress(payload: Any) -> dict[str, Any]:
    with logs.bound_to_payload(payload):
        return upgrades.check_upgrade_progress(ProgressRequest.from_dict(payload)).to_dict()
