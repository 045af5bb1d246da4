"""The emulator's mutable world: stored ARM resources and running operations.

Everything here is guarded by one lock held by the server; the HTTP layer
turns ``ArmError`` into an ARM error response.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ops.emulator import fleet as fleet_mod

CONTAINER_SERVICE = "Microsoft.ContainerService"
CLUSTER_TYPE = "Microsoft.ContainerService/ManagedClusters"
TERMINAL_STATES = ("succeeded", "failed", "canceled")
NODE_IMAGE = "AKSUbuntu-2204gen2containerd-202409.23.0"
#: The node image an upgrade brings when the PUT does not ask for one (newer than NODE_IMAGE).
NODE_IMAGE_LATEST = "AKSUbuntu-2204gen2containerd-202411.12.0"
#: The managed-cluster API's answer when a PUT moves a pool to anything but "unchanged" or the
#: control plane's version (AKS's own wording).
NOT_ALL_POOLS_MESSAGE = (
    "Using managed cluster api, all Agent pools' OrchestratorVersion must be all specified or all unspecified. "
    "If all specified, they must be stay unchanged or the same with control plane. For agent pool specific change, "
    "please use per agent pool operations: https://aka.ms/agent-pool-rest-api"
)


class ArmError(Exception):
    """An error answered to the client in ARM shape."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


_VERB = {"upgrading": "upgrade", "updating": "update", "creating": "create", "deleting": "delete", "starting": "start", "stopping": "stop"}


def parse_version(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.strip().lstrip("v").split("."))


def resolve(catalogue: tuple[fleet_mod.CatalogueVersion, ...], text: str) -> str:
    """A full patch version for ``text``: itself, or for a minor alias ("1.31") the newest GA patch
    of that minor the location offers (as AKS resolves an alias). Unknown aliases stay as given."""
    parts = text.strip().lstrip("v").split(".")
    if len(parts) != 2:
        return text
    patches = [v for v in catalogue if not v.is_preview and v.version.split(".")[:2] == parts]
    if not patches:
        return text
    return max(patches, key=lambda v: parse_version(v.version)).version


def one_hop(catalogue: tuple[fleet_mod.CatalogueVersion, ...], current: str) -> list[fleet_mod.CatalogueVersion]:
    """Catalogue versions above ``current`` in its minor or the next minor (AKS cannot skip a minor)."""
    cur = parse_version(current)
    out = []
    for v in catalogue:
        pv = parse_version(v.version)
        if pv > cur and pv[0] == cur[0] and pv[1] in (cur[1], cur[1] + 1):
            out.append(v)
    return out


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def new_etag() -> str:
    return str(uuid.uuid4())


def normalize_etag(value: str) -> str:
    v = value.strip()
    if v.startswith("W/"):
        v = v[2:]
    return v.strip('"')


def cluster_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourcegroups/{rg}/providers/{CONTAINER_SERVICE}/managedClusters/{name}"


def build_cluster_doc(c: fleet_mod.Cluster, tenant: str) -> dict[str, Any]:
    """A full managed-cluster resource as ARM returns it for a GET."""
    rid = cluster_id(c.subscription_id, c.resource_group, c.name)
    dns_prefix = f"{c.name}-dns"
    suffix = hashlib.sha256(rid.lower().encode()).hexdigest()[:8]
    node_rg = f"MC_{c.resource_group}_{c.name}_{c.location}"
    running = c.power_state
    pools = []
    for p in c.agent_pools:
        ver = p.orchestrator_version or c.kubernetes_version
        pools.append(
            {
                "name": p.name,
                "count": p.count,
                "vmSize": p.vm_size,
                "osDiskSizeGB": 128,
                "osDiskType": "Managed",
                "kubeletDiskType": "OS",
                "maxPods": 110,
                "type": "VirtualMachineScaleSets",
                "availabilityZones": ["1", "2", "3"],
                "enableAutoScaling": False,
                "scaleDownMode": "Delete",
                "provisioningState": c.provisioning_state,
                "powerState": {"code": running},
                "orchestratorVersion": ver,
                "currentOrchestratorVersion": ver,
                "enableNodePublicIP": False,
                "mode": p.mode,
                "osType": "Linux",
                "osSKU": "Ubuntu",
                "nodeImageVersion": NODE_IMAGE,
                "upgradeSettings": {"maxSurge": "10%"},
                "eTag": new_etag(),
                "enableFIPS": False,
                "securityProfile": {"enableVTPM": False, "enableSecureBoot": False},
            }
        )
    return {
        "id": rid,
        "location": c.location,
        "name": c.name,
        "type": CLUSTER_TYPE,
        "tags": dict(c.tags),
        "eTag": new_etag(),
        "sku": {"name": "Base", "tier": "Standard"},
        "identity": {
            "type": "SystemAssigned",
            "principalId": _uuid(rid, "principal"),
            "tenantId": tenant,
        },
        "properties": {
            "provisioningState": c.provisioning_state,
            "powerState": {"code": running},
            "kubernetesVersion": c.kubernetes_version,
            "currentKubernetesVersion": c.kubernetes_version,
            "dnsPrefix": dns_prefix,
            "fqdn": f"{dns_prefix}-{suffix}.hcp.{c.location}.azmk8s.io",
            "azurePortalFQDN": f"{dns_prefix}-{suffix}.portal.hcp.{c.location}.azmk8s.io",
            "agentPoolProfiles": pools,
            "servicePrincipalProfile": {"clientId": "msi"},
            "addonProfiles": {
                "azureKeyvaultSecretsProvider": {"enabled": False},
                "azurepolicy": {"enabled": True},
                "omsagent": {
                    "enabled": True,
                    "config": {
                        "logAnalyticsWorkspaceResourceID": f"/subscriptions/{c.subscription_id}/resourceGroups/"
                        f"rg-monitoring/providers/Microsoft.OperationalInsights/workspaces/law-{c.location}",
                        "useAADAuth": "true",
                    },
                },
            },
            "nodeResourceGroup": node_rg,
            "enableRBAC": True,
            "supportPlan": "KubernetesOfficial",
            "networkProfile": {
                "networkPlugin": "azure",
                "networkPluginMode": "overlay",
                "networkPolicy": "calico",
                "networkDataplane": "azure",
                "loadBalancerSku": "standard",
                "loadBalancerProfile": {
                    "managedOutboundIPs": {"count": 1},
                    "effectiveOutboundIPs": [
                        {
                            "id": f"/subscriptions/{c.subscription_id}/resourceGroups/{node_rg}/providers/"
                            f"Microsoft.Network/publicIPAddresses/{_uuid(rid, 'pip')}"
                        }
                    ],
                    "backendPoolType": "nodeIPConfiguration",
                },
                "podCidr": "10.244.0.0/16",
                "serviceCidr": "10.0.0.0/16",
                "dnsServiceIP": "10.0.0.10",
                "outboundType": "loadBalancer",
                "podCidrs": ["10.244.0.0/16"],
                "serviceCidrs": ["10.0.0.0/16"],
                "ipFamilies": ["IPv4"],
            },
            "aadProfile": {
                "managed": True,
                "enableAzureRBAC": True,
                "adminGroupObjectIDs": [_uuid(rid, "admins")],
                "tenantID": tenant,
            },
            "maxAgentPools": 100,
            "autoUpgradeProfile": {"upgradeChannel": c.auto_upgrade_channel, "nodeOSUpgradeChannel": "NodeImage"},
            "disableLocalAccounts": True,
            "identityProfile": {
                "kubeletidentity": {
                    "resourceId": f"/subscriptions/{c.subscription_id}/resourcegroups/{node_rg}/providers/"
                    f"Microsoft.ManagedIdentity/userAssignedIdentities/{c.name}-agentpool",
                    "clientId": _uuid(rid, "kubelet-client"),
                    "objectId": _uuid(rid, "kubelet-object"),
                }
            },
            "oidcIssuerProfile": {
                "enabled": True,
                "issuerURL": f"https://{c.location}.oic.prod-aks.azure.com/{tenant}/{_uuid(rid, 'oidc')}/",
            },
            "securityProfile": {"workloadIdentity": {"enabled": True}},
            "storageProfile": {
                "diskCSIDriver": {"enabled": True},
                "fileCSIDriver": {"enabled": True},
                "snapshotController": {"enabled": True},
            },
            "workloadAutoScalerProfile": {},
            "resourceUID": _uuid(rid, "uid").replace("-", "")[:24],
            **({"upgradeSettings": copy.deepcopy(dict(c.upgrade_settings))} if c.upgrade_settings is not None else {}),
        },
    }


@dataclass
class Operation:
    """A long-running upgrade started by a PUT."""

    op_id: str
    subscription_id: str
    location: str
    cluster_key: tuple[str, str, str]
    polls_needed: int
    seconds_needed: float
    started: float
    start_time: str
    outcome: fleet_mod.OperationOutcome
    polls: int = 0
    status: str = "InProgress"
    end_time: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": f"/subscriptions/{self.subscription_id}/providers/{CONTAINER_SERVICE}/locations/{self.location}/operations/{self.op_id}",
            "name": self.op_id,
            "status": self.status,
            "startTime": self.start_time,
        }
        if self.end_time is not None:
            out["endTime"] = self.end_time
        if self.status in ("Failed", "Canceled"):
            out["error"] = {
                "code": self.outcome.code or ("OperationCanceled" if self.status == "Canceled" else "UpgradeFailed"),
                "message": self.outcome.message or f"The upgrade operation ended {self.status}.",
            }
        return out


@dataclass
class ClusterState:
    doc: dict[str, Any]
    behaviour: fleet_mod.OperationBehaviour | None
    maintenance: tuple[dict[str, Any], ...] = ()
    operation: Operation | None = None
    pending_outcome: fleet_mod.OperationOutcome | None = None
    #: pool name -> the nodeImageVersion the running operation's PUT asked for.
    requested_images: dict[str, str] = field(default_factory=dict)
    #: pool name -> currentOrchestratorVersion before the running operation (to tell who moved).
    versions_before: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    """The stored resources; built from a Fleet, changed by requests."""

    fleet: fleet_mod.Fleet
    clock: Callable[[], float]
    rng: random.Random = field(default_factory=random.Random)
    subscriptions: dict[str, fleet_mod.Subscription] = field(default_factory=dict)
    clusters: dict[tuple[str, str, str], ClusterState] = field(default_factory=dict)
    groups: dict[tuple[str, str], fleet_mod.ResourceGroup] = field(default_factory=dict)
    resources: dict[tuple[str, str], list[fleet_mod.GenericResource]] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    #: Azure Monitor alert documents (Alerts Management, api-version 2019-05-05-preview shape).
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        f = self.fleet
        self.subscriptions = {s.subscription_id.lower(): s for s in f.subscriptions}
        for g in f.resource_groups:
            self.groups[(g.subscription_id.lower(), g.name.lower())] = g
        for c in f.clusters:
            key = (c.subscription_id.lower(), c.resource_group.lower(), c.name.lower())
            doc = build_cluster_doc(c, self.tenant_of(c.subscription_id))
            maintenance = tuple(
                {
                    "id": f"{doc['id']}/maintenanceConfigurations/{m.get('name')}",
                    "type": "Microsoft.ContainerService/managedClusters/maintenanceConfigurations",
                    **copy.deepcopy(dict(m)),
                }
                for m in c.maintenance_configurations
            )
            self.clusters[key] = ClusterState(doc, c.operation, maintenance)
            self.groups.setdefault((key[0], key[1]), fleet_mod.ResourceGroup(c.subscription_id, c.resource_group, c.location))
        for r in f.resources:
            self.resources.setdefault((r.subscription_id.lower(), r.resource_group.lower()), []).append(r)
            self.groups.setdefault(
                (r.subscription_id.lower(), r.resource_group.lower()),
                fleet_mod.ResourceGroup(r.subscription_id, r.resource_group, r.location),
            )

    # --- look-ups ---------------------------------------------------------------

    def tenant_of(self, sub: str) -> str:
        s = self.subscriptions.get(sub.lower())
        return s.tenant_id if s else self.fleet.tenant_id

    def subscription(self, sub: str) -> fleet_mod.Subscription:
        s = self.subscriptions.get(sub.lower())
        if s is None:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        return s

    def group(self, sub: str, rg: str) -> fleet_mod.ResourceGroup:
        self.subscription(sub)
        g = self.groups.get((sub.lower(), rg.lower()))
        if g is None:
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return g

    def cluster_state(self, sub: str, rg: str, name: str) -> ClusterState:
        self.group(sub, rg)
        cs = self.clusters.get((sub.lower(), rg.lower(), name.lower()))
        if cs is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource '{CONTAINER_SERVICE}/managedClusters/{name}' under resource group '{rg}' was not found. "
                "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            )
        return cs

    def find_cluster(self, name_or_id: str) -> ClusterState:
        """By resource id (any case) or by name (must be unique in the fleet)."""
        if name_or_id.startswith("/"):
            parts = name_or_id.strip("/").split("/")
            lowered = [p.lower() for p in parts]
            try:
                sub = parts[lowered.index("subscriptions") + 1]
                rg = parts[lowered.index("resourcegroups") + 1]
                name = parts[lowered.index("managedclusters") + 1]
            except (ValueError, IndexError):
                raise KeyError(name_or_id) from None
            cs = self.clusters.get((sub.lower(), rg.lower(), name.lower()))
            if cs is None:
                raise KeyError(name_or_id)
            return cs
        found = [cs for key, cs in self.clusters.items() if key[2] == name_or_id.lower()]
        if len(found) != 1:
            raise KeyError(f"{len(found)} clusters named {name_or_id!r}")
        return found[0]

    def clusters_in(self, sub: str, rg: str | None = None) -> list[dict[str, Any]]:
        self.subscription(sub)
        if rg is not None:
            self.group(sub, rg)
        return [cs.doc for key, cs in self.clusters.items() if key[0] == sub.lower() and (rg is None or key[1] == rg.lower())]

    def adopt(self, document: dict[str, Any]) -> ClusterState:
        """Store a managed-cluster document exactly as given (REST field names, e.g. a published
        ARM example), where its ``id`` says, replacing any cluster stored there.

        Its subscription must be one of the fleet's; its resource group exists from now on. A
        document without ``eTag`` gets one, as ARM always returns one. Upgrades offered to it
        come from the fleet's catalogue for its ``location``.
        """
        if not isinstance(document, dict) or not isinstance(document.get("properties"), dict):
            raise ValueError("a managed-cluster document needs an object under 'properties'")
        parts = str(document.get("id") or "").strip("/").split("/")
        lowered = [p.lower() for p in parts]
        try:
            sub = parts[lowered.index("subscriptions") + 1]
            rg = parts[lowered.index("resourcegroups") + 1]
            name = parts[lowered.index("managedclusters") + 1]
        except (ValueError, IndexError):
            raise ValueError(f"not a managed cluster id: {document.get('id')!r}") from None
        if sub.lower() not in self.subscriptions:
            raise ValueError(f"subscription {sub} is not in the fleet; known: {sorted(self.subscriptions)}")
        doc = copy.deepcopy(document)
        doc.setdefault("eTag", new_etag())
        location = str(doc.get("location") or "")
        self.groups.setdefault((sub.lower(), rg.lower()), fleet_mod.ResourceGroup(sub, rg, location))
        cs = ClusterState(doc, None)
        self.clusters[(sub.lower(), rg.lower(), name.lower())] = cs
        return cs

    def catalogue(self, location: str) -> tuple[fleet_mod.CatalogueVersion, ...]:
        return tuple(self.fleet.kubernetes_versions.get(location.lower(), ()))

    # --- operations ----------------------------------------------------------------

    def _behaviour(self, cs: ClusterState) -> fleet_mod.OperationBehaviour:
        return cs.behaviour or self.fleet.operations

    def poll(self, cs: ClusterState) -> None:
        """One read of the cluster's running operation (operation URL or cluster GET)."""
        op = cs.operation
        if op is None or op.status != "InProgress":
            return
        op.polls += 1
        if op.polls >= op.polls_needed and self.clock() - op.started >= op.seconds_needed:
            self._finish(cs, op)

    def _finish(self, cs: ClusterState, op: Operation) -> None:
        outcome = op.outcome
        op.status = outcome.status if outcome.status in ("Succeeded", "Failed", "Canceled") else "Succeeded"
        op.end_time = _now_iso()
        props = cs.doc.setdefault("properties", {})
        pools = props.get("agentPoolProfiles") or []
        catalogue = self.catalogue(cs.doc.get("location", ""))
        if op.status == "Succeeded":
            props["provisioningState"] = "Succeeded"
            if props.get("kubernetesVersion"):
                # Always a full patch version, also when the PUT asked for a minor alias.
                props["currentKubernetesVersion"] = resolve(catalogue, str(props["kubernetesVersion"]))
            for p in pools:
                p["provisioningState"] = "Succeeded"
                name = str(p.get("name"))
                if name in outcome.pools_behind:
                    p["eTag"] = new_etag()
                    continue  # the operation "succeeded" without moving this pool (a drain timeout)
                if p.get("orchestratorVersion"):
                    p["currentOrchestratorVersion"] = resolve(catalogue, str(p["orchestratorVersion"]))
                if name in cs.requested_images:
                    # A nodeImageVersion in the PUT is a request for exactly that image (a rollback
                    # when it is older than what an upgrade would bring).
                    p["nodeImageVersion"] = cs.requested_images[name]
                elif p.get("currentOrchestratorVersion") != cs.versions_before.get(name):
                    p["nodeImageVersion"] = NODE_IMAGE_LATEST
                p["eTag"] = new_etag()
        else:
            props["provisioningState"] = op.status
            if outcome.current_kubernetes_version:
                props["currentKubernetesVersion"] = outcome.current_kubernetes_version
            for p in pools:
                p["provisioningState"] = op.status
                p["eTag"] = new_etag()
        cs.requested_images = {}
        cs.doc["eTag"] = new_etag()

    def operation(self, sub: str, location: str, op_id: str) -> Operation:
        op = self.operations.get(op_id.lower())
        if op is None or op.subscription_id.lower() != sub.lower():
            raise ArmError(404, "NotFound", f"Operation {op_id} was not found in location {location}.")
        cs = self.clusters.get(op.cluster_key)
        if cs is not None and cs.operation is op:
            self.poll(cs)
        return op

    # --- PUT -------------------------------------------------------------------------

    def put_cluster(self, sub: str, rg: str, name: str, body: Any, if_match: str | None) -> tuple[ClusterState, Operation]:
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
        cs = self.clusters.get((sub.lower(), rg.lower(), name.lower()))
        if cs is None:
            self.cluster_state(sub, rg, name)  # raises the right 404
            raise AssertionError("unreachable")
        old = cs.doc
        stale = if_match is not None and if_match.strip() != "*" and normalize_etag(if_match) != normalize_etag(old.get("eTag", ""))
        if stale:
            raise ArmError(
                412,
                "PreconditionFailed",
                f"Operation is not allowed since the given etag {if_match} does not match the current "
                f"etag {old.get('eTag')} of managed cluster {name}.",
            )
        old_props = old.get("properties", {})
        state = str(old_props.get("provisioningState", "Succeeded"))
        if state.lower() not in TERMINAL_STATES:
            started = cs.operation.start_time if cs.operation else _now_iso()
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Operation is not allowed because there's an in progress {_VERB.get(state.lower(), state.lower())} "
                f"managed cluster operation "
                f"on the managed cluster started at {started}. Please try again later.",
            )
        props = body.get("properties")
        if not isinstance(props, dict):
            props = {}
        current = str(old_props.get("currentKubernetesVersion") or old_props.get("kubernetesVersion"))
        requested = str(props.get("kubernetesVersion") or old_props.get("kubernetesVersion") or current)
        catalogue = self.catalogue(old["location"])
        hops = one_hop(catalogue, current)
        allowed = {current, str(old_props.get("kubernetesVersion"))} | {v.version for v in hops}
        available = ",".join(sorted((v.version for v in hops), key=parse_version))
        try:
            req_v = parse_version(resolve(catalogue, requested))
        except ValueError:
            raise ArmError(400, "InvalidParameter", f"The value of parameter kubernetesVersion '{requested}' is invalid.") from None
        if req_v < parse_version(current):
            raise ArmError(
                400,
                "OperationNotAllowed",
                f"Downgrading Kubernetes version {current} to {requested} is not allowed. Available upgrades: "
                f"{available}. Please see https://aka.ms/aks-supported-k8s-ver for version details.",
            )
        if requested not in allowed and resolve(catalogue, requested) not in allowed:
            raise ArmError(
                400,
                "OperationNotAllowed",
                f"Upgrading Kubernetes version {current} to {requested} is not allowed. Available upgrades: "
                f"[{available.replace(',', ' ')}]. Please see https://aka.ms/aks-supported-k8s-ver for version details.",
            )
        power = (old_props.get("powerState") or {}).get("code", "Running")
        old_pool_versions = {p.get("name"): p.get("orchestratorVersion") for p in old_props.get("agentPoolProfiles") or []}
        pool_moves = any(
            isinstance(p, dict) and p.get("orchestratorVersion") not in (None, old_pool_versions.get(p.get("name")))
            for p in props.get("agentPoolProfiles") or []
        )
        # Stricter than certain: any version change of a stopped cluster, also a pool-only one, is refused.
        if power == "Stopped" and (requested != str(old_props.get("kubernetesVersion")) or pool_moves):
            raise ArmError(
                400,
                "OperationNotAllowed",
                f"Upgrading managed cluster {name} is not allowed while it is stopped. Start the cluster first.",
            )
        self._check_pools(old_props, props, requested, req_v, catalogue)

        doc = self._merge(old, body, requested)
        behaviour = self._behaviour(cs)
        outcome = cs.pending_outcome or behaviour.outcome or fleet_mod.OperationOutcome()
        cs.pending_outcome = None
        op = Operation(
            op_id=str(uuid.uuid4()),
            subscription_id=sub,
            location=old["location"],
            cluster_key=(sub.lower(), rg.lower(), name.lower()),
            polls_needed=behaviour.polls,
            seconds_needed=behaviour.seconds,
            started=self.clock(),
            start_time=_now_iso(),
            outcome=outcome,
        )
        cs.requested_images = {
            str(p.get("name")): str(p["nodeImageVersion"])
            for p in props.get("agentPoolProfiles") or []
            if isinstance(p, dict) and p.get("nodeImageVersion")
        }
        cs.versions_before = {
            str(p.get("name")): str(p.get("currentOrchestratorVersion") or p.get("orchestratorVersion"))
            for p in old_props.get("agentPoolProfiles") or []
        }
        cs.doc = doc
        cs.operation = op
        self.operations[op.op_id] = op
        return cs, op

    @staticmethod
    def _check_pools(
        old_props: dict[str, Any],
        props: dict[str, Any],
        requested: str,
        req_v: tuple[int, ...],
        catalogue: tuple[fleet_mod.CatalogueVersion, ...],
    ) -> None:
        """AKS's rules for node pools in a managed-cluster PUT, as strictly as AKS applies them.

        Every pool's orchestratorVersion is given or none is; each given one is either unchanged or
        the control plane's; a pool never moves down, more than one minor up, or above the control plane.
        """
        pools = [p for p in props.get("agentPoolProfiles") or [] if isinstance(p, dict)]
        old_pools = {p.get("name"): p for p in old_props.get("agentPoolProfiles") or []}
        added = sorted(str(p.get("name")) for p in pools if p.get("name") not in old_pools)
        if added:
            raise ArmError(
                400,
                "OperationNotAllowed",
                f"A new agent pool was introduced ({', '.join(added)}). Adding agent pools to an existing cluster is not "
                "allowed through managed cluster operations. For agent pool specific change, please use per agent pool "
                "operations: https://aka.ms/agent-pool-rest-api",
            )
        specified = [p for p in pools if p.get("orchestratorVersion")]
        if specified and len(specified) != len(pools):
            raise ArmError(400, "NotAllAgentPoolOrchestratorVersionSpecifiedAndUnchanged", NOT_ALL_POOLS_MESSAGE)
        control_plane = str(props.get("kubernetesVersion") or requested)
        for pool in specified:
            was = old_pools.get(pool.get("name"))
            wanted = str(pool["orchestratorVersion"])
            if was is not None and wanted not in (str(was.get("orchestratorVersion")), control_plane):
                raise ArmError(400, "NotAllAgentPoolOrchestratorVersionSpecifiedAndUnchanged", NOT_ALL_POOLS_MESSAGE)
            try:
                new_v = parse_version(resolve(catalogue, wanted))
            except ValueError:
                raise ArmError(400, "InvalidParameter", f"The value of parameter orchestratorVersion '{wanted}' is invalid.") from None
            if new_v > req_v:
                raise ArmError(
                    400,
                    "NodePoolMcVersionIncompatible",
                    f"Node pool version {wanted} and control plane version {requested} are incompatible. Minor version "
                    f"of node pool version {new_v[1]} is bigger than control plane version "
                    f"{req_v[1]}. For more information, please check https://aka.ms/aks/UpgradeVersionRules",
                )
            if was is None or wanted == str(was.get("orchestratorVersion")):
                continue
            current = str(was.get("currentOrchestratorVersion") or was.get("orchestratorVersion"))
            cur_v = parse_version(current)
            if new_v < cur_v or new_v[0] != cur_v[0] or new_v[1] - cur_v[1] > 1:
                raise ArmError(
                    400,
                    "AgentPoolUpgradeVersionNotAllowed",
                    f"Upgrade agent pool version from {current} to {wanted} is not allowed, you can only upgrade one minor "
                    "version at a time. Please use [az aks get-upgrades] command to get the supported upgrade paths. "
                    "For more information, please check https://aka.ms/version-skew-policy",
                )

    @staticmethod
    def _merge(old: dict[str, Any], body: dict[str, Any], requested: str) -> dict[str, Any]:
        """The PUT body becomes the spec; read-only fields come from the server's state."""
        doc = copy.deepcopy(body)
        for key in ("id", "name", "type", "location"):
            doc[key] = old[key]
        doc["eTag"] = new_etag()
        if isinstance(doc.get("identity"), dict) and isinstance(old.get("identity"), dict):
            for key in ("principalId", "tenantId"):
                if key in old["identity"]:
                    doc["identity"][key] = old["identity"][key]
        old_props = old.get("properties", {})
        props = doc.get("properties")
        if not isinstance(props, dict):
            props = doc["properties"] = {}
        props["kubernetesVersion"] = requested
        for key in ("powerState", "currentKubernetesVersion", "fqdn", "azurePortalFQDN", "privateFQDN", "maxAgentPools", "resourceUID"):
            if key in old_props:
                props[key] = copy.deepcopy(old_props[key])
        props["provisioningState"] = "Upgrading"
        old_pools = {p.get("name"): p for p in old_props.get("agentPoolProfiles") or []}
        for pool in props.get("agentPoolProfiles") or []:
            if not isinstance(pool, dict):
                continue
            was = old_pools.get(pool.get("name"), {})
            # Read-only until the operation ends: what the nodes run now (a requested image is
            # kept on the cluster's state and applied when the operation succeeds).
            for key in ("currentOrchestratorVersion", "nodeImageVersion"):
                if key in was:
                    pool[key] = was[key]
            pool["eTag"] = new_etag()
            if "powerState" not in pool and "powerState" in was:
                pool["powerState"] = copy.deepcopy(was["powerState"])
            pool.setdefault("orchestratorVersion", was.get("orchestratorVersion", requested))
            pool["provisioningState"] = "Upgrading"
        # A pool left out of a managed-cluster PUT is not deleted: AKS leaves it as it is.
        named = {pool.get("name") for pool in props.get("agentPoolProfiles") or [] if isinstance(pool, dict)}
        kept = [copy.deepcopy(p) for p in old_props.get("agentPoolProfiles") or [] if p.get("name") not in named]
        if kept:
            props["agentPoolProfiles"] = [*(props.get("agentPoolProfiles") or []), *kept]
        lb = (props.get("networkProfile") or {}).get("loadBalancerProfile")
        old_lb = (old_props.get("networkProfile") or {}).get("loadBalancerProfile") or {}
        if isinstance(lb, dict) and "effectiveOutboundIPs" in old_lb:
            lb["effectiveOutboundIPs"] = copy.deepcopy(old_lb["effectiveOutboundIPs"])
        return doc

    # --- outside changes --------------------------------------------------------------

    def change_cluster(self, cs: ClusterState, changes: dict[str, Any]) -> None:
        """Someone else acted on the cluster: apply ``changes`` and bump the etag."""
        props = cs.doc.setdefault("properties", {})
        for key, value in changes.items():
            if key == "provisioningState":
                props["provisioningState"] = value
                for p in props.get("agentPoolProfiles") or []:
                    p["provisioningState"] = value
            elif key == "powerState":
                code = value["code"] if isinstance(value, dict) else value
                props["powerState"] = {"code": code}
                for p in props.get("agentPoolProfiles") or []:
                    p["powerState"] = {"code": code}
            elif key == "kubernetesVersion":
                # As `az aks upgrade -k` does: the control plane and every pool are asked for it;
                # unless currentKubernetesVersion says otherwise, they already run it.
                props[key] = value
                full = resolve(self.catalogue(cs.doc.get("location", "")), str(value))
                for p in props.get("agentPoolProfiles") or []:
                    p["orchestratorVersion"] = value
                    if "currentKubernetesVersion" not in changes:
                        p["currentOrchestratorVersion"] = full
                if "currentKubernetesVersion" not in changes:
                    props["currentKubernetesVersion"] = full
            elif key == "currentKubernetesVersion":
                # What the control plane and the pools run now (the spec stays as it is).
                props[key] = value
                for p in props.get("agentPoolProfiles") or []:
                    p["currentOrchestratorVersion"] = value
            elif key == "agentPools":
                # {"pool name": "version"}: that pool (orchestratorVersion and what it runs) only.
                pools = {str(p.get("name")): p for p in props.get("agentPoolProfiles") or []}
                # A name the cluster lacks adds a pool (a copy of its first one); None removes the pool.
                profiles = props.setdefault("agentPoolProfiles", [])
                for pool_name, version in dict(value).items():
                    if version is None:
                        profiles[:] = [p for p in profiles if p.get("name") != pool_name]
                        continue
                    if pool_name not in pools:
                        if not profiles:
                            raise ValueError(f"cannot add node pool {pool_name!r} to a cluster without pools")
                        pools[pool_name] = {**copy.deepcopy(profiles[0]), "name": pool_name, "mode": "User"}
                        profiles.append(pools[pool_name])
                    pools[pool_name]["orchestratorVersion"] = version
                    pools[pool_name]["currentOrchestratorVersion"] = resolve(self.catalogue(cs.doc.get("location", "")), str(version))
            elif key == "upgradeSettings":
                if value is None:
                    props.pop("upgradeSettings", None)
                else:
                    props["upgradeSettings"] = copy.deepcopy(dict(value))
            elif key == "tags":
                cs.doc["tags"] = dict(value)
            elif key in ("etag", "eTag"):
                continue
            else:
                raise ValueError(
                    f"cannot change {key!r}; known: provisioningState, powerState, kubernetesVersion, currentKubernetesVersion, "
                    "agentPools, upgradeSettings, tags, etag"
                )
        for p in props.get("agentPoolProfiles") or []:
            p["eTag"] = new_etag()
        cs.doc["eTag"] = str(changes.get("etag") or changes.get("eTag") or new_etag())


def alert_document(cluster_doc: dict[str, Any], name: str, severity: str, fired_at: dt.datetime, monitor_condition: str) -> dict[str, Any]:
    """An alert on a managed cluster as Alerts Management lists it (the essentials the app reads)."""
    rid = cluster_doc["id"]
    sub = rid.split("/")[2]
    stamp = fired_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": f"/subscriptions/{sub}/providers/Microsoft.AlertsManagement/alerts/{_uuid(rid, name, stamp)}",
        "type": "Microsoft.AlertsManagement/alerts",
        "name": name,
        "properties": {
            "essentials": {
                "severity": severity,
                "signalType": "Metric",
                "alertState": "New",
                "monitorCondition": monitor_condition,
                "monitorService": "Platform",
                "targetResource": rid,
                "targetResourceName": cluster_doc["name"],
                "targetResourceGroup": rid.split("/")[4],
                "targetResourceType": "managedclusters",
                "startDateTime": stamp,
                "lastModifiedDateTime": stamp,
                "lastModifiedUserName": "System",
                "actionStatus": {"isSuppressed": False},
                "description": f"{name} on {cluster_doc['name']}",
            },
            "egressConfig": {},
            "context": {},
        },
    }


def subscription_json(s: fleet_mod.Subscription) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{s.subscription_id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": s.subscription_id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "EnterpriseAgreement_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def group_json(g: fleet_mod.ResourceGroup) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{g.subscription_id}/resourceGroups/{g.name}",
        "name": g.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": g.location,
        "tags": dict(g.tags),
        "properties": {"provisioningState": "Succeeded"},
    }


def resource_json(r: fleet_mod.GenericResource) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{r.subscription_id}/resourceGroups/{r.resource_group}/providers/{r.type}/{r.name}",
        "name": r.name,
        "type": r.type,
        "location": r.location,
        "tags": dict(r.tags),
    }


def cluster_as_generic(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "name": doc["name"],
        "type": CLUSTER_TYPE,
        "location": doc["location"],
        "tags": dict(doc.get("tags") or {}),
        "sku": dict(doc.get("sku") or {}),
        "identity": copy.deepcopy(doc.get("identity")),
    }


def shuffled(rng: random.Random, items: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    """A random order that is never the ascending one (for 2+ items), so order-reliant callers fail loudly."""
    out = list(items)
    rng.shuffle(out)
    if len(out) >= 2 and out == sorted(out, key=key):
        out = out[1:] + out[:1]
    return out


def upgrade_profile(world: World, cs: ClusterState) -> dict[str, Any]:
    doc = cs.doc
    props = doc.get("properties", {})
    current = str(props.get("currentKubernetesVersion") or props.get("kubernetesVersion"))
    catalogue = world.catalogue(doc["location"])

    def upgrades(cur: str) -> list[dict[str, Any]]:
        hops = one_hop(catalogue, cur)
        # As the real service does, isPreview appears only when true.
        items = [{"kubernetesVersion": v.version, **({"isPreview": True} if v.is_preview else {})} for v in hops]
        return shuffled(world.rng, items, key=lambda i: parse_version(i["kubernetesVersion"]))

    pools = []
    for p in props.get("agentPoolProfiles") or []:
        pv = str(p.get("currentOrchestratorVersion") or p.get("orchestratorVersion") or current)
        pools.append(
            {
                "name": p.get("name"),
                "osType": p.get("osType", "Linux"),
                "kubernetesVersion": pv,
                "upgrades": upgrades(pv),
            }
        )
    return {
        "id": f"{doc['id']}/upgradeprofiles/default",
        "name": "default",
        "type": "Microsoft.ContainerService/managedClusters/upgradeprofiles",
        "properties": {
            "controlPlaneProfile": {
                "kubernetesVersion": current,
                "name": None,
                "osType": "Linux",
                "upgrades": upgrades(current),
            },
            "agentPoolProfiles": pools,
        },
    }


def kubernetes_versions(world: World, location: str) -> dict[str, Any]:
    catalogue = world.catalogue(location)
    minors: dict[tuple[int, ...], list[fleet_mod.CatalogueVersion]] = {}
    for v in catalogue:
        minors.setdefault(parse_version(v.version)[:2], []).append(v)
    ga_minors = [m for m, vs in minors.items() if any(not v.is_preview for v in vs)]
    default_minor = sorted(ga_minors)[-2] if len(ga_minors) >= 2 else (max(ga_minors) if ga_minors else None)
    values = []
    for minor in sorted(minors):
        vs = minors[minor]
        entry: dict[str, Any] = {
            "version": f"{minor[0]}.{minor[1]}",
            "capabilities": {"supportPlan": ["KubernetesOfficial", "AKSLongTermSupport"]},
            **({"isPreview": True} if all(v.is_preview for v in vs) else {}),
            "patchVersions": {
                v.version: {"upgrades": [u.version for u in one_hop(catalogue, v.version)]}
                for v in sorted(vs, key=lambda v: parse_version(v.version))
            },
        }
        if minor == default_minor:
            entry["isDefault"] = True
        values.append(entry)
    return {"values": values}
