"""Fault rules for the ARM emulator: data, not code.

A rule says *which* requests it applies to and *what* happens to them. Rules
come from Python (``ArmEmulator.add_fault(FaultRule(...))``), from the fleet
file's ``"faults"`` list, or over HTTP (``POST /_emulator/faults`` with one
rule object or a list of them). In JSON the keys are the field names below in
camelCase (``retryAfter``, ``latencyMs``) or snake_case; both are accepted.

Matching (all given conditions must hold; control routes ``/_emulator/*`` are
never matched):

- ``method``  -- HTTP method, case-insensitive. Default: any, except for the
  ``outcome`` kind (default ``PUT``) and the ``state`` kind (default ``GET``).
- ``path``    -- regular expression searched (``re.search``, case-insensitive)
  in the request path without the query string.
- ``cluster`` -- a managed cluster name; matches requests whose path names
  that cluster (``.../managedClusters/{cluster}`` and everything under it,
  including its agent pools and upgrade profile; not its operations).
- ``nth``     -- fire only from the n-th matching request on (1-based).
- ``times``   -- fire for this many matching requests, then stop. Default:
  1 when ``nth`` is given, otherwise unlimited.

So ``nth=3`` hits only the third matching request, ``times=2`` hits the first
two, and ``nth=2, times=3`` hits the second, third and fourth.

Kinds (``kind``) and their effect when the rule fires:

- ``error``   -- answer ``status`` (default 500) with an ARM error body
  ``{"error": {"code": code, "message": message}}`` instead of handling the
  request. ``retry_after`` (seconds) adds a ``Retry-After`` header; a 429
  without an explicit ``retry_after`` gets ``Retry-After: 1``. Typical:
  429 ``TooManyRequests``, 500 ``InternalServerError``, 503
  ``ServiceUnavailable``, 409 ``OperationNotAllowed``.
- ``latency`` -- sleep ``latency_ms`` before handling the request normally.
- ``drop``    -- close the connection without answering (the client sees a
  reset / remote-disconnect). Recorded with status 0.
- ``outcome`` -- the next upgrade operation that a matching PUT starts ends
  with ``status`` ``outcome`` (``Failed`` or ``Canceled``), carrying
  ``code`` and ``message`` (the PUT itself is accepted as usual); or
  ``Succeeded`` with ``pools_behind`` left on their old version.
- ``state``   -- after answering a matching request (by default a GET of the
  cluster named by ``cluster``), apply ``changes`` to that cluster as if
  someone else had acted between the caller's GET and its PUT, and bump its
  etag. ``changes`` keys: ``provisioningState``, ``powerState``,
  ``kubernetesVersion``, ``currentKubernetesVersion``, ``agentPools``
  (``{pool: version}``), ``upgradeSettings``, ``tags``; an empty ``changes``
  only bumps the etag. ``target`` names another cluster to change instead of
  the one the request names.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("error", "latency", "drop", "outcome", "state")

_JSON_KEYS = {
    "retryAfter": "retry_after",
    "latencyMs": "latency_ms",
    "poolsBehind": "pools_behind",
}


@dataclass(frozen=True)
class FaultRule:
    """One fault: which requests (method, path, cluster, nth, times) and what happens (kind + parameters)."""

    kind: str
    method: str | None = None
    path: str | None = None
    cluster: str | None = None
    nth: int | None = None
    times: int | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    latency_ms: float = 0.0
    outcome: str = "Failed"
    changes: Mapping[str, Any] = field(default_factory=dict)
    #: ``state`` only: the cluster the changes apply to, when it is not the one the request names
    #: (e.g. re-tag a queued cluster when another cluster's PUT is answered).
    target: str | None = None
    #: ``outcome`` only: pools that stay behind although the operation ends (e.g.) Succeeded.
    pools_behind: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.path is not None:
            re.compile(self.path)
        if self.kind == "outcome" and self.outcome not in ("Failed", "Canceled", "Succeeded"):
            raise ValueError(f"fault outcome must be Failed, Canceled or Succeeded, not {self.outcome!r}")
        if self.kind == "state" and self.cluster is None and self.path is None:
            raise ValueError("a 'state' fault needs a cluster")
        if self.nth is not None and self.nth < 1:
            raise ValueError("fault nth is 1-based")

    @property
    def effective_method(self) -> str | None:
        if self.method is not None:
            return self.method.upper()
        return {"outcome": "PUT", "state": "GET"}.get(self.kind)

    def error_status(self) -> int:
        return self.status if self.status is not None else 500

    def error_code(self) -> str:
        if self.code:
            return self.code
        return {
            409: "OperationNotAllowed",
            429: "TooManyRequests",
            500: "InternalServerError",
            502: "BadGateway",
            503: "ServiceUnavailable",
            504: "GatewayTimeout",
        }.get(self.error_status(), "InjectedFault")

    def error_message(self) -> str:
        return self.message or f"Injected fault: HTTP {self.error_status()} {self.error_code()}."


def fault_from_dict(d: Mapping[str, Any]) -> FaultRule:
    """A FaultRule from its JSON form (camelCase or snake_case keys)."""
    names = {f.name for f in dataclasses.fields(FaultRule)}
    kwargs: dict[str, Any] = {}
    for key, value in d.items():
        name = _JSON_KEYS.get(key, key)
        if name not in names:
            raise ValueError(f"unknown fault field {key!r}")
        kwargs[name] = value
    if "changes" in kwargs:
        kwargs["changes"] = dict(kwargs["changes"])
    if "pools_behind" in kwargs:
        kwargs["pools_behind"] = tuple(kwargs["pools_behind"])
    return FaultRule(**kwargs)


def fault_to_dict(rule: FaultRule) -> dict[str, Any]:
    """The JSON form of a rule, defaults left out."""
    reverse = {v: k for k, v in _JSON_KEYS.items()}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(FaultRule):
        value = getattr(rule, f.name)
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if f.name == "kind" or value != default:
            out[reverse.get(f.name, f.name)] = dict(value) if f.name == "changes" else list(value) if f.name == "pools_behind" else value
    return out


_CLUSTER_IN_PATH = re.compile(r"/managedclusters/([^/?]+)", re.IGNORECASE)


def cluster_in_path(path: str) -> str | None:
    m = _CLUSTER_IN_PATH.search(path)
    return m.group(1) if m else None


class FaultSet:
    """The live rules with their hit counters; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[tuple[FaultRule, list[int]]] = []  # rule, [matches]

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append((rule, [0]))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [r for r, _ in self._rules]

    def fire(self, method: str, path: str) -> list[FaultRule]:
        """Count this request against every rule it matches; return the rules that fire, in order added."""
        method = method.upper()
        name = cluster_in_path(path)
        fired: list[FaultRule] = []
        with self._lock:
            for rule, counter in self._rules:
                want = rule.effective_method
                if want is not None and want != method:
                    continue
                if rule.path is not None and not re.search(rule.path, path, re.IGNORECASE):
                    continue
                if rule.cluster is not None and (name is None or name.lower() != rule.cluster.lower()):
                    continue
                counter[0] += 1
                n = counter[0]
                first = rule.nth or 1
                times = rule.times if rule.times is not None else (1 if rule.nth is not None else None)
                if n < first or (times is not None and n >= first + times):
                    continue
                fired.append(rule)
        return fired
