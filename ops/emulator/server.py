"""The ARM emulator's HTTPS server: routes, auth, paging, faults, recording.

Served on 127.0.0.1 with a trustme certificate for 127.0.0.1 and localhost;
``ca_bundle_path`` is the CA to trust (REQUESTS_CA_BUNDLE, SSL_CERT_FILE or
the SDK's ``connection_verify``). Every ARM route needs
``Authorization: Bearer <anything>``; the control routes under
``/_emulator/`` need nothing and are not recorded:

    GET    /_emulator/requests          recorded requests, oldest first
    DELETE /_emulator/requests          forget them
    GET    /_emulator/faults            live fault rules
    POST   /_emulator/faults            add a rule (object) or rules (list); see ops.emulator.faults
    DELETE /_emulator/faults            remove every rule
    GET    /_emulator/clusters          every stored managed-cluster resource
    POST   /_emulator/clusters/{name}   body {"provisioningState": ...} etc: set_cluster_state
    POST   /_emulator/reset             body: a fleet document, or empty for the starting fleet
    GET    /_emulator/throttling        {"enabled", "throttled", "byLimit"}: 429s sent by the throttles
    POST   /_emulator/throttling        body {"enabled": true|false}: ARM's and AKS's throttles on or off
"""

from __future__ import annotations

import copy
import datetime
import json
import random
import re
import shutil
import signal
import socket
import ssl
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ops.emulator import faults as faults_mod
from ops.emulator import fleet as fleet_mod
from ops.emulator import state as state_mod
from ops.emulator import throttle as throttle_mod

RECORDED_HEADERS = ("If-Match", "If-None-Match", "Content-Type", "User-Agent", "x-ms-client-request-id")
OPERATION_API_VERSION = "2017-08-31"


@dataclass(frozen=True)
class RecordedRequest:
    """One ARM request as the emulator saw it. ``status`` 0: connection dropped; None: not answered yet."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int | None
    #: The client's end of the TCP connection ("host:port"): requests on one kept-alive connection share it.
    connection: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourcegroups/(?P<rg>[^/]+)"
_CS = r"/providers/microsoft\.containerservice"
_MC = _RG + _CS + r"/managedclusters/(?P<name>[^/]+)"

_ROUTES: list[tuple[str, str, str]] = [
    ("GET", r"/subscriptions", "list_subscriptions"),
    ("GET", _SUB, "get_subscription"),
    ("GET", _SUB + _CS + r"/managedclusters", "list_clusters"),
    ("GET", _SUB + _CS + r"/locations/(?P<loc>[^/]+)/kubernetesversions", "kubernetes_versions"),
    ("GET", _SUB + _CS + r"/locations/(?P<loc>[^/]+)/operations/(?P<op>[^/]+)", "get_operation"),
    ("GET", _SUB + r"/resourcegroups", "list_groups"),
    ("GET", _RG, "get_group"),
    ("GET", _RG + r"/resources", "list_resources"),
    ("GET", _RG + _CS + r"/managedclusters", "list_clusters"),
    ("GET", _MC, "get_cluster"),
    ("PUT", _MC, "put_cluster"),
    ("GET", _MC + r"/upgradeprofiles/default", "get_upgrade_profile"),
    ("GET", _MC + r"/agentpools", "list_agent_pools"),
    ("GET", _MC + r"/agentpools/(?P<pool>[^/]+)", "get_agent_pool"),
    ("GET", _MC + r"/maintenanceconfigurations", "list_maintenance"),
    ("GET", _SUB + r"/providers/microsoft\.alertsmanagement/alerts", "list_alerts"),
]
_COMPILED = [(m, re.compile("^" + p + "/?$", re.IGNORECASE), h) for m, p, h in _ROUTES]


class ArmEmulator:
    """A local Azure Resource Manager for the AKS upgrade conductor, driven by a Fleet.

    ``clock`` decides when operations may complete (``operationSeconds``), so a
    driver with a simulated clock can advance time; ``latency_ms`` is slept in
    the handler thread of every ARM request; lists page ``page_size`` items at
    a time with an absolute ``nextLink``; ``seed`` fixes the upgrade-profile
    shuffle (None: random); ``throttling`` enforces ARM's and AKS's request
    throttles (``ops.emulator.throttle``), refilling from ``clock``.
    """

    def __init__(
        self,
        fleet: fleet_mod.Fleet,
        *,
        port: int = 0,
        latency_ms: float = 0,
        clock: Callable[[], float] = time.monotonic,
        page_size: int = 10,
        seed: int | None = None,
        throttling: bool = False,
    ) -> None:
        self._fleet = fleet
        self._port = port
        self.latency_ms = latency_ms
        #: How a handler thread waits out latency (``latency_ms`` or a latency fault), given
        #: seconds. Tests swap in a barrier or a recorder to prove which requests waited and
        #: that their waits overlapped, without measuring time.
        self.latency_wait: Callable[[float], None] = time.sleep
        self._clock = clock
        self.page_size = page_size
        self._seed = seed
        self._lock = threading.RLock()
        self._world = state_mod.World(fleet, clock, random.Random(seed))
        self._faults = faults_mod.FaultSet()
        for rule in fleet.faults:
            self._faults.add(rule)
        self._records: list[RecordedRequest] = []
        self._records_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: str | None = None
        self._ca_path: str | None = None
        self._throttle: throttle_mod.Throttle | None = throttle_mod.Throttle(clock) if throttling else None

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> ArmEmulator:
        if self._server is not None:
            return self
        import trustme  # development dependency; imported late so the package imports without it

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self._tmpdir = tempfile.mkdtemp(prefix="arm-emulator-")
        ca_path = Path(self._tmpdir) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        self._ca_path = str(ca_path)
        self._server = _Server(("127.0.0.1", self._port), _Handler, self, ctx)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="arm-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
            self._ca_path = None

    def __enter__(self) -> ArmEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_bundle_path(self) -> str:
        if self._ca_path is None:
            raise RuntimeError("the emulator is not running")
        return self._ca_path

    # --- inspection and control ----------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._records_lock:
            return list(self._records)

    def clear_requests(self) -> None:
        with self._records_lock:
            self._records.clear()

    def cluster(self, name_or_id: str) -> dict[str, Any]:
        """The stored managed-cluster resource (a copy), by name (unique) or resource id."""
        with self._lock:
            return copy.deepcopy(self._world.find_cluster(name_or_id).doc)

    def clusters(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(cs.doc) for cs in self._world.clusters.values()]

    def set_cluster_state(self, name: str, **changes: Any) -> dict[str, Any]:
        """Change a cluster as someone else would (provisioningState, powerState, kubernetesVersion,
        currentKubernetesVersion, agentPools={pool: version}, upgradeSettings, tags, etag); bumps the
        etag. Returns the new resource."""
        with self._lock:
            cs = self._world.find_cluster(name)
            self._world.change_cluster(cs, changes)
            return copy.deepcopy(cs.doc)

    def adopt_cluster_document(self, document: dict[str, Any]) -> dict[str, Any]:
        """Serve ``document`` (a managed cluster in REST field names, e.g. a published ARM example)
        as it is, at the place its ``id`` names, in a subscription of the fleet. GETs and lists
        return it unchanged; a PUT to it is validated like any other. Returns the stored resource."""
        with self._lock:
            return copy.deepcopy(self._world.adopt(document).doc)

    def add_alert(
        self, cluster: str, *, severity: str, fired_at: datetime.datetime, name: str = "alert", monitor_condition: str = "Fired"
    ) -> dict[str, Any]:
        """An Azure Monitor alert fires on ``cluster`` (name or id) at ``fired_at``; returns it."""
        with self._lock:
            doc = state_mod.alert_document(self._world.find_cluster(cluster).doc, name, severity, fired_at, monitor_condition)
            self._world.alerts.append(doc)
            return copy.deepcopy(doc)

    def add_fault(self, rule: faults_mod.FaultRule) -> None:
        self._faults.add(rule)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> list[faults_mod.FaultRule]:
        return self._faults.rules()

    # --- throttling ---------------------------------------------------------------------

    def enable_throttling(self, clock: Callable[[], float] | None = None) -> throttle_mod.Throttle:
        """Enforce ARM's and AKS's throttles from now on, with every bucket full; the buckets refill
        from ``clock`` (default: the emulator's). Returns the throttle (its counts, its buckets)."""
        self._throttle = throttle_mod.Throttle(clock or self._clock)
        return self._throttle

    def disable_throttling(self) -> None:
        self._throttle = None

    @property
    def throttling(self) -> bool:
        return self._throttle is not None

    @property
    def throttled(self) -> int:
        """429s the throttles sent since throttling was enabled (0 when it is off)."""
        return self._throttle.total if self._throttle is not None else 0

    @property
    def throttled_by_limit(self) -> dict[str, int]:
        return dict(self._throttle.sent) if self._throttle is not None else {}

    def reset(self, fleet: fleet_mod.Fleet | None = None) -> None:
        """Back to a fresh state for ``fleet`` (default: the one given at construction): resources,
        operations, faults (the fleet's own) and recorded requests. Throttling stays as it is, with
        every bucket full again (a later run) and its counts kept."""
        fleet = fleet or self._fleet
        with self._lock:
            self._fleet = fleet
            self._world = state_mod.World(fleet, self._clock, random.Random(self._seed))
        self._faults.clear()
        for rule in fleet.faults:
            self._faults.add(rule)
        if self._throttle is not None:
            self._throttle.refill_all()
        self.clear_requests()

    # --- request handling (called from handler threads) -----------------------------

    def _record_slot(self, rec: RecordedRequest) -> int:
        with self._records_lock:
            self._records.append(rec)
            return len(self._records) - 1

    def _record_status(self, slot: int, rec: RecordedRequest, status: int) -> None:
        done = replace(rec, status=status)
        with self._records_lock:
            if slot < len(self._records) and self._records[slot] is rec:
                self._records[slot] = done

    def _page(self, items: list[Any], path: str, query: dict[str, str]) -> dict[str, Any]:
        try:
            skip = max(int(query.get("$skiptoken", "0")), 0)
        except ValueError:
            raise state_mod.ArmError(400, "InvalidSkipToken", "The skip token is not valid.") from None
        page = items[skip : skip + self.page_size]
        out: dict[str, Any] = {"value": page}
        if skip + self.page_size < len(items):
            api = urllib.parse.quote(query.get("api-version", ""))
            out["nextLink"] = f"{self.base_url}{path}?api-version={api}&$skipToken={skip + self.page_size}"
        return out

    def _dispatch(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any) -> _Reply:
        allowed_methods = []
        for m, rx, handler in _COMPILED:
            match = rx.match(path)
            if match is None:
                continue
            if m != method:
                allowed_methods.append(m)
                continue
            with self._lock:
                reply: _Reply = getattr(self, "_h_" + handler)(path, query, headers, body, **match.groupdict())
                return reply
        if allowed_methods:
            return _error(405, "MethodNotAllowed", f"The requested method {method} is not allowed for {path}.")
        return _error(
            404,
            "NoRegisteredProviderFound" if "/providers/" in path.lower() else "NotFound",
            f"The emulator has no route for {method} {path}.",
        )

    # Route handlers: run under self._lock.

    def _h_list_subscriptions(self, path: str, query: dict[str, str], headers: Any, body: Any) -> _Reply:
        items = [state_mod.subscription_json(s) for s in self._world.subscriptions.values()]
        return _Reply(200, self._page(items, path, query))

    def _h_get_subscription(self, path: str, query: Any, headers: Any, body: Any, sub: str) -> _Reply:
        return _Reply(200, state_mod.subscription_json(self._world.subscription(sub)))

    def _h_list_clusters(self, path: str, query: dict[str, str], headers: Any, body: Any, sub: str, rg: str | None = None) -> _Reply:
        docs = [copy.deepcopy(d) for d in self._world.clusters_in(sub, rg)]
        return _Reply(200, self._page(docs, path, query))

    def _h_kubernetes_versions(self, path: str, query: Any, headers: Any, body: Any, sub: str, loc: str) -> _Reply:
        self._world.subscription(sub)
        return _Reply(200, state_mod.kubernetes_versions(self._world, loc))

    def _h_get_operation(self, path: str, query: Any, headers: Any, body: Any, sub: str, loc: str, op: str) -> _Reply:
        return _Reply(200, self._world.operation(sub, loc, op).to_json())

    def _h_list_groups(self, path: str, query: dict[str, str], headers: Any, body: Any, sub: str) -> _Reply:
        self._world.subscription(sub)
        items = [state_mod.group_json(g) for (s, _), g in self._world.groups.items() if s == sub.lower()]
        return _Reply(200, self._page(items, path, query))

    def _h_get_group(self, path: str, query: Any, headers: Any, body: Any, sub: str, rg: str) -> _Reply:
        return _Reply(200, state_mod.group_json(self._world.group(sub, rg)))

    def _h_list_resources(self, path: str, query: dict[str, str], headers: Any, body: Any, sub: str, rg: str) -> _Reply:
        self._world.group(sub, rg)
        items = [state_mod.resource_json(r) for r in self._world.resources.get((sub.lower(), rg.lower()), [])]
        items += [state_mod.cluster_as_generic(d) for d in self._world.clusters_in(sub, rg)]
        return _Reply(200, self._page(items, path, query))

    def _h_get_cluster(self, path: str, query: Any, headers: Any, body: Any, sub: str, rg: str, name: str) -> _Reply:
        cs = self._world.cluster_state(sub, rg, name)
        self._world.poll(cs)
        return _Reply(200, copy.deepcopy(cs.doc), {"ETag": f'"{cs.doc["eTag"]}"'})

    def _h_put_cluster(self, path: str, query: Any, headers: dict[str, str], body: Any, sub: str, rg: str, name: str) -> _Reply:
        cs, op = self._world.put_cluster(sub, rg, name, body, headers.get("if-match"))
        url = (
            f"{self.base_url}/subscriptions/{sub}/providers/Microsoft.ContainerService/locations/"
            f"{op.location}/operations/{op.op_id}?api-version={OPERATION_API_VERSION}"
        )
        return _Reply(200, copy.deepcopy(cs.doc), {"Azure-AsyncOperation": url, "ETag": f'"{cs.doc["eTag"]}"'})

    def _h_list_maintenance(self, path: str, query: dict[str, str], headers: Any, body: Any, sub: str, rg: str, name: str) -> _Reply:
        cs = self._world.cluster_state(sub, rg, name)
        return _Reply(200, self._page([copy.deepcopy(m) for m in cs.maintenance], path, query))

    def _h_list_alerts(self, path: str, query: dict[str, str], headers: Any, body: Any, sub: str) -> _Reply:
        """Alerts Management's list, with the filters the app uses, as strict as the service: a
        custom time range is "start/end" in ISO 8601 within the last 30 days, never with timeRange."""
        self._world.subscription(sub)
        if "timerange" in query and "customtimerange" in query:
            raise state_mod.ArmError(400, "BadRequest", "Either timeRange or customTimeRange could be used but not both.")
        start = end = None
        if "customtimerange" in query:
            parts = query["customtimerange"].split("/")
            try:
                if len(parts) != 2:
                    raise ValueError
                start, end = (datetime.datetime.fromisoformat(p.replace("Z", "+00:00")) for p in parts)
            except ValueError:
                raise state_mod.ArmError(400, "BadRequest", f"customTimeRange {query['customtimerange']!r} is not <start>/<end>.") from None
            if start.tzinfo is None or end.tzinfo is None or end < start or end - start > datetime.timedelta(days=30):
                raise state_mod.ArmError(400, "BadRequest", "customTimeRange must be within 30 days, with UTC times, start before end.")
        target = query.get("targetresource", "").lower()
        found = []
        for alert in self._world.alerts:
            essentials = alert["properties"]["essentials"]
            fired = datetime.datetime.fromisoformat(essentials["startDateTime"].replace("Z", "+00:00"))
            if target and essentials["targetResource"].lower() != target:
                continue
            if start is not None and end is not None and not start <= fired <= end:
                continue
            if "severity" in query and essentials["severity"] != query["severity"]:
                continue
            if "monitorcondition" in query and essentials["monitorCondition"] != query["monitorcondition"]:
                continue
            found.append(copy.deepcopy(alert))
        return _Reply(200, self._page(found, path, query))

    def _h_get_upgrade_profile(self, path: str, query: Any, headers: Any, body: Any, sub: str, rg: str, name: str) -> _Reply:
        cs = self._world.cluster_state(sub, rg, name)
        return _Reply(200, state_mod.upgrade_profile(self._world, cs))

    def _agent_pools(self, cs: state_mod.ClusterState) -> list[dict[str, Any]]:
        out = []
        for p in cs.doc.get("properties", {}).get("agentPoolProfiles") or []:
            props = {k: copy.deepcopy(v) for k, v in p.items() if k != "name"}
            out.append(
                {
                    "id": f"{cs.doc['id']}/agentPools/{p.get('name')}",
                    "name": p.get("name"),
                    "type": "Microsoft.ContainerService/managedClusters/agentPools",
                    "properties": props,
                }
            )
        return out

    def _h_list_agent_pools(self, path: str, query: dict[str, str], headers: Any, body: Any, sub: str, rg: str, name: str) -> _Reply:
        cs = self._world.cluster_state(sub, rg, name)
        return _Reply(200, self._page(self._agent_pools(cs), path, query))

    def _h_get_agent_pool(self, path: str, query: Any, headers: Any, body: Any, sub: str, rg: str, name: str, pool: str) -> _Reply:
        cs = self._world.cluster_state(sub, rg, name)
        for p in self._agent_pools(cs):
            if str(p["name"]).lower() == pool.lower():
                return _Reply(200, p)
        raise state_mod.ArmError(404, "NotFound", f"Agent pool '{pool}' of managed cluster '{name}' was not found.")

    # --- faults around a request ------------------------------------------------------

    def _state_fault_target(self, rule: faults_mod.FaultRule, path: str) -> state_mod.ClusterState | None:
        if rule.target is not None:
            with self._lock:
                try:
                    return self._world.find_cluster(rule.target)
                except KeyError:
                    return None
        m = re.search(
            r"/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/microsoft\.containerservice/"
            r"managedclusters/([^/]+)",
            path,
            re.IGNORECASE,
        )
        with self._lock:
            if m is not None:
                cs = self._world.clusters.get((m.group(1).lower(), m.group(2).lower(), m.group(3).lower()))
                if cs is not None:
                    return cs
            if rule.cluster is not None:
                try:
                    return self._world.find_cluster(rule.cluster)
                except KeyError:
                    return None
        return None

    def _control(self, method: str, path: str, body: Any) -> _Reply:
        parts = [p for p in path.split("/") if p][1:]
        what = parts[0].lower() if parts else ""
        if what == "requests" and method == "GET":
            return _Reply(200, {"requests": [r.to_dict() for r in self.requests]})
        if what == "requests" and method == "DELETE":
            self.clear_requests()
            return _Reply(200, {"requests": []})
        if what == "faults" and method == "GET":
            return _Reply(200, {"faults": [faults_mod.fault_to_dict(f) for f in self.faults]})
        if what == "faults" and method == "POST":
            rules = body if isinstance(body, list) else [body]
            try:
                parsed = [faults_mod.fault_from_dict(r) for r in rules]
            except (TypeError, ValueError, AttributeError, re.error) as err:
                return _error(400, "InvalidFault", str(err))
            for r in parsed:
                self.add_fault(r)
            return _Reply(201, {"faults": [faults_mod.fault_to_dict(f) for f in self.faults]})
        if what == "faults" and method == "DELETE":
            self.clear_faults()
            return _Reply(200, {"faults": []})
        if what == "clusters" and method == "GET" and len(parts) == 1:
            return _Reply(200, {"clusters": self.clusters()})
        if what == "clusters" and method in ("POST", "PATCH") and len(parts) == 2:
            try:
                return _Reply(200, self.set_cluster_state(urllib.parse.unquote(parts[1]), **(body or {})))
            except KeyError as err:
                return _error(404, "NotFound", str(err))
            except (TypeError, ValueError) as err:
                return _error(400, "InvalidChange", str(err))
        if what == "throttling" and method == "GET":
            return _Reply(200, {"enabled": self.throttling, "throttled": self.throttled, "byLimit": self.throttled_by_limit})
        if what == "throttling" and method == "POST":
            enabled = (body or {}).get("enabled") if isinstance(body, dict) else None
            if not isinstance(enabled, bool):
                return _error(400, "InvalidThrottling", 'body must be {"enabled": true} or {"enabled": false}')
            if enabled:
                self.enable_throttling()
            else:
                self.disable_throttling()
            return _Reply(200, {"enabled": self.throttling, "throttled": self.throttled, "byLimit": self.throttled_by_limit})
        if what == "reset" and method == "POST":
            try:
                self.reset(fleet_mod.fleet_from_dict(body) if body else None)
            except (KeyError, TypeError, ValueError) as err:
                return _error(400, "InvalidFleet", str(err))
            return _Reply(200, {"clusters": len(self.clusters())})
        return _error(404, "NotFound", f"No control route {method} {path}.")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, {"error": {"code": code, "message": message}}, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog of 5 overflows under concurrent clients (the app reads ARM in
    # parallel); an overflowed SYN costs the client a 1 s retransmit, which would skew timings.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, emulator: ArmEmulator, ctx: ssl.SSLContext) -> None:
        self.emulator = emulator
        self.ssl_context = ctx
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake here, in the per-connection thread, so one slow client never blocks accept().
        try:
            request.settimeout(10)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet on client resets
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms delayed-ACK stall
    timeout = 120
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _send(self, reply: _Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
        self.send_response(reply.status)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "x-ms-request-id": str(uuid.uuid4()),
            "x-ms-correlation-request-id": self.headers.get("x-ms-client-request-id") or str(uuid.uuid4()),
            **(reply.headers or {}),
        }
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle(self) -> None:
        emu = self.server.emulator
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        query = {k.lower(): v[0] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        method = self.command.upper()
        body = self._read_body()

        if path.lower().startswith("/_emulator/") or path.lower() == "/_emulator":
            self._send(emu._control(method, path, body))
            return

        recorded_headers = {h: self.headers[h] for h in RECORDED_HEADERS if self.headers.get(h) is not None}
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        rec = RecordedRequest(method, path, {k: v for k, v in query.items()}, recorded_headers, body, None, peer)
        slot = emu._record_slot(rec)

        auth = self.headers.get("Authorization") or ""
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            reply = _error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing or not a Bearer token.",
            )
            emu._record_status(slot, rec, reply.status)
            self._send(reply)
            return

        if emu.latency_ms:
            emu.latency_wait(emu.latency_ms / 1000.0)

        throttle = emu._throttle
        if throttle is not None:
            denial = throttle.admit(method, path, throttle_mod.principal_of(auth))
            if denial is not None:  # refused before the resource provider sees it: no fault fires, nothing changes
                reply = _error(429, denial.limit.code, denial.message, {"Retry-After": str(denial.retry_after)})
                emu._record_status(slot, rec, reply.status)
                self._send(reply)
                return

        fired = emu._faults.fire(method, path)
        for rule in fired:
            if rule.kind == "latency" and rule.latency_ms:
                emu.latency_wait(rule.latency_ms / 1000.0)
        for rule in fired:
            if rule.kind == "drop":
                emu._record_status(slot, rec, 0)
                self._drop()
                return
            if rule.kind == "error":
                hdrs = {}
                status = rule.error_status()
                if rule.retry_after is not None or status == 429:
                    ra = rule.retry_after if rule.retry_after is not None else 1
                    hdrs["Retry-After"] = str(int(ra)) if float(ra).is_integer() else str(ra)
                reply = _error(status, rule.error_code(), rule.error_message(), hdrs)
                emu._record_status(slot, rec, reply.status)
                self._send(reply)
                return
        for rule in fired:
            if rule.kind == "outcome":
                target = emu._state_fault_target(rule, path)
                if target is not None:
                    with emu._lock:
                        target.pending_outcome = fleet_mod.OperationOutcome(
                            status=rule.outcome, code=rule.code, message=rule.message, pools_behind=rule.pools_behind
                        )

        try:
            reply = emu._dispatch(method, path, query, {k.lower(): v for k, v in self.headers.items()}, body)
        except state_mod.ArmError as err:
            reply = _error(err.status, err.code, err.message, err.headers)
        except Exception as err:  # noqa: BLE001 - a bug in the emulator: answer like ARM would, keep serving
            reply = _error(500, "InternalServerError", f"Emulator error: {type(err).__name__}: {err}")
        # The reply is built, so a state fault acts "after" this request, yet before the caller can act on it.
        for rule in fired:
            if rule.kind == "state":
                target = emu._state_fault_target(rule, path)
                if target is not None:
                    with emu._lock:
                        emu._world.change_cluster(target, dict(rule.changes))
        emu._record_status(slot, rec, reply.status)  # before answering, so a caller never sees it pending
        self._send(reply)


def serve(port: int = 0, fleet_path: str | None = None, *, out: Callable[[str], None] | None = None) -> None:
    """Run an emulator in the foreground until Ctrl-C or SIGTERM (``python -m ops emulator``)."""
    say = out or (lambda line: print(line, flush=True))
    fleet = fleet_mod.load_fleet(fleet_path) if fleet_path else fleet_mod.sample_fleet()
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ArmEmulator(fleet, port=port) as emu:
        say(f"ARM emulator on {emu.base_url} ({len(fleet.clusters)} clusters, {len(fleet.subscriptions)} subscriptions)")
        say(f"CA bundle: {emu.ca_bundle_path}")
        say(f"  export REQUESTS_CA_BUNDLE={emu.ca_bundle_path} SSL_CERT_FILE={emu.ca_bundle_path}")
        say(f"  export ARM_ENDPOINT={emu.base_url} AZURE_CREDENTIAL_KIND=emulator")
        say("Control: GET/DELETE /_emulator/requests, GET/POST/DELETE /_emulator/faults, GET /_emulator/clusters")
        say("Ctrl-C stops it.")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        say("stopped")
