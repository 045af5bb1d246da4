"""NotifyRollout: send the run's Slack message (never fails the run)."""

from typing import Any

import azure.durable_functions as df

from shared import logs
from shared.activities import records
from shared.activity_messages import NotifyRequest

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def NotifyRollout(payload: Any) -> dict[str, Any]:
    with logs.bound_to_payload(payload):
        return records.notify_rollout(NotifyRequest.from_dict(payload)).to_dict()
