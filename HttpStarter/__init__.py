"""HttpStarter: POST /api/upgrades starts a run; GET /api/upgrades/{environment}/{date} reports it;
POST /api/upgrades/{environment}/{date}/approval or /stop intervenes in it."""

import azure.durable_functions as df
import azure.functions as func

from shared import starters

bp = df.Blueprint()


@bp.route(route="upgrades/{environment?}/{date?}/{action?}", methods=["GET", "POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def HttpStarter(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await starters.http_entry(req, client)
