"""RequestApproval: ask people for a decision on the plan (one Slack message; never fails the run)."""

from typing import Any

import azure.durable_functions as df

from shared import logs
from shared.activities import records
from shared.activity_messages import ApprovalNotice

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def RequestApproval(payload: Any) -> dict[str, Any]:
    with logs.bound_to_payload(payload):
        return records.request_approval(ApprovalNotice.from_dict(payload)).to_dict()
