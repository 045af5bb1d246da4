"""CheckUpgradeProgress: one look at every in-flight upgrade."""

from typing import Any

import azure.durable_functions as df

from shared import activities

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def CheckUpgradeProgress(payload: Any) -> dict[str, Any]:
    return activities.check_upgrade_progress(payload)
