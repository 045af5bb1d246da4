"""ArmGateway's connection handling, seen from the ARM emulator's side of the socket."""

from __future__ import annotations

from ops.emulator import ArmEmulator, StaticTokenCredential
from shared.adapters.arm import ArmGateway


def test_every_client_of_a_gateway_reuses_one_kept_alive_connection(arm: ArmEmulator) -> None:
    gateway = ArmGateway(StaticTokenCredential(), arm.base_url, client_options={"connection_verify": arm.ca_bundle_path})
    try:
        subscriptions = gateway.list_subscriptions()
        for subscription in subscriptions:  # one ContainerServiceClient per subscription, used one after another
            clusters = gateway.list_clusters(subscription)
            gateway.upgrade_options(clusters[0].id)
    finally:
        gateway.close()

    requests = [r for r in arm.requests if not r.path.startswith("/_emulator")]
    assert len(subscriptions) == 2 and len(requests) >= 5  # the subscription list, pages of two cluster lists, two profiles
    # Three clients, one TLS connection: each new client would otherwise open (and handshake) its own.
    assert len({r.connection for r in requests}) == 1, {r.connection for r in requests}
