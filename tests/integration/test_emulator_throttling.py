"""ARM's and AKS's throttles as the emulator enforces them, seen through the unmodified Azure SDK
clients, and what the app's ARM gateway does under them: reads are retried by the SDK after
``Retry-After``, a PUT never by the HTTP layer.

The buckets refill from a clock the test moves (``Clock``), so every count is exact; where the SDK
waits out a ``Retry-After`` its transport's sleep moves that clock instead of the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from ops.emulator import ArmEmulator, StaticTokenCredential
from shared.adapters.arm import ArmGateway
from shared.errors import ArmTransientError
from tests.plugins.arm_emulator import NONPROD_SUBSCRIPTION

SANDBOX_GROUP = "rg-aks-sandbox"
OPERATIONS = f"/subscriptions/{NONPROD_SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/westeurope/operations"
CLUSTERS = f"/subscriptions/{NONPROD_SUBSCRIPTION}/resourceGroups/{SANDBOX_GROUP}/providers/Microsoft.ContainerService/managedClusters"


class Clock:
    """Seconds that pass only when the test (or a patched SDK sleep) says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(arm: ArmEmulator) -> Clock:
    made = Clock()
    arm.enable_throttling(made)
    return made


@pytest.fixture
def sdk_waits_on(monkeypatch: pytest.MonkeyPatch) -> Callable[[Clock | None], list[float]]:
    """Make the SDK's transport wait on ``clock`` (or not at all, for None) instead of the wall
    clock; returns the list of the waits it asked for."""

    def install(clock: Clock | None) -> list[float]:
        asked: list[float] = []

        def sleep(_transport: Any, seconds: float) -> None:
            asked.append(seconds)
            if clock is not None:
                clock.advance(seconds)

        monkeypatch.setattr(RequestsTransport, "sleep", sleep)
        return asked

    return install


@pytest.fixture
def options(arm: ArmEmulator) -> dict[str, Any]:
    return {"base_url": arm.base_url, "connection_verify": arm.ca_bundle_path, "credential_scopes": [f"{arm.base_url}/.default"]}


@pytest.fixture
def aks(options: dict[str, Any]) -> Iterator[ContainerServiceClient]:
    with ContainerServiceClient(StaticTokenCredential(), NONPROD_SUBSCRIPTION, **options) as client:
        yield client


def refused(call: Callable[[], object]) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value


def throttled(call: Callable[[], object]) -> tuple[str, str]:
    """The 429's ARM error code and Retry-After."""
    error = refused(call)
    assert error.status_code == 429, error
    assert error.response is not None
    return error.error.code if error.error else "", error.response.headers["Retry-After"]


def answered(call: Callable[[], object]) -> bool:
    """True when the request was not throttled (answered, or refused for another reason)."""
    try:
        call()
    except HttpResponseError as error:
        return error.status_code != 429
    return True


def put_stale(aks: ContainerServiceClient, name: str) -> Callable[[], object]:
    """A managed-cluster PUT with a stale ETag: ARM answers 412 and nothing changes (when it is not throttled)."""
    body = aks.managed_clusters.get(SANDBOX_GROUP, name, retry_total=0)

    def call() -> object:
        return aks.managed_clusters.begin_create_or_update(
            SANDBOX_GROUP, name, body, etag="stale", match_condition=MatchConditions.IfNotModified, polling=False, retry_total=0
        )

    return call


# -- each bucket through the SDK --------------------------------------------------------------------
def test_resource_manager_grants_250_reads_per_subscription_then_25_a_second(clock: Clock, options: dict[str, Any]) -> None:
    with ResourceManagementClient(StaticTokenCredential(), NONPROD_SUBSCRIPTION, **options) as rm:

        def read() -> object:
            return rm.resource_groups.get("rg-shared-nonprod", retry_total=0)

        assert all(answered(read) for _ in range(250))
        assert throttled(read) == ("SubscriptionRequestsThrottled", "1")
        clock.advance(1)
        assert [answered(read) for _ in range(26)] == [True] * 25 + [False]


def test_resource_manager_grants_250_tenant_reads_then_refuses(clock: Clock, options: dict[str, Any]) -> None:
    with SubscriptionClient(StaticTokenCredential(), **options) as subscriptions:

        def read() -> object:
            return list(subscriptions.subscriptions.list(retry_total=0))

        assert all(answered(read) for _ in range(250))
        assert throttled(read) == ("TenantRequestsThrottled", "1")


def test_resource_manager_grants_200_writes_per_subscription_counting_those_aks_refused(clock: Clock, aks: ContainerServiceClient) -> None:
    first, second = put_stale(aks, "aks-sandbox-weu-1"), put_stale(aks, "aks-sandbox-weu-2")
    results = [answered(first) for _ in range(200)]

    assert results == [True] * 20 + [False] * 180  # AKS's own bucket for the cluster ran dry after 20
    assert throttled(second) == ("SubscriptionRequestsThrottled", "1")  # Resource Manager counted all 200


def test_aks_grants_20_puts_per_managed_cluster_then_one_a_minute(clock: Clock, aks: ContainerServiceClient) -> None:
    put = put_stale(aks, "aks-sandbox-weu-1")
    assert all(answered(put) for _ in range(20))

    assert throttled(put) == ("Throttled", "60")
    assert answered(put_stale(aks, "aks-sandbox-weu-2"))  # each cluster has its own bucket
    clock.advance(59)
    assert throttled(put) == ("Throttled", "1")
    clock.advance(1)
    assert answered(put)


def test_aks_grants_60_gets_per_managed_cluster_then_one_a_second(clock: Clock, aks: ContainerServiceClient) -> None:
    def get(name: str) -> Callable[[], object]:
        return lambda: aks.managed_clusters.get(SANDBOX_GROUP, name, retry_total=0)

    assert all(answered(get("aks-sandbox-weu-1")) for _ in range(60))
    assert throttled(get("aks-sandbox-weu-1")) == ("Throttled", "1")
    assert answered(get("aks-sandbox-weu-2"))


def test_aks_grants_200_operation_status_reads_per_subscription_then_two_a_second(clock: Clock, aks: ContainerServiceClient) -> None:
    def status(n: int) -> Callable[[], object]:
        def call() -> object:
            response = aks.send_request(HttpRequest("GET", f"{OPERATIONS}/op-{n}"), retry_total=0)
            response.raise_for_status()
            return response

        return call

    # Any operation of the subscription counts (these do not exist: ARM answers 404, not 429).
    assert all(answered(status(n)) for n in range(200))
    assert throttled(status(200)) == ("Throttled", "1")
    clock.advance(1)
    assert [answered(status(n)) for n in range(3)] == [True, True, False]


def test_aks_grants_60_other_reads_per_subscription_shared_by_upgrade_profiles_and_the_version_list(
    clock: Clock, aks: ContainerServiceClient
) -> None:
    def profile(name: str) -> Callable[[], object]:
        return lambda: aks.managed_clusters.get_upgrade_profile(SANDBOX_GROUP, name, retry_total=0)

    assert all(answered(profile(f"aks-sandbox-weu-{1 + n % 2}")) for n in range(60))
    assert throttled(lambda: aks.managed_clusters.list_kubernetes_versions("westeurope", retry_total=0)) == ("Throttled", "1")


def test_aks_grants_60_cluster_lists_per_resource_group(clock: Clock, aks: ContainerServiceClient) -> None:
    def listing(group: str) -> Callable[[], object]:
        return lambda: list(aks.managed_clusters.list_by_resource_group(group, retry_total=0))

    assert all(answered(listing(SANDBOX_GROUP)) for _ in range(60))
    assert throttled(listing(SANDBOX_GROUP)) == ("Throttled", "1")
    assert answered(listing("rg-aks-dev"))


def test_every_429_is_counted_by_bucket_and_reported_on_the_control_route(
    clock: Clock, arm: ArmEmulator, aks: ContainerServiceClient
) -> None:
    put = put_stale(aks, "aks-sandbox-weu-1")
    for _ in range(23):
        answered(put)

    assert arm.throttled == 3 and arm.throttled_by_limit == {"aks-put-cluster": 3}
    report = requests.get(f"{arm.base_url}/_emulator/throttling", verify=arm.ca_bundle_path, timeout=10).json()
    assert report == {"enabled": True, "throttled": 3, "byLimit": {"aks-put-cluster": 3}}
    assert [r.status for r in arm.requests if r.method == "PUT"][-4:] == [412, 429, 429, 429]


def test_throttling_is_off_unless_enabled(arm: ArmEmulator, aks: ContainerServiceClient) -> None:
    put = put_stale(aks, "aks-sandbox-weu-1")
    assert all(answered(put) for _ in range(25))
    assert (arm.throttling, arm.throttled) == (False, 0)


# -- the app's gateway under the throttles -------------------------------------------------------------
@pytest.fixture
def gateway(arm: ArmEmulator) -> Iterator[ArmGateway]:
    made = ArmGateway(StaticTokenCredential(), arm.base_url, client_options={"connection_verify": arm.ca_bundle_path})
    yield made
    made.close()


def exhaust_other_reads(aks: ContainerServiceClient) -> None:
    for _ in range(60):
        aks.managed_clusters.get_upgrade_profile(SANDBOX_GROUP, "aks-sandbox-weu-1", retry_total=0)


def test_a_throttled_read_is_retried_by_the_sdk_after_retry_after_and_then_answered(
    clock: Clock, arm: ArmEmulator, aks: ContainerServiceClient, gateway: ArmGateway, sdk_waits_on: Callable[[Clock | None], list[float]]
) -> None:
    exhaust_other_reads(aks)
    arm.clear_requests()
    waits = sdk_waits_on(clock)

    listed = gateway.region_versions(NONPROD_SUBSCRIPTION, "westeurope")

    assert "1.31.2" in {str(v.version) for v in listed}
    assert [r.status for r in arm.requests] == [429, 200]
    assert waits == [1.0]  # exactly the Retry-After, as ARM asked


def test_a_read_throttled_past_the_sdks_retries_is_a_transient_error_with_retry_after(
    clock: Clock, arm: ArmEmulator, aks: ContainerServiceClient, gateway: ArmGateway, sdk_waits_on: Callable[[Clock | None], list[float]]
) -> None:
    exhaust_other_reads(aks)
    arm.clear_requests()
    waits = sdk_waits_on(None)  # the clock stands still: every retry meets the same empty bucket

    with pytest.raises(ArmTransientError) as caught:
        gateway.upgrade_options(f"{CLUSTERS}/aks-sandbox-weu-2")

    assert (caught.value.code, caught.value.status, caught.value.retry_after_s) == ("Throttled", 429, 1.0)
    # The first try and azure-core's retries on a status (retry_status: 3), each after the Retry-After.
    assert [r.status for r in arm.requests] == [429] * 4
    assert waits == [1.0] * 3


def test_a_throttled_put_is_never_resent_by_the_http_layer(
    clock: Clock, arm: ArmEmulator, aks: ContainerServiceClient, gateway: ArmGateway, sdk_waits_on: Callable[[Clock | None], list[float]]
) -> None:
    cluster_id = f"{CLUSTERS}/aks-sandbox-weu-1"
    put = put_stale(aks, "aks-sandbox-weu-1")
    for _ in range(20):
        answered(put)
    fresh = gateway.get_for_update(cluster_id)
    arm.clear_requests()
    waits = sdk_waits_on(clock)

    with pytest.raises(ArmTransientError) as caught:
        gateway.put_upgrade(fresh, "1.31.2", ("system", "user1"))

    assert (caught.value.code, caught.value.retry_after_s) == ("Throttled", 60.0)
    assert [(r.method, r.status) for r in arm.requests] == [("PUT", 429)]  # one PUT: no resend, no wait
    assert waits == []
    assert arm.cluster("aks-sandbox-weu-1")["properties"]["provisioningState"] == "Succeeded"
