"""CheckClusterHealth: the health gate for upgrades whose operation succeeded and has settled."""

from typing import Any

import azure.durable_functions as df

from shared import logs
from shared.activities import upgrades
from shared.activity_messages import HealthRequest

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def CheckClusterHealth(payload: Any) -> dict[str, Any]:
    with logs.bound_to_payload(payload):
        return upgrades.check_cluster_health(HealthRequest.from_dict(payload)).to_dict()
