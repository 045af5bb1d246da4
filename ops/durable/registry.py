"""Find the orchestrators, activities and starters of a v2-model ``df.DFApp`` by function name.

Uses only the app's public indexing surface (``get_functions()`` and each function's name,
trigger and bindings), the same information the Python worker indexes at start-up, so the
driver calls exactly the callables the worker would:

- an orchestrator's user function *is* the ``Orchestrator.create`` handle
  (``Blueprint._configure_orchestrator_callable``);
- an activity's user function takes its decoded input as the keyword named by the
  ``activityTrigger`` binding (the worker's ``ActivityTriggerConverter``);
- a starter's user function is the SDK's async ``df_client_middleware``, which expects the
  client binding *JSON string* under the ``durableClient`` binding's name
  (``Blueprint._add_rich_client``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"
DURABLE_CLIENT = "durableClient"

T = TypeVar("T")


@dataclass(frozen=True)
class ActivityCallable:
    """An activity's user function, called with its decoded input (``json.loads`` of the
    scheduled input, as the worker's ActivityTriggerConverter decodes it) as the keyword the
    ``activityTrigger`` binding names. Async activities are run to completion."""

    name: str
    function: Callable[..., Any]
    input_parameter: str

    def __call__(self, value: Any) -> Any:
        result = self.function(**{self.input_parameter: value})
        if inspect.isawaitable(result):
            return _run_awaitable(result)
        return result


@dataclass(frozen=True)
class StarterFunction:
    """A durable client function (TimerStarter, HttpStarter): the SDK's client middleware."""

    name: str
    function: Callable[..., Awaitable[Any]]
    client_parameter: str
    trigger_type: str | None

    async def invoke(self, client_json: str, **kwargs: Any) -> Any:
        """Await the starter with the client binding JSON passed as the host passes it."""
        return await self.function(**kwargs, **{self.client_parameter: client_json})

    def call(self, client_json: str, **kwargs: Any) -> Any:
        """Run the starter in a fresh event loop and close the SDK's shared HTTP session."""
        return run_with_sdk_session(self.invoke(client_json, **kwargs))


@dataclass(frozen=True)
class DurableRegistry:
    orchestrators: dict[str, Callable[[str], str]]
    activities: dict[str, ActivityCallable]
    starters: dict[str, StarterFunction]


def registry_from_app(app: Any) -> DurableRegistry:
    """Index ``app`` (a ``df.DFApp`` with its blueprints registered) by function name."""
    orchestrators: dict[str, Callable[[str], str]] = {}
    activities: dict[str, ActivityCallable] = {}
    starters: dict[str, StarterFunction] = {}
    # FunctionApp.get_functions() records the names it validated in ``functions_bindings`` and
    # refuses every name as a duplicate on a second call; start each indexing from a clean
    # slate (duplicates within one app are still refused).
    if getattr(app, "functions_bindings", None):
        app.functions_bindings = None
    for function in app.get_functions():
        name = str(function.get_function_name())
        user_function = function.get_user_function()
        trigger = function.get_trigger()
        trigger_type = getattr(trigger, "type", None)
        if trigger_type == ORCHESTRATION_TRIGGER:
            orchestrators[name] = user_function
        elif trigger_type == ACTIVITY_TRIGGER:
            activities[name] = ActivityCallable(name, user_function, str(trigger.name))
        for binding in function.get_bindings():
            if getattr(binding, "type", None) == DURABLE_CLIENT:
                starters[name] = StarterFunction(name, user_function, str(binding.name), trigger_type)
    return DurableRegistry(orchestrators, activities, starters)


def run_with_sdk_session(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` a coroutine that uses DurableOrchestrationClient, then close the SDK's
    module-wide aiohttp session, which is bound to the loop that created it."""

    async def _wrapped() -> T:
        try:
            return await coroutine
        finally:
            await close_sdk_session()

    return asyncio.run(_wrapped())


async def close_sdk_session() -> None:
    """Close the SDK's shared aiohttp ClientSession (azure-functions-durable >= 1.3)."""
    from azure.durable_functions.models.utils import http_utils

    closer = getattr(http_utils, "_close_session", None)
    if closer is not None:
        await closer()


def _run_awaitable(awaitable: Awaitable[T]) -> T:
    async def _await() -> T:
        return await awaitable

    return asyncio.run(_await())
