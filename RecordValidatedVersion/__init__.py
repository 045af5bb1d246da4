"""RecordValidatedVersion: write the environment's validated version."""

from typing import Any

import azure.durable_functions as df

from shared import activities

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def RecordValidatedVersion(payload: Any) -> dict[str, Any]:
    return activities.record_validated_version(payload)
