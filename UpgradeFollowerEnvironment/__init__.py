"""UpgradeFollowerEnvironment: check the predecessor's validated version (present, soaked) and plan the follower's clusters up to it."""

from typing import Any

import azure.durable_functions as df

from shared import logs
from shared.activities import planning
from shared.activity_messages import FollowerPlanRequest

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def UpgradeFollowerEnvironment(payload: Any) -> dict[str, Any]:
    with logs.bound_to_payload(payload):
        return planning.plan_follower_environment(FollowerPlanRequest.from_dict(payload)).to_dict()
