"""LoadRolloutSettings: hand the orchestrator the settings it decides on (it may not read them itself)."""

from typing import Any

import azure.durable_functions as df

from shared.activities import records

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def LoadRolloutSettings(payload: Any) -> dict[str, Any]:
    return records.load_rollout_settings().to_dict()
