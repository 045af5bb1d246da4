"""UpgradeLeadEnvironment: discover the lead environment's clusters and choose each one's newest allowed GA version."""

from typing import Any

import azure.durable_functions as df

from shared import logs
from shared.activities import planning
from shared.activity_messages import LeadPlanRequest

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def UpgradeLeadEnvironment(payload: Any) -> dict[str, Any]:
    with logs.bound_to_payload(payload):
        return planning.plan_lead_environment(LeadPlanRequest.from_dict(payload)).to_dict()
