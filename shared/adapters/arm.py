"""Azure Resource Manager through the SDK clients: discover clusters, read upgrade options,
start an upgrade with GET-change-PUT under If-Match, and read the operation's status.

SDK errors are classified here, once: 429, 5xx, dropped connections and 409 "another operation
is in progress" are transient (retry); every other 4xx is permanent and keeps ARM's code and
message. The domain never sees an SDK type.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from azure.core import MatchConditions
from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.mgmt.alertsmanagement import AlertsManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import ManagedCluster
from azure.mgmt.resource.subscriptions import SubscriptionClient
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shared.domain import versions
from shared.domain.clusters import AvailableVersion, ClusterSnapshot, ForceUpgradeOverride, NodePool, RegionVersion
from shared.domain.health import FiredAlert
from shared.domain.text import first_line
from shared.errors import ArmPermanentError, ArmTransientError, ConcurrentChangeError

T = TypeVar("T")
#: Connections kept open to ARM, shared by every client: at least as many as concurrent readers.
CONNECTION_POOL_SIZE = 32
_TRANSPORT_OPTIONS = ("connection_timeout", "read_timeout", "connection_verify", "connection_cert", "connection_data_block_size")
_TRANSIENT_409_CODES = {"operationnotallowed", "conflict", "anotheroperationinprogress", "etagmismatch"}


@dataclass(frozen=True)
class Subscription:
    id: str
    display_name: str


@dataclass(frozen=True)
class ClusterForUpdate:
    """A fresh GET of one cluster, kept whole for the PUT that may follow it.

    ``document`` is the managed cluster exactly as ARM returned it (REST field names); the PUT is
    built from it so every field the conductor does not mean to change goes back as it was.
    ``etag`` guards that PUT: if the cluster changes in between, ARM answers 412.
    """

    snapshot: ClusterSnapshot
    document: dict[str, Any]
    etag: str | None


@dataclass(frozen=True)
class OperationStatus:
    """An ARM long-running operation as its Azure-AsyncOperation URL reports it."""

    status: str  # "InProgress" | "Succeeded" | "Failed" | "Canceled" | ...
    code: str | None = None
    message: str | None = None


def parse_cluster_id(cluster_id: str) -> tuple[str, str, str]:
    """(subscription id, resource group, name) from an ARM managed-cluster id."""
    parts = cluster_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    try:
        sub = parts[lowered.index("subscriptions") + 1]
        group = parts[lowered.index("resourcegroups") + 1]
        name = parts[lowered.index("managedclusters") + 1]
    except (ValueError, IndexError) as exc:
        raise ArmPermanentError("InvalidResourceId", f"not a managed cluster id: {cluster_id!r}") from exc
    return sub, group, name


def classify(exc: Exception) -> Exception:
    """Turn an azure-core exception into our TransientError / PermanentError (or pass it on)."""
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return ArmTransientError("ConnectionError", first_line(str(exc), 300))
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        code, message = _arm_error(exc)
        retry_after = _retry_after(exc)
        if status == 412:
            return ConcurrentChangeError(f"{code}: {message}")
        if status == 429 or status >= 500 or status == 408:
            return ArmTransientError(code, message, status, retry_after)
        if status == 409 and code.lower() in _TRANSIENT_409_CODES:
            return ArmTransientError(code, message, status, retry_after)
        return ArmPermanentError(code, message, status)
    return exc


def _arm_error(exc: HttpResponseError) -> tuple[str, str]:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or ""
    message = getattr(error, "message", None) or ""
    response: Any = exc.response
    if not code and response is not None:
        try:
            body = response.json()
            code = body.get("error", {}).get("code", "") or ""
            message = body.get("error", {}).get("message", "") or message
        except Exception:  # noqa: BLE001 - a non-JSON error body still gets a code below
            pass
    return code or f"HTTP{exc.status_code}", message or (exc.reason or first_line(str(exc)))


def _retry_after(exc: HttpResponseError) -> float | None:
    response: Any = exc.response
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@contextmanager
def _arm_errors() -> Iterator[None]:
    try:
        yield
    except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
        raise classify(exc) from exc


class ArmGateway:
    """The ARM operations the conductor uses, over one credential and reused clients."""

    def __init__(
        self,
        credential: TokenCredential,
        endpoint: str = "https://management.azure.com",
        *,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self._credential = credential
        self._endpoint = endpoint.rstrip("/")
        self._options = {
            "credential_scopes": [f"{self._endpoint}/.default"],
            "retry_total": 4,
            "retry_backoff_factor": 0.8,
            "retry_backoff_max": 30,
            **(client_options or {}),
        }
        self._clients: dict[str, ContainerServiceClient] = {}
        self._lock = threading.Lock()
        self._subscriptions: SubscriptionClient | None = None
        self._alerts: dict[str, AlertsManagementClient] = {}
        self._session = _pooled_session(CONNECTION_POOL_SIZE)

    # -- clients ------------------------------------------------------------------------------
    def _aks(self, subscription_id: str) -> ContainerServiceClient:
        """One client per subscription, built once: connection pools and tokens are reused."""
        with self._lock:
            client = self._clients.get(subscription_id.lower())
            if client is None:
                client = ContainerServiceClient(
                    self._credential, subscription_id, base_url=self._endpoint, transport=self._transport(), **self._options
                )
                self._clients[subscription_id.lower()] = client
            return client

    def _alerts_client(self, subscription_id: str) -> AlertsManagementClient:
        with self._lock:
            client = self._alerts.get(subscription_id.lower())
            if client is None:
                client = AlertsManagementClient(
                    self._credential, subscription_id, base_url=self._endpoint, transport=self._transport(), **self._options
                )
                self._alerts[subscription_id.lower()] = client
            return client

    def _subs(self) -> SubscriptionClient:
        with self._lock:
            if self._subscriptions is None:
                self._subscriptions = SubscriptionClient(
                    self._credential, base_url=self._endpoint, transport=self._transport(), **self._options
                )
            return self._subscriptions

    def _transport(self) -> RequestsTransport:
        """A transport over the gateway's one session: every subscription's client reuses the same TLS
        connections to ARM instead of opening its own (measured: ~12 % of discovery wall time)."""
        options = {k: v for k, v in self._options.items() if k in _TRANSPORT_OPTIONS}
        return RequestsTransport(session=self._session, session_owner=False, **options)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        for alerts in self._alerts.values():
            alerts.close()
        if self._subscriptions is not None:
            self._subscriptions.close()
        self._session.close()

    # -- discovery ----------------------------------------------------------------------------
    def list_subscriptions(self, only: tuple[str, ...] = ()) -> list[Subscription]:
        """Every subscription the identity sees (one paged call), narrowed to ``only`` when given.

        ``only`` is matched case-insensitively and each subscription comes back once, however
        often (and in whatever case) it is named: a subscription listed twice would otherwise be
        planned, PUT and reported twice.
        """
        with _arm_errors():
            found = [Subscription(s.subscription_id or "", s.display_name or "") for s in self._subs().subscriptions.list()]
        if not only:
            return found
        known = {s.id.lower(): s for s in found}
        wanted: dict[str, Subscription] = {}
        for sub in only:
            wanted.setdefault(sub.lower(), known.get(sub.lower(), Subscription(sub, "")))
        return list(wanted.values())

    def list_clusters(self, subscription: Subscription) -> list[ClusterSnapshot]:
        """One paged managed-cluster list for the whole subscription (never a walk of groups)."""
        with _arm_errors():
            items = list(self._aks(subscription.id).managed_clusters.list())
        return [snapshot_from_document(mc, subscription.id, subscription.display_name) for mc in items]

    def upgrade_options(self, cluster_id: str) -> list[AvailableVersion]:
        """The control plane's one-step upgrades from the cluster's upgrade profile (any order)."""
        sub, group, name = parse_cluster_id(cluster_id)
        with _arm_errors():
            profile = self._aks(sub).managed_clusters.get_upgrade_profile(group, name)
        return available_from_profile(profile)

    def region_versions(self, subscription_id: str, location: str) -> list[RegionVersion]:
        """Every patch the region offers, with its one-hop upgrades and its minor's support plans:
        the lead's planning source for clusters on the standard support plan, and the stable
        policy's "newest GA minor"."""
        with _arm_errors():
            result = self._aks(subscription_id).managed_clusters.list_kubernetes_versions(location)
        return region_versions_from_list(result, location)

    # -- upgrades -----------------------------------------------------------------------------
    def get_cluster(self, cluster_id: str, subscription_name: str = "") -> ClusterSnapshot:
        """A fresh GET of one cluster, reduced to its snapshot."""
        return self.get_for_update(cluster_id, subscription_name).snapshot

    def get_for_update(self, cluster_id: str, subscription_name: str = "") -> ClusterForUpdate:
        """GET the whole managed cluster: its snapshot for deciding, its document for the PUT."""
        sub, group, name = parse_cluster_id(cluster_id)
        with _arm_errors():
            mc = self._aks(sub).managed_clusters.get(group, name)
        document = mc.as_dict()
        return ClusterForUpdate(snapshot_from_document(document, sub, subscription_name), document, document.get("eTag"))

    def put_upgrade(self, cluster: ClusterForUpdate, target: str, pools: tuple[str, ...]) -> str | None:
        """PUT the cluster back with the control plane and ``pools`` at ``target``, under If-Match.

        Returns the operation URL to poll. A 412 raises ConcurrentChangeError (the cluster changed
        since the GET: GET and decide again, never overwrite). The HTTP layer never resends this
        PUT: if it went through and only the answer was lost, a resend would be a second upgrade
        request; the caller retries instead, after a fresh GET that sees the running upgrade.
        """
        sub, group, name = parse_cluster_id(cluster.snapshot.id)
        client = self._aks(sub)
        body = ManagedCluster(upgrade_body(cluster.document, target, pools))
        headers: dict[str, str] = {}

        def capture(response: Any) -> None:
            headers.update(response.http_response.headers)

        try:
            client.managed_clusters.begin_create_or_update(
                group,
                name,
                body,
                etag=cluster.etag,
                match_condition=MatchConditions.IfNotModified if cluster.etag else None,
                polling=False,
                raw_response_hook=capture,
                retry_total=0,
            )
        except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
            raise classify(exc) from exc
        lowered = {k.lower(): v for k, v in headers.items()}
        return lowered.get("azure-asyncoperation") or lowered.get("location")

    def maintenance_configurations(self, cluster_id: str) -> list[dict[str, Any]]:
        """The cluster's planned maintenance configurations, as ARM returns them (one paged list)."""
        sub, group, name = parse_cluster_id(cluster_id)
        with _arm_errors():
            return [m.as_dict() for m in self._aks(sub).maintenance_configurations.list_by_managed_cluster(group, name)]

    def fired_alerts(self, cluster_id: str, since: datetime, until: datetime) -> list[FiredAlert]:
        """Azure Monitor alerts on the cluster that fired between ``since`` and ``until`` (one paged
        Alerts Management list, filtered by target resource and time; severity is the domain's call)."""
        sub, _, _ = parse_cluster_id(cluster_id)
        window = f"{_iso_z(since)}/{_iso_z(until)}"
        with _arm_errors():
            items = list(self._alerts_client(sub).alerts.get_all(target_resource=cluster_id, custom_time_range=window))
        found = []
        for item in items:
            essentials = getattr(item.properties, "essentials", None) if item.properties is not None else None
            if essentials is None or essentials.start_date_time is None:
                raise ArmPermanentError("InvalidAlert", f"alert {item.name!r} on {cluster_id} has no essentials or start time")
            found.append(
                FiredAlert(
                    name=item.name or "",
                    severity=str(essentials.severity or ""),
                    fired_at=essentials.start_date_time.astimezone(UTC),
                    target_resource=essentials.target_resource or "",
                )
            )
        return found

    def operation_status(self, cluster_id: str, operation_url: str) -> OperationStatus:
        """Read an Azure-AsyncOperation URL through the subscription's client pipeline (auth, retry)."""
        sub, _, _ = parse_cluster_id(cluster_id)
        client = self._aks(sub)
        with _arm_errors():
            response = client.send_request(HttpRequest("GET", operation_url))
            response.raise_for_status()
        try:
            body = response.json()
        except ValueError as exc:
            raise ArmTransientError("InvalidOperationStatus", "operation status was not JSON") from exc
        error = body.get("error") or {}
        return OperationStatus(str(body.get("status", "")), error.get("code"), error.get("message"))


def available_from_profile(profile: Mapping[str, Any]) -> list[AvailableVersion]:
    """A managed cluster's upgrade profile (REST field names) → the control plane's one-step
    upgrades, in the profile's order (which AKS does not guarantee).

    Only the control plane's entries count: the agent pools' entries can differ (the published
    example marks a version preview for the control plane and GA for a pool) and a managed-cluster
    PUT moves pools only to the control plane's version. The service leaves ``isPreview`` out when
    it is false, and ``upgrades`` is optional (absent: nothing offered). An unreadable version is
    an ARM answer we refuse rather than guess at.
    """
    control = (profile.get("properties") or {}).get("controlPlaneProfile") or {}
    found = []
    for entry in control.get("upgrades") or []:
        raw = entry.get("kubernetesVersion") if isinstance(entry, Mapping) else None
        try:
            found.append(AvailableVersion(versions.parse(raw or ""), bool(entry.get("isPreview") or False)))
        except ValueError as exc:
            raise ArmPermanentError("InvalidUpgradeProfile", f"upgrade profile lists {raw!r}: {exc}") from exc
    return found


def region_versions_from_list(result: Mapping[str, Any], location: str) -> list[RegionVersion]:
    """A location's Kubernetes version list (REST field names) → every patch it offers, with the
    versions each patch reaches in one hop (``upgrades``) and its minor's
    ``capabilities.supportPlan``.

    ``isPreview`` is given per minor (and left out when false), so each patch of a preview minor is
    a preview. An unreadable patch or upgrade is an ARM answer we refuse, naming the location.
    """
    found = []
    for minor in result.get("values") or []:
        preview = bool(minor.get("isPreview", False))
        plans = tuple(str(p) for p in ((minor.get("capabilities") or {}).get("supportPlan") or []))
        patches = minor.get("patchVersions") or {}
        for patch in patches:
            listed = patches[patch] or {}
            texts = [patch, *(listed.get("upgrades") or [])]
            try:
                parsed = [versions.parse(str(t)) for t in texts]
            except ValueError as exc:
                raise ArmPermanentError("InvalidVersionList", f"region {location} lists {patch!r} with upgrades {texts[1:]!r}") from exc
            found.append(RegionVersion(parsed[0], preview, tuple(parsed[1:]), plans))
    return found


def snapshot_from_document(mc: Mapping[str, Any], subscription_id: str, subscription_name: str) -> ClusterSnapshot:
    """A managed cluster as ARM returns it (list item or GET; REST field names) → a snapshot."""
    props = mc.get("properties") or {}
    cluster_id = mc.get("id") or ""
    _, group, _ = parse_cluster_id(cluster_id)
    requested = props.get("kubernetesVersion") or ""
    control_plane = props.get("currentKubernetesVersion") or requested
    pools = tuple(
        NodePool(
            name=str(pool.get("name") or ""),
            current_version=pool.get("currentOrchestratorVersion") or pool.get("orchestratorVersion") or control_plane,
            requested_version=pool.get("orchestratorVersion") or "",
        )
        for pool in props.get("agentPoolProfiles") or []
    )
    override = ((props.get("upgradeSettings") or {}).get("overrideSettings")) or {}
    return ClusterSnapshot(
        id=cluster_id,
        name=mc.get("name") or "",
        subscription_id=subscription_id,
        subscription_name=subscription_name,
        resource_group=group,
        location=mc.get("location") or "",
        control_plane_version=control_plane,
        provisioning_state=props.get("provisioningState") or "",
        power_state=(props.get("powerState") or {}).get("code") or "",
        tags=tuple(sorted((mc.get("tags") or {}).items())),
        requested_version=requested,
        node_pools=pools,
        support_plan=props.get("supportPlan") or "",
        override=ForceUpgradeOverride(bool(override.get("forceUpgrade")), override.get("until")) if override else None,
        auto_upgrade_channel=str((props.get("autoUpgradeProfile") or {}).get("upgradeChannel") or ""),
    )


def upgrade_body(document: Mapping[str, Any], target: str, pools: tuple[str, ...]) -> dict[str, Any]:
    """The PUT body for an upgrade: the GET's document with the control plane and ``pools`` at
    ``target`` and every other field as it was (a body built from scratch would wipe node pools,
    network and identity settings).

    Left out, as ``az aks upgrade`` leaves them out: the service principal profile (a GET never
    returns its secret, so sending it back blanks or fails it) and each pool's creation data.
    Also left out: each pool's ``nodeImageVersion``. With current API versions a value there asks
    for that node image, so echoing the GET's value would pin the pool to its old image instead of
    the one that comes with the new Kubernetes version.
    """
    body = copy.deepcopy(dict(document))
    props = body.get("properties")
    if not isinstance(props, dict):
        raise ArmPermanentError("InvalidManagedCluster", f"GET {document.get('id')} returned no properties")
    props["kubernetesVersion"] = target
    moving = set(pools)
    for pool in props.get("agentPoolProfiles") or []:
        if pool.get("name") in moving:
            pool["orchestratorVersion"] = target
        pool.pop("nodeImageVersion", None)
        pool.pop("creationData", None)
    props.pop("servicePrincipalProfile", None)
    return body


def _iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, as the Alerts Management time filter expects."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pooled_session(size: int) -> requests.Session:
    """A requests session set up as azure-core sets up its own (retries are the pipeline's job, so the
    adapter makes none), with a pool large enough for the concurrent readers."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=size, pool_maxsize=size, max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    for scheme in ("https://", "http://"):
        session.mount(scheme, adapter)
    return session
