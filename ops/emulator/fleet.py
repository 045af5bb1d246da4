"""The fleet an ARM emulator serves: subscriptions, version catalogue, clusters, faults.

Fleet file format (JSON; ``load_fleet(path)``, ``fleet_from_dict(d)``,
``fleet_to_dict(fleet)``)::

    {
      "tenantId": "00000000-0000-0000-0000-0000000000t0",      # optional default tenant
      "subscriptions": [
        {"subscriptionId": "...", "displayName": "Platform NonProd", "tenantId": "..."}  # tenantId optional
      ],
      "kubernetesVersions": {                                   # catalogue per location
        "westeurope": [{"version": "1.30.5"}, {"version": "1.32.0", "isPreview": true}]
      },
      "operations": {"polls": 2, "seconds": 0},                 # upgrade operation behaviour (defaults shown)
      "clusters": [
        {
          "subscriptionId": "...", "resourceGroup": "rg-dev", "name": "aks-dev-1",
          "location": "westeurope", "kubernetesVersion": "1.30.5",
          "tags": {"environment": "dev"},                       # optional, default {}
          "powerState": "Running",                              # optional: Running | Stopped
          "provisioningState": "Succeeded",                     # optional
          "agentPools": [                                       # optional: one System pool "nodepool1"
            {"name": "nodepool1", "count": 3, "vmSize": "Standard_D4s_v5",
             "mode": "System", "orchestratorVersion": "1.30.5"}  # orchestratorVersion defaults to the cluster's
          ],
          "upgradeSettings": {"overrideSettings": {"forceUpgrade": true, "until": "2026-12-03T00:00:00Z"}},  # optional
          "autoUpgradeChannel": "none",                         # optional: none | patch | stable | rapid | node-image
          "maintenanceConfigurations": [                        # optional, each as ARM returns it
            {"name": "aksManagedAutoUpgradeSchedule", "properties": {"maintenanceWindow": {
              "schedule": {"weekly": {"intervalWeeks": 1, "dayOfWeek": "Sunday"}},
              "durationHours": 4, "utcOffset": "+00:00", "startTime": "00:00"}}}
          ],
          "operation": {                                        # optional per-cluster override
            "polls": 3, "seconds": 0,
            "outcome": {"status": "Failed", "code": "UpgradeFailed",
                        "message": "Drain of node aks-nodepool1-123 did not complete.",
                        "currentKubernetesVersion": null}       # optional: version left behind on failure
          }
        }
      ],
      "resourceGroups": [{"subscriptionId": "...", "name": "rg-x", "location": "westeurope", "tags": {}}],
      "resources": [{"subscriptionId": "...", "resourceGroup": "rg-x", "name": "st1",
                     "type": "Microsoft.Storage/storageAccounts", "location": "westeurope"}],
      "faults": [{"kind": "error", "method": "GET", "cluster": "aks-dev-1", "status": 503, "times": 1}]
    }

Resource groups named by clusters and resources exist implicitly;
``resourceGroups`` adds empty ones or gives them tags. ``faults`` entries are
FaultRule objects (see ``ops.emulator.faults`` for every kind).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.emulator import faults as faults_mod

DEFAULT_TENANT = "00000000-0000-0000-0000-0000000000aa"


@dataclass(frozen=True)
class Subscription:
    """An Azure subscription the caller can see."""

    subscription_id: str
    display_name: str
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class CatalogueVersion:
    """One Kubernetes patch version offered in a location."""

    version: str
    is_preview: bool = False


@dataclass(frozen=True)
class AgentPool:
    """A node pool; ``orchestrator_version`` None means the cluster's version."""

    name: str = "nodepool1"
    count: int = 3
    vm_size: str = "Standard_D4s_v5"
    mode: str = "System"
    orchestrator_version: str | None = None


@dataclass(frozen=True)
class OperationOutcome:
    """How an upgrade operation ends: status Succeeded, Failed or Canceled (+ ARM error code/message)."""

    status: str = "Succeeded"
    code: str | None = None
    message: str | None = None
    current_kubernetes_version: str | None = None  # left behind on failure; None = unchanged
    #: Pools that stay on their version although the operation ends Succeeded (as AKS can after a
    #: drain timeout): what the health gate must catch.
    pools_behind: tuple[str, ...] = ()


@dataclass(frozen=True)
class OperationBehaviour:
    """An operation completes after ``polls`` reads and ``seconds`` on the emulator's clock."""

    polls: int = 2
    seconds: float = 0.0
    outcome: OperationOutcome | None = None


@dataclass(frozen=True)
class Cluster:
    """A managed cluster as the fleet file describes it."""

    subscription_id: str
    resource_group: str
    name: str
    location: str
    kubernetes_version: str
    tags: Mapping[str, str] = field(default_factory=dict)
    power_state: str = "Running"
    provisioning_state: str = "Succeeded"
    agent_pools: tuple[AgentPool, ...] = (AgentPool(),)
    operation: OperationBehaviour | None = None
    #: properties.upgradeSettings as ARM returns it, e.g. {"overrideSettings": {"forceUpgrade": true, "until": "..."}}.
    upgrade_settings: Mapping[str, Any] | None = None
    #: autoUpgradeProfile.upgradeChannel: none (default), patch, stable, rapid, node-image.
    auto_upgrade_channel: str = "none"
    #: Planned maintenance configurations, each as ARM returns it ({"name", "properties": {...}}).
    maintenance_configurations: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ResourceGroup:
    subscription_id: str
    name: str
    location: str = "westeurope"
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GenericResource:
    """Any other resource, listed by ``resourceGroups/{rg}/resources`` (benchmark baseline)."""

    subscription_id: str
    resource_group: str
    name: str
    type: str
    location: str = "westeurope"
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fleet:
    """Everything an emulator serves; immutable, the emulator copies it into mutable state."""

    subscriptions: tuple[Subscription, ...]
    kubernetes_versions: Mapping[str, tuple[CatalogueVersion, ...]]
    clusters: tuple[Cluster, ...]
    operations: OperationBehaviour = OperationBehaviour()
    resource_groups: tuple[ResourceGroup, ...] = ()
    resources: tuple[GenericResource, ...] = ()
    faults: tuple[faults_mod.FaultRule, ...] = ()
    tenant_id: str = DEFAULT_TENANT


# --- JSON -------------------------------------------------------------------


def _outcome_from(d: Mapping[str, Any] | None) -> OperationOutcome | None:
    if d is None:
        return None
    return OperationOutcome(
        status=d.get("status", "Succeeded"),
        code=d.get("code"),
        message=d.get("message"),
        current_kubernetes_version=d.get("currentKubernetesVersion"),
        pools_behind=tuple(d.get("poolsBehind", ())),
    )


def _operation_from(d: Mapping[str, Any] | None) -> OperationBehaviour | None:
    if d is None:
        return None
    return OperationBehaviour(
        polls=int(d.get("polls", 2)),
        seconds=float(d.get("seconds", 0)),
        outcome=_outcome_from(d.get("outcome")),
    )


def fleet_from_dict(d: Mapping[str, Any]) -> Fleet:
    """A Fleet from the JSON document described in the module docstring."""
    tenant = d.get("tenantId", DEFAULT_TENANT)
    subs = tuple(
        Subscription(s["subscriptionId"], s.get("displayName", s["subscriptionId"]), s.get("tenantId", tenant))
        for s in d.get("subscriptions", [])
    )
    versions = {
        loc.lower(): tuple(CatalogueVersion(v["version"], bool(v.get("isPreview", False))) for v in vs)
        for loc, vs in d.get("kubernetesVersions", {}).items()
    }
    clusters = []
    for c in d.get("clusters", []):
        pools = tuple(
            AgentPool(
                name=p.get("name", "nodepool1"),
                count=int(p.get("count", 3)),
                vm_size=p.get("vmSize", "Standard_D4s_v5"),
                mode=p.get("mode", "System"),
                orchestrator_version=p.get("orchestratorVersion"),
            )
            for p in c.get("agentPools", [{}])
        )
        clusters.append(
            Cluster(
                subscription_id=c["subscriptionId"],
                resource_group=c["resourceGroup"],
                name=c["name"],
                location=c.get("location", "westeurope").lower(),
                kubernetes_version=c["kubernetesVersion"],
                tags=dict(c.get("tags", {})),
                power_state=c.get("powerState", "Running"),
                provisioning_state=c.get("provisioningState", "Succeeded"),
                agent_pools=pools,
                operation=_operation_from(c.get("operation")),
                upgrade_settings=c.get("upgradeSettings"),
                auto_upgrade_channel=c.get("autoUpgradeChannel", "none"),
                maintenance_configurations=tuple(c.get("maintenanceConfigurations", ())),
            )
        )
    return Fleet(
        subscriptions=subs,
        kubernetes_versions=versions,
        clusters=tuple(clusters),
        operations=_operation_from(d.get("operations")) or OperationBehaviour(),
        resource_groups=tuple(
            ResourceGroup(g["subscriptionId"], g["name"], g.get("location", "westeurope"), dict(g.get("tags", {})))
            for g in d.get("resourceGroups", [])
        ),
        resources=tuple(
            GenericResource(
                r["subscriptionId"],
                r["resourceGroup"],
                r["name"],
                r["type"],
                r.get("location", "westeurope"),
                dict(r.get("tags", {})),
            )
            for r in d.get("resources", [])
        ),
        faults=tuple(faults_mod.fault_from_dict(f) for f in d.get("faults", [])),
        tenant_id=tenant,
    )


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet file (JSON, see the module docstring)."""
    return fleet_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _outcome_to(o: OperationOutcome | None) -> dict[str, Any] | None:
    if o is None:
        return None
    out: dict[str, Any] = {"status": o.status}
    if o.code is not None:
        out["code"] = o.code
    if o.message is not None:
        out["message"] = o.message
    if o.current_kubernetes_version is not None:
        out["currentKubernetesVersion"] = o.current_kubernetes_version
    if o.pools_behind:
        out["poolsBehind"] = list(o.pools_behind)
    return out


def _operation_to(b: OperationBehaviour) -> dict[str, Any]:
    out: dict[str, Any] = {"polls": b.polls, "seconds": b.seconds}
    if b.outcome is not None:
        out["outcome"] = _outcome_to(b.outcome)
    return out


def fleet_to_dict(fleet: Fleet) -> dict[str, Any]:
    """The JSON document for a Fleet; ``fleet_from_dict(fleet_to_dict(f)) == f``."""
    clusters = []
    for c in fleet.clusters:
        cd: dict[str, Any] = {
            "subscriptionId": c.subscription_id,
            "resourceGroup": c.resource_group,
            "name": c.name,
            "location": c.location,
            "kubernetesVersion": c.kubernetes_version,
            "tags": dict(c.tags),
            "powerState": c.power_state,
            "provisioningState": c.provisioning_state,
            "agentPools": [
                {
                    "name": p.name,
                    "count": p.count,
                    "vmSize": p.vm_size,
                    "mode": p.mode,
                    **({"orchestratorVersion": p.orchestrator_version} if p.orchestrator_version else {}),
                }
                for p in c.agent_pools
            ],
        }
        if c.operation is not None:
            cd["operation"] = _operation_to(c.operation)
        if c.upgrade_settings is not None:
            cd["upgradeSettings"] = dict(c.upgrade_settings)
        if c.auto_upgrade_channel != "none":
            cd["autoUpgradeChannel"] = c.auto_upgrade_channel
        if c.maintenance_configurations:
            cd["maintenanceConfigurations"] = [dict(m) for m in c.maintenance_configurations]
        clusters.append(cd)
    return {
        "tenantId": fleet.tenant_id,
        "subscriptions": [
            {"subscriptionId": s.subscription_id, "displayName": s.display_name, "tenantId": s.tenant_id} for s in fleet.subscriptions
        ],
        "kubernetesVersions": {
            loc: [{"version": v.version, "isPreview": v.is_preview} for v in vs] for loc, vs in fleet.kubernetes_versions.items()
        },
        "operations": _operation_to(fleet.operations),
        "clusters": clusters,
        "resourceGroups": [
            {"subscriptionId": g.subscription_id, "name": g.name, "location": g.location, "tags": dict(g.tags)}
            for g in fleet.resource_groups
        ],
        "resources": [
            {
                "subscriptionId": r.subscription_id,
                "resourceGroup": r.resource_group,
                "name": r.name,
                "type": r.type,
                "location": r.location,
                "tags": dict(r.tags),
            }
            for r in fleet.resources
        ],
        "faults": [faults_mod.fault_to_dict(f) for f in fleet.faults],
    }


# --- the benchmark's big fleet --------------------------------------------------

_GENERIC_TYPES = (
    "Microsoft.Storage/storageAccounts",
    "Microsoft.Network/virtualNetworks",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Web/sites",
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Network/publicIPAddresses",
    "Microsoft.Insights/components",
)

DEFAULT_CATALOGUE = (
    CatalogueVersion("1.29.8"),
    CatalogueVersion("1.29.9"),
    CatalogueVersion("1.30.4"),
    CatalogueVersion("1.30.5"),
    CatalogueVersion("1.31.1"),
    CatalogueVersion("1.31.2"),
    CatalogueVersion("1.32.0", is_preview=True),
)


def generate_fleet(
    subscriptions: int = 20,
    resource_groups: int = 30,
    resources_per_group: int = 10,
    clusters: int = 200,
    environments: Sequence[str] = ("sandbox", "dev", "test", "prod"),
    seed: int = 0,
    *,
    location: str = "westeurope",
    catalogue: Sequence[CatalogueVersion] = DEFAULT_CATALOGUE,
    cluster_versions: Sequence[str] | None = None,
    operations: OperationBehaviour = OperationBehaviour(),
) -> Fleet:
    """A large deterministic fleet for the benchmark.

    ``resource_groups`` is per subscription; every group holds
    ``resources_per_group`` generic resources; ``clusters`` are spread
    round-robin over subscriptions and randomly over their groups, cluster i
    tagged ``environment=environments[i % len(environments)]`` and running a
    GA catalogue version of the lowest two minors (or ``cluster_versions``).
    """
    rng = random.Random(seed)
    subs = tuple(
        Subscription(f"00000000-0000-0000-{seed % 10000:04d}-{i + 1:012x}", f"Bench Subscription {i + 1:02d}") for i in range(subscriptions)
    )
    groups = tuple(ResourceGroup(s.subscription_id, f"rg-bench-{j + 1:03d}", location) for s in subs for j in range(resource_groups))
    resources = tuple(
        GenericResource(
            g.subscription_id,
            g.name,
            f"res-{g.name[-3:]}-{k + 1:03d}",
            _GENERIC_TYPES[(k + len(g.name)) % len(_GENERIC_TYPES)],
            location,
        )
        for g in groups
        for k in range(resources_per_group)
    )
    if cluster_versions is None:
        ga = [v.version for v in catalogue if not v.is_preview]
        minors = sorted({tuple(int(x) for x in v.split(".")[:2]) for v in ga})[:2]
        cluster_versions = [v for v in ga if tuple(int(x) for x in v.split(".")[:2]) in minors]
    made = []
    for i in range(clusters):
        sub = subs[i % len(subs)] if subs else Subscription("00000000-0000-0000-0000-000000000001", "Bench")
        rg = f"rg-bench-{rng.randrange(max(resource_groups, 1)) + 1:03d}"
        env = environments[i % len(environments)]
        made.append(
            Cluster(
                subscription_id=sub.subscription_id,
                resource_group=rg,
                name=f"aks-{env}-{i + 1:04d}",
                location=location,
                kubernetes_version=rng.choice(list(cluster_versions)),
                tags={"environment": env},
                agent_pools=(AgentPool(),),
            )
        )
    return Fleet(
        subscriptions=subs,
        kubernetes_versions={location: tuple(catalogue)},
        clusters=tuple(made),
        operations=operations,
        resource_groups=groups,
        resources=resources,
    )


SAMPLE_FLEET_PATH = Path(__file__).with_name("sample_fleet.json")


def sample_fleet() -> Fleet:
    """The demo fleet shipped as ``sample_fleet.json``."""
    return load_fleet(SAMPLE_FLEET_PATH)
