"""UpgradeOrchestrator: one rollout run for one environment and date (deterministic)."""

import azure.durable_functions as df

from shared import orchestration

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def UpgradeOrchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield from orchestration.run(context))
