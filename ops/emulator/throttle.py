"""Azure's request throttles, as the emulator enforces them: token buckets with ARM's and AKS's
published figures.

Two layers, as in Azure. Resource Manager first, per subscription and principal (tenant-level
requests such as the subscription list per tenant and principal), by operation type; then the AKS
resource provider for its own routes, per resource as its table says. A request passes a bucket
when the bucket holds a token; it takes the token. The first empty bucket answers 429 with
``Retry-After`` (whole seconds until that bucket holds a token again); tokens already taken by the
layers before it stay taken, as Resource Manager's count does when the resource provider refuses.

Figures (bucket size, refill rate):

==========================================  ======  ==========  ==========================
bucket                                      burst   refill      one bucket per
==========================================  ======  ==========  ==========================
ARM reads (GET, HEAD)                       250     25 / s      subscription + principal
ARM writes (PUT, PATCH, POST)               200     10 / s      subscription + principal
ARM deletes                                 200     10 / s      subscription + principal
ARM tenant reads / writes                   250/200 25/10 / s   principal (no subscription)
AKS LIST managedClusters (subscription)     500     1 / s       subscription
AKS LIST managedClusters (resource group)   60      1 / s       resource group
AKS PUT managedClusters                     20      1 / min     managed cluster
AKS GET managedClusters                     60      1 / s       managed cluster
AKS GET operation status                    200     2 / s       subscription
AKS all other APIs (upgrade profiles, the   60      1 / s       subscription
region's version list, agent pools)
==========================================  ======  ==========  ==========================

AKS applies its limits per region as well; the emulator keys them by subscription alone, which is
stricter. Sources: docs/performance.md ("Throttling budgets").

The buckets refill from the clock they are given. The emulator gives them its own clock: in the
lab (demo, benchmark) that is the orchestrator's simulated clock, which jumps between durable
timers the way real time passes between poll rounds and stands still within a round, so a round's
burst must fit the buckets (never more generous than Azure). Tests give them a clock they move.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

#: A refill that leaves a bucket this close below one token counts as a whole token (float error).
_EPSILON = 1e-9


@dataclass(frozen=True)
class Limit:
    """One throttle: the bucket size and how many tokens come back per second."""

    name: str
    burst: int
    per_second: float
    #: The error code a 429 of this bucket carries.
    code: str

    def retry_after(self, tokens: float) -> int:
        """Whole seconds until a bucket holding ``tokens`` (less than one) holds one again: at least 1."""
        return max(1, math.ceil((1.0 - tokens) / self.per_second - _EPSILON))


# ARM (Resource Manager) per subscription and principal, by operation type.
ARM_READS = Limit("arm-subscription-reads", 250, 25.0, "SubscriptionRequestsThrottled")
ARM_WRITES = Limit("arm-subscription-writes", 200, 10.0, "SubscriptionRequestsThrottled")
ARM_DELETES = Limit("arm-subscription-deletes", 200, 10.0, "SubscriptionRequestsThrottled")
ARM_TENANT_READS = Limit("arm-tenant-reads", 250, 25.0, "TenantRequestsThrottled")
ARM_TENANT_WRITES = Limit("arm-tenant-writes", 200, 10.0, "TenantRequestsThrottled")
# The AKS resource provider (error code "Throttled").
AKS_LIST_SUBSCRIPTION = Limit("aks-list-clusters-subscription", 500, 1.0, "Throttled")
AKS_LIST_GROUP = Limit("aks-list-clusters-group", 60, 1.0, "Throttled")
AKS_PUT_CLUSTER = Limit("aks-put-cluster", 20, 1.0 / 60.0, "Throttled")
AKS_PUT_AGENT_POOL = Limit("aks-put-agent-pool", 20, 1.0 / 60.0, "Throttled")
AKS_GET_CLUSTER = Limit("aks-get-cluster", 60, 1.0, "Throttled")
AKS_OPERATION_STATUS = Limit("aks-operation-status", 200, 2.0, "Throttled")
AKS_OTHER = Limit("aks-other", 60, 1.0, "Throttled")

LIMITS = (
    ARM_READS,
    ARM_WRITES,
    ARM_DELETES,
    ARM_TENANT_READS,
    ARM_TENANT_WRITES,
    AKS_LIST_SUBSCRIPTION,
    AKS_LIST_GROUP,
    AKS_PUT_CLUSTER,
    AKS_PUT_AGENT_POOL,
    AKS_GET_CLUSTER,
    AKS_OPERATION_STATUS,
    AKS_OTHER,
)

_SUB = r"^/subscriptions/(?P<sub>[^/]+)"
_AKS = _SUB + r"(?:/resourcegroups/(?P<rg>[^/]+))?/providers/microsoft\.containerservice"
_CLUSTER = _AKS + r"/managedclusters/(?P<name>[^/]+)"
_AKS_ROUTES: list[tuple[str, re.Pattern[str], Limit]] = [
    ("GET", re.compile(_AKS + r"/managedclusters/?$", re.IGNORECASE), AKS_LIST_SUBSCRIPTION),
    ("PUT", re.compile(_CLUSTER + r"/?$", re.IGNORECASE), AKS_PUT_CLUSTER),
    ("GET", re.compile(_CLUSTER + r"/?$", re.IGNORECASE), AKS_GET_CLUSTER),
    ("PUT", re.compile(_CLUSTER + r"/agentpools/[^/]+/?$", re.IGNORECASE), AKS_PUT_AGENT_POOL),
    ("GET", re.compile(_AKS + r"/locations/[^/]+/operations/[^/]+/?$", re.IGNORECASE), AKS_OPERATION_STATUS),
]
_SUBSCRIPTION = re.compile(_SUB, re.IGNORECASE)
_CONTAINER_SERVICE = re.compile(_AKS, re.IGNORECASE)


@dataclass(frozen=True)
class Denial:
    """A 429: which bucket refused, ARM's error code and message, and the whole seconds to wait."""

    limit: Limit
    retry_after: int
    message: str


def principal_of(authorization: str) -> str:
    """A short, stable name for the caller behind a bearer token (never the token itself)."""
    return hashlib.sha256(authorization.encode("utf-8")).hexdigest()[:12]


def _arm_kind(method: str) -> str:
    return {"GET": "read", "HEAD": "read", "DELETE": "delete"}.get(method.upper(), "write")


def buckets_for(method: str, path: str, principal: str) -> list[tuple[Limit, tuple[str, ...]]]:
    """The buckets a request takes a token from, in the order Azure applies them: Resource
    Manager's (one, by operation type) then, for an AKS route, the resource provider's (one).
    Each bucket comes with the key of the one it is (the scope it covers)."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    kind = _arm_kind(method)
    sub_match = _SUBSCRIPTION.match(path)
    out: list[tuple[Limit, tuple[str, ...]]] = []
    if sub_match is None:
        out.append((ARM_TENANT_READS if kind == "read" else ARM_TENANT_WRITES, (principal,)))
        return out
    sub = sub_match.group("sub").lower()
    arm = {"read": ARM_READS, "write": ARM_WRITES, "delete": ARM_DELETES}[kind]
    out.append((arm, (sub, principal)))
    aks = _CONTAINER_SERVICE.match(path)
    if aks is None:
        return out
    for wanted, rx, limit in _AKS_ROUTES:
        m = rx.match(path)
        if m is None or wanted != method.upper():
            continue
        if limit is AKS_LIST_SUBSCRIPTION and m.group("rg"):
            out.append((AKS_LIST_GROUP, (sub, m.group("rg").lower())))
        elif limit in (AKS_PUT_CLUSTER, AKS_GET_CLUSTER, AKS_PUT_AGENT_POOL):
            rg = (m.group("rg") or "").lower()
            out.append((limit, (sub, rg, m.group("name").lower())))
        else:
            out.append((limit, (sub,)))
        return out
    out.append((AKS_OTHER, (sub,)))
    return out


class _Bucket:
    __slots__ = ("limit", "stamp", "tokens")

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.stamp = now

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.per_second)
        self.stamp = max(self.stamp, now)

    def take(self) -> bool:
        if self.tokens + _EPSILON < 1.0:
            return False
        self.tokens = max(0.0, self.tokens - 1.0)
        return True


class Throttle:
    """Every bucket the requests so far have touched, refilling from ``clock``; thread-safe.

    ``admit`` takes the request's tokens or says which bucket refused; ``sent`` counts the 429s
    by bucket since the throttle was made (``refill_all`` keeps the counts).
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, tuple[str, ...]], _Bucket] = {}
        self.sent: Counter[str] = Counter()

    def admit(self, method: str, path: str, principal: str) -> Denial | None:
        """Take one token from each bucket of the request, in order; None when all had one."""
        now = self._clock()
        with self._lock:
            for limit, key in buckets_for(method, path, principal):
                bucket = self._buckets.get((limit.name, key))
                if bucket is None:
                    bucket = self._buckets[(limit.name, key)] = _Bucket(limit, now)
                bucket.refill(now)
                if not bucket.take():
                    self.sent[limit.name] += 1
                    wait = limit.retry_after(bucket.tokens)
                    return Denial(limit, wait, _message(limit, method, key, wait))
        return None

    def remaining(self, limit: Limit, key: tuple[str, ...]) -> int | None:
        """Whole tokens left in one bucket now (None if no request has touched it yet)."""
        with self._lock:
            bucket = self._buckets.get((limit.name, key))
            if bucket is None:
                return None
            bucket.refill(self._clock())
            return int(bucket.tokens + _EPSILON)

    def refill_all(self) -> None:
        """Every bucket full again (a later run, long after this one); the counts stay."""
        with self._lock:
            self._buckets.clear()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.sent.values())


def _message(limit: Limit, method: str, key: tuple[str, ...], wait: int) -> str:
    """ARM's and AKS's wording for a throttled request."""
    if limit.name.startswith("arm-subscription"):
        kind = limit.name.rsplit("-", 1)[-1][:-1]
        return (
            f"Number of '{kind}' requests for subscription '{key[0]}' actor '{key[1]}' exceeded. Please try again after '{wait}' seconds."
        )
    if limit.name.startswith("arm-tenant"):
        kind = limit.name.rsplit("-", 1)[-1][:-1]
        return f"Number of '{kind}' requests for tenant actor '{key[0]}' exceeded. Please try again after '{wait}' seconds."
    handler = {
        AKS_PUT_CLUSTER.name: "PutManagedClusterHandler.PUT",
        AKS_PUT_AGENT_POOL.name: "PutAgentPoolHandler.PUT",
        AKS_GET_CLUSTER.name: "GetManagedClusterHandler.GET",
        AKS_LIST_SUBSCRIPTION.name: "ListManagedClustersBySubscriptionHandler.GET",
        AKS_LIST_GROUP.name: "ListManagedClustersByResourceGroupHandler.GET",
        AKS_OPERATION_STATUS.name: "GetOperationStatusHandler.GET",
    }.get(limit.name, f"{method.upper()} request")
    return (
        f"The {handler} request limit has been exceeded for SubID='{key[0]}', please retry again in {wait} seconds. "
        "For more information, please visit aka.ms/aks/throttling"
    )
