"""NotifyRollout: send the run's Slack message (never fails the run)."""

from typing import Any

import azure.durable_functions as df

from shared import activities

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def NotifyRollout(payload: Any) -> dict[str, Any]:
    return activities.notify_rollout(payload)
