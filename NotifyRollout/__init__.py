"""NotifyRollout: send the run's Slack message (never fails the run)."""

from typing import Any

import azure.durable_functions as df

from shared.activities import records

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def NotifyRollout(payload: Any) -> dict[str, Any]:
    return records.notify_rollout(payload)
