"""TimerStarter: the weekly trigger on %UPGRADE_SCHEDULE%; starts the wave of the occurrence's date."""

import azure.durable_functions as df
import azure.functions as func

from shared import starters

bp = df.Blueprint()


@bp.timer_trigger(schedule="%UPGRADE_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def TimerStarter(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    # schedule_status lives on the worker's concrete TimerRequest, not on the abstract type.
    await starters.timer_start(getattr(timer, "schedule_status", None), client)
