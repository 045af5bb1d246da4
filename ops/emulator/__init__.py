"""Local Azure Resource Manager emulator for the AKS upgrade conductor.

An HTTPS server on 127.0.0.1 that speaks enough of the ARM REST API
(subscriptions, resource groups, resources, managed clusters with paging,
upgrade profiles, Kubernetes version lists, PUT as a long-running operation
with ``Azure-AsyncOperation`` polling) for the unmodified Azure SDK clients,
driven by a fleet file (``ops.emulator.fleet``) and fault rules
(``ops.emulator.faults``). Routes and control endpoints: ``ops.emulator.server``.

    from ops.emulator import ArmEmulator, sample_fleet
    with ArmEmulator(sample_fleet()) as emu:
        client = ContainerServiceClient(StaticTokenCredential(), sub, base_url=emu.base_url,
                                        connection_verify=emu.ca_bundle_path)
"""

from ops.emulator.credential import StaticTokenCredential
from ops.emulator.faults import FaultRule, fault_from_dict, fault_to_dict
from ops.emulator.fleet import (
    SAMPLE_FLEET_PATH,
    AgentPool,
    CatalogueVersion,
    Cluster,
    Fleet,
    GenericResource,
    OperationBehaviour,
    OperationOutcome,
    ResourceGroup,
    Subscription,
    fleet_from_dict,
    fleet_to_dict,
    generate_fleet,
    load_fleet,
    sample_fleet,
)
from ops.emulator.server import ArmEmulator, RecordedRequest, serve

__all__ = [
    "SAMPLE_FLEET_PATH",
    "AgentPool",
    "ArmEmulator",
    "CatalogueVersion",
    "Cluster",
    "FaultRule",
    "Fleet",
    "GenericResource",
    "OperationBehaviour",
    "OperationOutcome",
    "RecordedRequest",
    "ResourceGroup",
    "StaticTokenCredential",
    "Subscription",
    "fault_from_dict",
    "fault_to_dict",
    "fleet_from_dict",
    "fleet_to_dict",
    "generate_fleet",
    "load_fleet",
    "sample_fleet",
    "serve",
]
