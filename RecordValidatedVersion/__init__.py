"""RecordValidatedVersion: write the environment's validated version."""

from typing import Any

import azure.durable_functions as df

from shared import logs
from shared.activities import records
from shared.activity_messages import RecordRequest

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload")
def RecordValidatedVersion(payload: Any) -> dict[str, Any]:
    with logs.bound_to_payload(payload):
        return records.record_validated_version(RecordRequest.from_dict(payload)).to_dict()
