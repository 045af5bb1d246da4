"""The emulator's throttles on their own (no HTTP): which buckets each request takes a token from,
the token arithmetic on a clock the test moves, Retry-After, and ARM's and AKS's wording."""

from __future__ import annotations

import pytest

from ops.emulator import throttle as t

SUB = "00000000-0000-0000-0000-00000000a001"
MC = f"/subscriptions/{SUB}/resourceGroups/rg-sandbox/providers/Microsoft.ContainerService/managedClusters/aks-1"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/subscriptions", [(t.ARM_TENANT_READS, ("me",))]),
        ("GET", f"/subscriptions/{SUB}/resourcegroups", [(t.ARM_READS, (SUB, "me"))]),
        ("GET", f"/subscriptions/{SUB}/resourceGroups/rg/resources", [(t.ARM_READS, (SUB, "me"))]),
        (
            "GET",
            f"/subscriptions/{SUB}/providers/Microsoft.ContainerService/managedClusters",
            [(t.ARM_READS, (SUB, "me")), (t.AKS_LIST_SUBSCRIPTION, (SUB,))],
        ),
        (
            "GET",
            f"/subscriptions/{SUB}/resourceGroups/RG-1/providers/Microsoft.ContainerService/managedClusters",
            [(t.ARM_READS, (SUB, "me")), (t.AKS_LIST_GROUP, (SUB, "rg-1"))],
        ),
        ("GET", MC, [(t.ARM_READS, (SUB, "me")), (t.AKS_GET_CLUSTER, (SUB, "rg-sandbox", "aks-1"))]),
        ("PUT", MC, [(t.ARM_WRITES, (SUB, "me")), (t.AKS_PUT_CLUSTER, (SUB, "rg-sandbox", "aks-1"))]),
        ("DELETE", MC, [(t.ARM_DELETES, (SUB, "me")), (t.AKS_OTHER, (SUB,))]),
        ("GET", MC + "/upgradeProfiles/default", [(t.ARM_READS, (SUB, "me")), (t.AKS_OTHER, (SUB,))]),
        ("GET", MC + "/agentPools/nodepool1", [(t.ARM_READS, (SUB, "me")), (t.AKS_OTHER, (SUB,))]),
        (
            "PUT",
            MC + "/agentPools/nodepool1",
            [(t.ARM_WRITES, (SUB, "me")), (t.AKS_PUT_AGENT_POOL, (SUB, "rg-sandbox", "aks-1"))],
        ),
        (
            "GET",
            f"/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/kubernetesVersions",
            [(t.ARM_READS, (SUB, "me")), (t.AKS_OTHER, (SUB,))],
        ),
        (
            "GET",
            f"/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/operations/op-1",
            [(t.ARM_READS, (SUB, "me")), (t.AKS_OPERATION_STATUS, (SUB,))],
        ),
    ],
)
def test_each_request_takes_a_token_from_resource_managers_bucket_then_from_the_aks_providers(
    method: str, path: str, expected: list[tuple[t.Limit, tuple[str, ...]]]
) -> None:
    assert t.buckets_for(method, path, "me") == [(limit, tuple(k.lower() for k in key)) for limit, key in expected]


def test_the_figures_are_arms_and_aks_published_ones() -> None:
    figures = {limit.name: (limit.burst, limit.per_second) for limit in t.LIMITS}
    assert figures == {
        "arm-subscription-reads": (250, 25.0),
        "arm-subscription-writes": (200, 10.0),
        "arm-subscription-deletes": (200, 10.0),
        "arm-tenant-reads": (250, 25.0),
        "arm-tenant-writes": (200, 10.0),
        "aks-list-clusters-subscription": (500, 1.0),
        "aks-list-clusters-group": (60, 1.0),
        "aks-put-cluster": (20, 1 / 60),
        "aks-put-agent-pool": (20, 1 / 60),
        "aks-get-cluster": (60, 1.0),
        "aks-operation-status": (200, 2.0),
        "aks-other": (60, 1.0),
    }


def test_a_full_bucket_grants_its_burst_at_once_then_refuses_until_the_clock_refills_it() -> None:
    clock = Clock()
    throttle = t.Throttle(clock)
    path = MC + "/upgradeProfiles/default"  # AKS "all other APIs": 60, one more per second

    assert all(throttle.admit("GET", path, "me") is None for _ in range(60))
    denial = throttle.admit("GET", path, "me")
    assert denial is not None and (denial.limit, denial.retry_after) == (t.AKS_OTHER, 1)

    clock.now = 0.5
    assert throttle.admit("GET", path, "me") is not None  # half a token is no token
    clock.now = 3.0
    assert [throttle.admit("GET", path, "me") is None for _ in range(4)] == [True, True, True, False]
    assert throttle.sent == {"aks-other": 3} and throttle.total == 3


def test_a_managed_cluster_put_refills_one_a_minute_per_cluster() -> None:
    clock = Clock()
    throttle = t.Throttle(clock)
    assert all(throttle.admit("PUT", MC, "me") is None for _ in range(20))

    denial = throttle.admit("PUT", MC, "me")
    assert denial is not None and (denial.limit.code, denial.retry_after) == ("Throttled", 60)
    assert throttle.admit("PUT", MC.replace("aks-1", "aks-2"), "me") is None  # another cluster has its own
    clock.now = 30.0
    late = throttle.admit("PUT", MC, "me")
    assert late is not None and late.retry_after == 30
    clock.now = 60.0
    assert throttle.admit("PUT", MC, "me") is None


def test_resource_managers_count_is_per_principal_and_the_providers_is_not() -> None:
    throttle = t.Throttle(Clock())
    ops = f"/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/operations/op"
    for i in range(200):
        assert throttle.admit("GET", f"{ops}{i}", "app") is None
    # Another principal has its own Resource Manager reads, but AKS counts the subscription's status reads.
    denial = throttle.admit("GET", f"{ops}x", "operator")
    assert denial is not None and denial.limit is t.AKS_OPERATION_STATUS and denial.retry_after == 1


def test_a_request_refused_by_the_provider_still_counts_for_resource_manager() -> None:
    clock = Clock()
    throttle = t.Throttle(clock)
    for _ in range(20):
        throttle.admit("PUT", MC, "me")
    for _ in range(180):
        assert throttle.admit("PUT", MC, "me") is not None  # AKS refuses; ARM counted each one
    assert throttle.remaining(t.ARM_WRITES, (SUB.lower(), "me")) == 0
    denial = throttle.admit("PUT", MC.replace("aks-1", "aks-2"), "me")
    assert denial is not None and (denial.limit, denial.limit.code) == (t.ARM_WRITES, "SubscriptionRequestsThrottled")


def test_refusals_are_worded_as_arm_and_aks_word_them() -> None:
    clock = Clock()
    throttle = t.Throttle(clock)
    for _ in range(250):
        throttle.admit("GET", f"/subscriptions/{SUB}/resourcegroups", "me")
    arm = throttle.admit("GET", f"/subscriptions/{SUB}/resourcegroups", "me")
    for _ in range(20):
        throttle.admit("PUT", MC.replace("aks-1", "aks-9"), "you")
    aks = throttle.admit("PUT", MC.replace("aks-1", "aks-9"), "you")

    assert arm is not None and arm.message == (
        f"Number of 'read' requests for subscription '{SUB}' actor 'me' exceeded. Please try again after '1' seconds."
    )
    assert aks is not None and aks.message == (
        f"The PutManagedClusterHandler.PUT request limit has been exceeded for SubID='{SUB}', please retry again in 60 seconds. "
        "For more information, please visit aka.ms/aks/throttling"
    )


def test_refilling_every_bucket_keeps_the_counts() -> None:
    throttle = t.Throttle(Clock())
    for _ in range(61):
        throttle.admit("GET", MC + "/upgradeProfiles/default", "me")
    throttle.refill_all()
    assert throttle.admit("GET", MC + "/upgradeProfiles/default", "me") is None
    assert throttle.total == 1


def test_a_principal_is_named_by_a_digest_never_by_its_token() -> None:
    name = t.principal_of("Bearer secret-token")
    assert name == t.principal_of("Bearer secret-token") != t.principal_of("Bearer other")
    assert "secret" not in name and len(name) == 12
