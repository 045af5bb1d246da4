"""StartClusterUpgrade: GET, re-decide and PUT one cluster's upgrade under If-Match."""

from typing import Any

import azure.durable_functions as df

from shared import activities

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def StartClusterUpgrade(payload: Any) -> dict[str, Any]:
    return activities.start_cluster_upgrade(payload)
