"""StartClusterUpgrade: GET, re-decide and PUT one cluster's upgrade under If-Match."""

from typing import Any

import azure.durable_functions as df

from shared import logs
from shared.activities import upgrades
from shared.activity_messages import StartRequest

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def StartClusterUpgrade(payload: Any) -> dict[str, Any]:
    with logs.bound_to_payload(payload):
        return upgrades.start_cluster_upgrade(StartRequest.from_dict(payload)).to_dict()
