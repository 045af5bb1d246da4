"""Whole runs under ARM's and AKS's throttles (the emulator's token buckets), with the buckets
refilling on the orchestrator's simulated clock, as time passes between durable timers.

A 429 on the PUT is waited out by the orchestrator (a durable timer of at least Retry-After) and
never resent by the HTTP layer; a look at a running upgrade throttled past the SDK's retries is
"still running" until the next round; and a large environment in one subscription, polled every
second, is paced so that it never meets a 429 at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.mgmt.containerservice import ContainerServiceClient

from ops import lab, runner
from ops.azurite import Azurite
from ops.emulator import ArmEmulator, OperationBehaviour, StaticTokenCredential, generate_fleet
from shared import runtime
from shared import settings as settings_mod
from tests.e2e.conftest import FAST_ARM, MON, Conductor, by_name
from tests.plugins.arm_emulator import NONPROD_SUBSCRIPTION

NEWEST_GA = "1.31.2"
WEU_1 = "aks-sandbox-weu-1"


@pytest.fixture
def sim(conductor: Conductor) -> lab.SimulatedClock:
    """The orchestrator's simulated clock, driving the emulator's buckets."""
    clock = lab.SimulatedClock()
    conductor.arm.enable_throttling(clock)
    return clock


@pytest.fixture
def sdk_never_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The SDK's retries go at once (no wall-clock wait, and no simulated time passes either: the
    stricter reading); returns the waits it asked for."""
    asked: list[float] = []
    monkeypatch.setattr(RequestsTransport, "sleep", lambda _transport, seconds: asked.append(seconds))
    return asked


@pytest.fixture
def aks(conductor: Conductor) -> Iterator[ContainerServiceClient]:
    arm = conductor.arm
    options: dict[str, Any] = {"base_url": arm.base_url, "connection_verify": arm.ca_bundle_path}
    with ContainerServiceClient(StaticTokenCredential(), NONPROD_SUBSCRIPTION, **options) as client:
        yield client


def run(
    conductor: Conductor, clock: lab.SimulatedClock, *, when_time_passes: Callable[[], None] | None = None, **extra: str
) -> runner.RunOutcome:
    """``ops run`` of Monday with the buckets on the orchestrator's clock; ``when_time_passes`` runs
    each time a durable timer has fired (someone else acting meanwhile)."""
    settings = conductor.settings(**extra)
    services = runtime.build(settings, arm_client_options=FAST_ARM)
    clock.advance_to(runner.start_clock(settings, MON))  # the run's start is the clock's zero

    def advance(moment: datetime) -> None:
        clock.advance_to(moment)
        if when_time_passes is not None:
            when_time_passes()

    return runner.execute(settings, MON, None, services=services, on_clock_advance=advance)


def _ignore_refusal(call: Any) -> None:
    try:
        call()
    except HttpResponseError:
        pass


def test_a_throttled_put_is_waited_out_by_the_orchestrator_and_never_resent_by_the_http_layer(
    conductor: Conductor, sim: lab.SimulatedClock, aks: ContainerServiceClient
) -> None:
    # Someone has just sent aks-sandbox-weu-1 its 20 PUTs: AKS's bucket for that cluster is empty.
    body = aks.managed_clusters.get("rg-aks-sandbox", WEU_1)
    for _ in range(20):
        _ignore_refusal(
            lambda: aks.managed_clusters.begin_create_or_update(
                "rg-aks-sandbox", WEU_1, body, etag="stale", match_condition=MatchConditions.IfNotModified, polling=False, retry_total=0
            )
        )
    conductor.arm.clear_requests()

    outcome = run(conductor, sim)

    result = by_name(outcome.result)
    assert outcome.result["status"] == "succeeded"
    assert {name: (c["to"], c["result"]) for name, c in result.items()} == {
        WEU_1: (NEWEST_GA, "upgraded"),
        "aks-sandbox-weu-2": (NEWEST_GA, "upgraded"),
    }
    on_cluster = [(r.method, r.status) for r in conductor.arm.requests if r.path.endswith(f"/{WEU_1}")]
    # Refused once (Retry-After 60); the next attempt is a fresh GET and one PUT, a minute or more
    # later on the clock the bucket refills from: any sooner and it would have been refused again.
    # The last GET is the health check after the upgrade succeeded.
    assert on_cluster == [("GET", 200), ("PUT", 429), ("GET", 200), ("PUT", 200), ("GET", 200)]
    assert conductor.arm.throttled_by_limit == {"aks-put-cluster": 1}
    assert any(e["EventType"] == 10 for e in outcome.run.history)  # the wait is a durable timer


def test_a_get_before_the_put_throttled_past_the_sdks_retries_backs_off_and_starts_later(
    conductor: Conductor, sim: lab.SimulatedClock, aks: ContainerServiceClient, sdk_never_waits: list[float]
) -> None:
    # Someone has just read aks-sandbox-weu-1 60 times: AKS's GET bucket for that cluster is empty.
    for _ in range(60):
        aks.managed_clusters.get("rg-aks-sandbox", WEU_1, retry_total=0)
    conductor.arm.clear_requests()

    outcome = run(conductor, sim)

    assert outcome.result["status"] == "succeeded"
    assert by_name(outcome.result)[WEU_1]["result"] == "upgraded"
    on_cluster = [(r.method, r.status) for r in conductor.arm.requests if r.path.endswith(f"/{WEU_1}")]
    # The SDK's own retries meet the same empty bucket (no time passes); the start is then answered
    # "retry" and the orchestrator backs off on a durable timer, after which one GET and one PUT go
    # (and, once it succeeded, the health check's GET).
    assert on_cluster == [("GET", 429)] * 4 + [("GET", 200), ("PUT", 200), ("GET", 200)]
    assert conductor.arm.throttled_by_limit == {"aks-get-cluster": 4}


def test_a_look_at_a_running_upgrade_throttled_past_the_sdks_retries_counts_as_still_running(
    conductor: Conductor, sim: lab.SimulatedClock, aks: ContainerServiceClient, sdk_never_waits: list[float]
) -> None:
    # When the first poll timer fires, another client of the subscription has just spent its 200
    # operation-status reads (on operations that are not ours).
    operations = f"/subscriptions/{NONPROD_SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/westeurope/operations"
    spent: list[int] = []

    def someone_else_polls() -> None:
        if not spent:
            spent.extend(aks.send_request(HttpRequest("GET", f"{operations}/elsewhere-{n}"), retry_total=0).status_code for n in range(200))

    outcome = run(conductor, sim, when_time_passes=someone_else_polls)

    assert outcome.result["status"] == "succeeded"
    assert {c["result"] for c in outcome.result["clusters"]} == {"upgraded"}
    assert set(conductor.arm.throttled_by_limit) == {"aks-operation-status"}
    assert sdk_never_waits and set(sdk_never_waits) == {1.0}  # the SDK asked for exactly the Retry-After
    puts = Counter(r.path.rsplit("/", 1)[-1] for r in conductor.arm.requests if r.method == "PUT")
    assert puts == Counter({WEU_1: 1, "aks-sandbox-weu-2": 1})
    assert set(spent) == {404}


def test_a_large_environment_in_one_subscription_polled_every_second_never_meets_a_429(
    azurite: Azurite, version_table_name: str, history_table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 24 clusters in one subscription, all started at once, each upgrade taking 20 simulated seconds:
    # looking at every running upgrade every second would empty AKS's operation-status bucket
    # (200, refilling 2 a second) within ten rounds.
    clusters = 24
    fleet = generate_fleet(1, 1, 0, clusters, ("sandbox",), operations=OperationBehaviour(polls=1, seconds=20))
    clock = lab.SimulatedClock()
    with ArmEmulator(fleet, clock=clock, throttling=True) as emulator:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_bundle_path)
        environ = lab.app_environ(
            emulator.base_url,
            azurite.connection_string,
            VERSION_TABLE=version_table_name,
            HISTORY_TABLE=history_table_name,
            MAX_PARALLEL_UPGRADES=str(clusters),
            POLL_INTERVAL_SECONDS="1",
            UPGRADE_TIMEOUT_MINUTES="60",
        )
        settings = settings_mod.load(environ)
        clock.advance_to(runner.start_clock(settings, MON))
        try:
            outcome = runner.execute(
                settings, MON, None, services=runtime.build(settings, arm_client_options=FAST_ARM), on_clock_advance=clock.advance_to
            )
        finally:
            runtime.install(None)

        assert outcome.result["status"] == "succeeded", outcome.result.get("reason")
        assert Counter(c["result"] for c in outcome.result["clusters"]) == Counter({"upgraded": clusters})
        assert emulator.throttled == 0, emulator.throttled_by_limit
        puts = [r.path for r in emulator.requests if r.method == "PUT"]
        assert len(puts) == len(set(puts)) == clusters
