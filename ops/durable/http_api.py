"""A local stand-in for the Durable Functions HTTP API the Functions host serves.

``DurableOrchestrationClient`` (the object a ``durableClient`` binding gives a starter) talks
to the host over HTTP: it POSTs to ``{rpcBaseUrl}orchestrators/{name}/{id}`` to start an
instance, GETs ``{rpcBaseUrl}instances/{id}`` for its status, and so on. ``LocalDurableHost``
serves those routes on loopback, backed by an in-memory instance store whose instances run
through the in-process replay driver, so TimerStarter and HttpStarter run unmodified against
the SDK's real client. It also serves the public webhook routes the management URLs point at
(``/runtime/webhooks/durabletask/instances/{id}?...&code=...``), so a test can GET the
``Location`` of a ``create_check_status_response`` answer.

Start-up is configurable: run each instance as far as it goes when it starts (the default: to
completion, or until it waits for an external event, which ``raiseEvent`` delivers), or leave it
Pending so a test can observe the "already running" path (``drive()`` then runs it). With
``hold_timers`` durable timers fire only when a test lets time pass (``advance()``): an instance
then stops at every wait, for an approval or between polls, where an HTTP request can reach it,
and goes on step by step, never by the wall clock. ``seed()`` puts an instance in any runtime
status, without running anything. Only what the starters use is served: start, status and raise
event.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
from aiohttp import web

from ops.durable import history as h
from ops.durable.driver import ActivityFunction, OrchestrationDriver, OrchestrationRun, OrchestratorHandle
from ops.durable.registry import DurableRegistry, registry_from_app

__all__ = [
    "InstanceRecord",
    "LocalDurableHost",
    "RecordedRequest",
    "client_binding_json",
]

RPC_PATH = "/durabletask/"
WEBHOOK_PATH = "/runtime/webhooks/durabletask"
INSTANCE_ID_PLACEHOLDER = "INSTANCEID"
DEFAULT_TASK_HUB = "TestHubName"
DEFAULT_SYSTEM_KEY = "local-durabletask-extension-key"

RUNNING_STATUSES = frozenset({"Pending", "Running", "Suspended", "ContinuedAsNew"})
FINISHED_STATUSES = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
ALL_STATUSES = RUNNING_STATUSES | FINISHED_STATUSES


def client_binding_json(
    base_url: str,
    *,
    task_hub: str = DEFAULT_TASK_HUB,
    system_key: str = DEFAULT_SYSTEM_KEY,
    connection: str = "Storage",
) -> str:
    """The JSON string the host passes as a ``durableClient`` binding, pointing at ``base_url``.

    Same shape as the Functions host's (``managementUrls.id`` is the ``INSTANCEID``
    placeholder the client replaces; ``rpcBaseUrl`` ends in ``/``).
    """
    base = base_url.rstrip("/")
    webhook = f"{base}{WEBHOOK_PATH}"
    instance = f"{webhook}/instances/{INSTANCE_ID_PLACEHOLDER}"
    common = f"taskHub={task_hub}&connection={connection}&code={system_key}"
    return json.dumps(
        {
            "taskHubName": task_hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{webhook}/orchestrators/{{functionName}}[/{{instanceId}}]?code={system_key}",
                "createAndWaitOnNewInstancePostUri": f"{webhook}/orchestrators/{{functionName}}[/{{instanceId}}]"
                f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}"
                f"&code={system_key}",
            },
            "managementUrls": {
                "id": INSTANCE_ID_PLACEHOLDER,
                "purgeHistoryDeleteUri": f"{instance}?{common}",
                "restartPostUri": f"{instance}/restart?{common}",
                "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{common}",
                "statusQueryGetUri": f"{instance}?{common}",
                "terminatePostUri": f"{instance}/terminate?reason={{text}}&{common}",
                "resumePostUri": f"{instance}/resume?reason={{text}}&{common}",
                "suspendPostUri": f"{instance}/suspend?reason={{text}}&{common}",
                "rewindPostUri": f"{instance}/rewind?reason={{text}}&{common}",
            },
            "baseUrl": webhook,
            "requiredQueryStringParameters": f"code={system_key}",
            "rpcBaseUrl": f"{base}{RPC_PATH}",
            "httpBaseUrl": "",
        }
    )


@dataclass
class InstanceRecord:
    """One instance in the local store. ``run`` is the driver's last result, if it ran."""

    instance_id: str
    name: str
    input: Any
    runtime_status: str
    created: datetime
    last_updated: datetime
    output: Any = None
    custom_status: Any = None
    run: OrchestrationRun | None = None
    driver: OrchestrationDriver | None = field(default=None, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: (event name, data) raised on a seeded instance, which has no driver to deliver them to.
    raised: list[tuple[str, Any]] = field(default_factory=list)

    def status_json(self, *, show_input: bool = True) -> dict[str, Any]:
        return {
            "name": self.name,
            "instanceId": self.instance_id,
            "createdTime": _http_time(self.created),
            "lastUpdatedTime": _http_time(self.last_updated),
            "input": self.input if show_input else None,
            "output": self.output,
            "runtimeStatus": self.runtime_status,
            "customStatus": self.custom_status,
        }


@dataclass(frozen=True)
class RecordedRequest:
    """A request the local host answered, for tests that assert what a starter sent."""

    method: str
    path: str
    query: dict[str, str]
    body: str
    status: int


class LocalDurableHost:
    """The Durable HTTP API on loopback, backed by the in-process driver.

    ``app`` is a ``df.DFApp`` (indexed with ``registry_from_app``) or its ``DurableRegistry``.
    ``clock`` gives the simulated start time of each instance (default: the wall clock, UTC).
    ``hold_timers``: each instance's timers wait for ``advance()`` instead of firing at once.
    """

    def __init__(
        self,
        app: Any,
        *,
        clock: Callable[[], datetime] | None = None,
        run_on_start: bool = True,
        task_hub: str = DEFAULT_TASK_HUB,
        system_key: str = DEFAULT_SYSTEM_KEY,
        host: str = "127.0.0.1",
        hold_timers: bool = False,
    ) -> None:
        registry = app if isinstance(app, DurableRegistry) else registry_from_app(app)
        self.orchestrators: dict[str, OrchestratorHandle] = dict(registry.orchestrators)
        self.activities: dict[str, ActivityFunction] = dict(registry.activities)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.run_on_start = run_on_start
        self.hold_timers = hold_timers
        self.task_hub = task_hub
        self.system_key = system_key
        self.instances: dict[str, InstanceRecord] = {}
        self.requests: list[RecordedRequest] = []
        self._store_lock = threading.RLock()
        self._host = host
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> LocalDurableHost:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._thread is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, 0))
        self._port = sock.getsockname()[1]
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._runner = web.AppRunner(self._web_app(), access_log=None)
                loop.run_until_complete(self._runner.setup())
                loop.run_until_complete(web.SockSite(self._runner, sock).start())
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="local-durable-host", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise RuntimeError("local durable host failed to start") from failure[0]

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None
        self._loop = None

    # -- addresses ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def client_json(self) -> str:
        """The ``durableClient`` binding JSON for starters, pointing at this host."""
        return client_binding_json(self.base_url, task_hub=self.task_hub, system_key=self.system_key)

    def status_url(self, instance_id: str) -> str:
        query = urlencode({"taskHub": self.task_hub, "connection": "Storage", "code": self.system_key})
        return f"{self.base_url}{WEBHOOK_PATH}/instances/{instance_id}?{query}"

    def http_request(
        self, method: str, path: str, *, body: Any = None, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> func.HttpRequest:
        """A ``func.HttpRequest`` whose origin is this host, so the management URLs that
        ``create_check_status_response`` rewrites to the request's origin stay reachable."""
        raw = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        data = raw.encode() if isinstance(raw, str) else (raw or b"")
        url = f"{self.base_url}/{path.lstrip('/')}"
        return func.HttpRequest(
            method=method, url=url, body=data, params=dict(params or {}), headers={"Content-Type": "application/json", **(headers or {})}
        )

    # -- the store ------------------------------------------------------------------------

    def get(self, instance_id: str) -> InstanceRecord | None:
        with self._store_lock:
            return self.instances.get(instance_id)

    def seed(
        self,
        instance_id: str,
        runtime_status: str,
        *,
        name: str = "UpgradeOrchestrator",
        input: Any = None,
        output: Any = None,
        custom_status: Any = None,
        created: datetime | None = None,
    ) -> InstanceRecord:
        """Put an instance in the store in any runtime status, without running anything."""
        if runtime_status not in ALL_STATUSES:
            raise ValueError(f"unknown runtime status {runtime_status!r}")
        moment = created or self.clock()
        record = InstanceRecord(instance_id, name, input, runtime_status, moment, moment, output=output, custom_status=custom_status)
        with self._store_lock:
            self.instances[instance_id] = record
        return record

    def start_instance(self, name: str, instance_id: str | None, input: Any) -> InstanceRecord:
        """What the start route does: create (or replace) an instance, and run it if configured."""
        if name not in self.orchestrators:
            raise KeyError(name)
        instance_id = instance_id or uuid.uuid4().hex
        now = self.clock()
        driver = OrchestrationDriver(
            self.orchestrators[name],
            self.activities,
            instance_id=instance_id,
            input=input,
            start_time=now,
            name=name,
            hold_timers=self.hold_timers,
        )
        record = InstanceRecord(instance_id, name, input, "Pending", now, now, driver=driver)
        with self._store_lock:
            self.instances[instance_id] = record
        if self.run_on_start:
            self._drive(record)
        return record

    def raise_event(self, instance_id: str, event_name: str, data: Any) -> int:
        record = self.get(instance_id)
        if record is None:
            return 404
        with record.lock:
            if record.runtime_status in FINISHED_STATUSES:
                return 410
            if record.driver is None:  # a seeded instance: keep the event for the test to see
                record.raised.append((event_name, data))
                return 202
            record.driver.raise_event(event_name, data)
            resume = self.run_on_start and record.runtime_status == "Running"
        if resume:
            self._drive(record)
        return 202

    def drive(self, instance_id: str) -> InstanceRecord:
        """Run a started instance as far as it goes now: until it ends, or waits for an event (or a
        held timer). What the host does by itself on a start or an event unless ``run_on_start``
        is off."""
        record = self._driven(instance_id)
        self._drive(record)
        return record

    def advance(self, instance_id: str) -> InstanceRecord:
        """Let time pass for an instance waiting on a held timer: its clock moves to its earliest
        pending timer, which fires, and it runs until it waits again or ends."""
        record = self._driven(instance_id)
        self._drive(record, advance_clock=True)
        return record

    def _driven(self, instance_id: str) -> InstanceRecord:
        record = self.get(instance_id)
        if record is None:
            raise KeyError(f"no instance {instance_id!r}")
        if record.driver is None:
            raise ValueError(f"instance {instance_id!r} was seeded, not started: nothing runs it")
        return record

    def _drive(self, record: InstanceRecord, *, advance_clock: bool = False) -> OrchestrationRun | None:
        with record.lock:
            driver = record.driver
            if driver is None or record.runtime_status not in ("Pending", "Running"):
                return None
            if advance_clock:
                driver.advance_clock()
            record.runtime_status = "Running"
            try:
                run = driver.run()
            except Exception as exc:  # a driver guard rail: report it as the host would
                record.runtime_status = "Failed"
                record.output = f"{type(exc).__name__}: {exc}"
                record.last_updated = driver.now
                record.run = driver.result()
                raise
            record.run = run
            record.runtime_status = run.runtime_status
            record.output = run.output if run.runtime_status == "Completed" else run.error
            record.custom_status = run.custom_status
            record.last_updated = run.finished
            return run

    # -- HTTP -----------------------------------------------------------------------------

    def _web_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record_middleware])
        for prefix, public in ((RPC_PATH.rstrip("/"), False), (WEBHOOK_PATH, True)):
            guard = self._require_key if public else _identity
            app.router.add_post(prefix + "/orchestrators/{name}", guard(self._http_start))
            app.router.add_post(prefix + "/orchestrators/{name}/{instance_id}", guard(self._http_start))
            app.router.add_get(prefix + "/instances/{instance_id}", guard(self._http_status))
            app.router.add_post(prefix + "/instances/{instance_id}/raiseEvent/{event}", guard(self._http_raise_event))
        return app

    @web.middleware
    async def _record_middleware(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        body = await request.text() if request.can_read_body else ""
        response: web.StreamResponse = await handler(request)
        self.requests.append(RecordedRequest(request.method, request.path, dict(request.query), body, response.status))
        return response

    def _require_key(self, handler: Callable[[web.Request], Any]) -> Callable[[web.Request], Any]:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if request.query.get("code") != self.system_key:
                return web.json_response({"Message": "missing or wrong code"}, status=401)
            result: web.StreamResponse = await handler(request)
            return result

        return guarded

    async def _http_start(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        instance_id = request.match_info.get("instance_id")
        try:
            client_input = _decode_start_body(await request.text())
        except ValueError as exc:
            return web.json_response({"ExceptionMessage": str(exc)}, status=400)
        if name not in self.orchestrators:
            known = ", ".join(sorted(self.orchestrators)) or "none"
            return web.json_response(
                {
                    "ExceptionMessage": f"The function '{name}' doesn't exist, is disabled, or is "
                    f"not an orchestrator function. Known: {known}"
                },
                status=400,
            )
        loop = asyncio.get_running_loop()
        record = await loop.run_in_executor(None, self.start_instance, name, instance_id, client_input)
        payload = self._management_payload(record.instance_id)
        return web.json_response(payload, status=202, headers={"Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    async def _http_status(self, request: web.Request) -> web.StreamResponse:
        record = self.get(request.match_info["instance_id"])
        if record is None:
            return web.Response(status=404)
        body = record.status_json(show_input=_flag(request.query.get("showInput"), default=True))
        if record.runtime_status in RUNNING_STATUSES:
            return web.json_response(body, status=202, headers={"Location": self.status_url(record.instance_id), "Retry-After": "10"})
        return web.json_response(body, status=200)

    async def _http_raise_event(self, request: web.Request) -> web.StreamResponse:
        try:
            data = _decode_start_body(await request.text())
        except ValueError:
            return web.json_response(None, status=400)
        loop = asyncio.get_running_loop()
        status = await loop.run_in_executor(None, self.raise_event, request.match_info["instance_id"], request.match_info["event"], data)
        return web.json_response(None, status=status)

    def _management_payload(self, instance_id: str) -> dict[str, str]:
        urls: dict[str, str] = json.loads(self.client_json)["managementUrls"]
        return {key: value.replace(INSTANCE_ID_PLACEHOLDER, instance_id) for key, value in urls.items()}


def _identity(handler: Callable[[web.Request], Any]) -> Callable[[web.Request], Any]:
    return handler


def _decode_start_body(text: str) -> Any:
    """The client posts ``json=df_dumps(input)``: JSON text encoded as a JSON string."""
    if not text.strip():
        return None
    try:
        outer = json.loads(text)
        return json.loads(outer) if isinstance(outer, str) else outer
    except json.JSONDecodeError as exc:
        raise ValueError(f"request body is not JSON: {exc}") from exc


def _flag(value: str | None, *, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("true", "1", "yes")


def _http_time(moment: datetime) -> str:
    return h.to_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
