"""``python -m ops bench``: fleet-scale discovery, planning and upgrade, measured side by side with
the original enumeration pattern, in one run against the local ARM emulator (docs/performance.md).

Two sizes (``--size``): ``default`` (20 subscriptions, 200 clusters in one location) and ``large``
(50 subscriptions, 1,000 clusters across 4 locations, a 250-cluster environment). Any figure can be
overridden. The emulator enforces ARM's and AKS's throttles (``ops.emulator.throttle``; off with
``--no-throttling``), and the benchmark counts every 429 it sent (``throttled``).

Three phases, each measured by ARM requests (the emulator's recorded requests), wall time
(``time.perf_counter``) and peak Python heap (``tracemalloc``, in a second, separate run of the
phase so that tracing never slows the timed run):

1. ``baseline`` -- :func:`baseline_discovery_and_planning`, the original script's pattern kept here
   on purpose: list subscriptions, list every resource group of each, list every resource of
   each group, and for each managed cluster build a NEW ContainerServiceClient and read its
   upgrade profile; sequential, as the original ran.
2. ``ours`` -- the app's own discovery and planning of the lead environment
   (``shared.activities.planning.plan_lead_environment``), services built inside the timed block.
   Its floor is ``1 + S + L`` requests (``limitRequests``): the subscription list, one cluster list
   per subscription and one version list per location; each cluster on long-term support adds its
   own upgrade profile (one cluster in ``LONG_TERM_SUPPORT_EVERY`` of each environment is).
3. ``upgrade`` -- one environment upgraded through the real orchestrator and the durable replay
   driver, once per ``MAX_PARALLEL_UPGRADES`` in ``--parallel``; each emulated operation takes
   ``--operation-minutes`` on the simulated clock, so simulated duration is compared with the
   ideal ``ceil(N / P) x duration``.

``--plot DIR`` also measures phases 1 and 2 at several fleet sizes and writes the growth charts as
SVG. While it runs, a progress display goes to stderr when that is a terminal.

Both discovery sides read the same emulator with the same per-request latency and the same
page size (``LIST_PAGE_SIZE``: ARM's generic resource and resource-group lists return up to 1000
items a page; every list in the default fleet fits in one page, so neither side pays for paging).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from ops import lab as lab_mod
from ops import report, runner, svgchart
from ops.emulator import ArmEmulator, Fleet, OperationBehaviour, RecordedRequest, StaticTokenCredential, generate_fleet
from ops.emulator import fleet as fleet_mod
from ops.emulator import server as emulator_server
from shared import runtime
from shared import settings as settings_mod
from shared.activities import planning
from shared.activity_messages import FollowerPlanRequest, LeadPlanRequest
from shared.adapters.version_store import TableVersionStore
from shared.domain import versions
from shared.domain.planning import EnvironmentPlan
from shared.domain.records import ValidatedRecord

T = TypeVar("T")

ENVIRONMENT = "sandbox"  # the lead: planned from the region's version list, no predecessor record needed
ENVIRONMENTS = ("sandbox", "dev", "test", "prod")
CLUSTER_TYPE = "microsoft.containerservice/managedclusters"
LIST_PAGE_SIZE = 1000  # ARM pages resource and resource-group lists at up to 1000 items
UPGRADE_LATENCY_MS = 1.0  # phase 3 runs thousands of polls: keep real latency small, time is simulated
POLL_INTERVAL_SECONDS = 60  # the app's default; a 10-minute operation is then seen done on the 10th poll
MAX_TIMEOUT_MINUTES = 6 * 24 * 60  # UPGRADE_TIMEOUT_MINUTES' upper bound in Settings
FIRST_MONDAY = date(2027, 1, 4)  # the lead's weekday; each upgrade run takes the next Monday
FAST_RETRY: dict[str, object] = {"retry_backoff_factor": 0.01, "retry_backoff_max": 0.2}
#: Optional replay budget of phase 3, in poll rounds (ceil(N / P) x ceil(duration / poll)); 0 = none.
#: The orchestrator continues as new every 50 rounds, so replay cost grows linearly with rounds (200
#: clusters at P=1, 2000 rounds, take ~75 s on 2 cores). With a budget, a run over it upgrades the
#: largest environment that fits (N' = P x floor(budget / rounds per batch)) and says so.
MAX_REPLAY_ROUNDS = 0
#: Listen backlog for the emulator's socket. socketserver's default is 5: a burst of more than 5 new
#: connections (our 16 concurrent reads open one per thread) overflows it, the kernel drops the SYNs and
#: the client retries after 1 s -- a stall real ARM does not have (ours: ~2 s instead of ~0.5 s).
EMULATOR_LISTEN_BACKLOG = emulator_server._Server.request_queue_size  # reported with the figures
TRACE_BUDGET_S = 30.0  # phase 3 gets a second, traced run for its peak heap only when the timed run was this quick
#: Where the generated fleets' clusters are, in this order (cluster k of a subscription in location k mod L).
LOCATIONS = ("westeurope", "northeurope", "swedencentral", "germanywestcentral", "francecentral", "uksouth", "eastus", "westus2")
#: One cluster in this many of each environment is on long-term support (AKSLongTermSupport): the
#: region's version list does not describe its upgrade paths, so planning reads its own profile.
LONG_TERM_SUPPORT_EVERY = 50
#: The MAX_PARALLEL_UPGRADES at which the upgrade's simulated time is held against its ideal.
GOAL_PARALLEL = 20


@dataclass(frozen=True)
class Size:
    """A preset fleet: what ``--size`` fills in for the figures not given on the command line."""

    name: str
    subscriptions: int
    resource_groups: int
    resources_per_group: int
    clusters: int
    locations: int
    parallel: str
    #: The upgraded environment: None = a fleet of --clusters clusters all tagged sandbox (the
    #: default's, comparable with earlier measurements); otherwise the fleet's own sandbox clusters.
    upgrade_within_fleet: bool
    memory: bool
    #: Subscriptions measured for the growth charts (--plot), each with clusters / subscriptions clusters.
    growth: tuple[int, ...]


SIZES = {
    "default": Size("default", 20, 30, 10, 200, 1, "1,5,20", False, True, (5, 10, 20, 50)),
    "large": Size("large", 50, 30, 10, 1000, 4, str(GOAL_PARALLEL), True, False, (5, 10, 20, 50)),
}


@dataclass(frozen=True)
class BenchFleet:
    """A generated fleet and the clusters in it that run on long-term support."""

    fleet: Fleet
    long_term_support: tuple[str, ...] = ()

    def serve(self, emulator: ArmEmulator) -> None:
        """Reset ``emulator`` to this fleet, its long-term-support clusters saying so."""
        emulator.reset(self.fleet)
        for name in self.long_term_support:
            document = emulator.cluster(name)
            document["properties"]["supportPlan"] = "AKSLongTermSupport"
            emulator.adopt_cluster_document(document)

    def with_operations(self, operations: OperationBehaviour) -> BenchFleet:
        return replace(self, fleet=replace(self.fleet, operations=operations))

    def in_environment(self, environment: str = ENVIRONMENT) -> int:
        return sum(1 for c in self.fleet.clusters if c.tags.get("environment") == environment)

    def first_in(self, count: int, environment: str = ENVIRONMENT) -> BenchFleet:
        """Only the first ``count`` clusters of ``environment`` left in it (every other cluster stays)."""
        kept, seen = [], 0
        for c in self.fleet.clusters:
            if c.tags.get("environment") == environment:
                seen += 1
                if seen > count:
                    continue
            kept.append(c)
        names = {c.name for c in kept}
        return BenchFleet(replace(self.fleet, clusters=tuple(kept)), tuple(n for n in self.long_term_support if n in names))


def bench_fleet(
    subscriptions: int,
    resource_groups: int,
    resources_per_group: int,
    clusters: int,
    *,
    locations: int = 1,
    environments: Sequence[str] = ENVIRONMENTS,
    cluster_versions: Sequence[str] | None = None,
    operations: OperationBehaviour = OperationBehaviour(),
) -> BenchFleet:
    """``generate_fleet``'s fleet, its clusters spread over ``locations`` regions (each with the same
    catalogue; a subscription's k-th cluster in region k mod L) and one cluster in
    LONG_TERM_SUPPORT_EVERY of each environment on long-term support."""
    if not 1 <= locations <= len(LOCATIONS):
        raise ValueError(f"--locations must be 1..{len(LOCATIONS)}")
    fleet = generate_fleet(
        subscriptions,
        resource_groups,
        resources_per_group,
        clusters,
        environments,
        cluster_versions=cluster_versions,
        operations=operations,
    )
    regions = LOCATIONS[:locations]
    spread = tuple(replace(c, location=regions[(i // max(subscriptions, 1)) % locations]) for i, c in enumerate(fleet.clusters))
    catalogue = next(iter(fleet.kubernetes_versions.values()))
    lts = tuple(c.name for i, c in enumerate(spread) if (i // len(environments)) % LONG_TERM_SUPPORT_EVERY == 0)
    return BenchFleet(replace(fleet, clusters=spread, kubernetes_versions=dict.fromkeys(regions, catalogue)), lts)


def limit_requests(subscriptions: int, locations: int) -> int:
    """The floor of the lead's discovery and planning: 1 + S + L (subscriptions, one cluster list
    per subscription, one version list per location)."""
    return 1 + subscriptions + locations


# --- measurement ------------------------------------------------------------------------------


@dataclass
class Measurement:
    """One phase: ARM requests (by method and kind), wall time, peak Python heap."""

    requests: int
    wall_s: float
    peak_mib: float | None = None
    by_method: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "wall_s": round(self.wall_s, 3),
            "peak_mib": None if self.peak_mib is None else round(self.peak_mib, 2),
            "byMethod": self.by_method,
            "byKind": self.by_kind,
        }


def arm_requests(emulator: ArmEmulator) -> list[RecordedRequest]:
    """The ARM requests the emulator recorded (its /_emulator control routes are never ARM)."""
    return [r for r in emulator.requests if not r.path.lower().startswith("/_emulator")]


def request_kind(r: RecordedRequest) -> str:
    """A short name for what a request did, for the per-kind counts."""
    p = r.path.lower().rstrip("/")
    if r.method == "PUT":
        return "put cluster"
    if p.endswith("/upgradeprofiles/default"):
        return "upgrade profile"
    if p.endswith("/kubernetesversions"):
        return "version list"
    if "/operations/" in p:
        return "operation status"
    if p.endswith("/resources"):
        return "list resources"
    if p.endswith("/resourcegroups"):
        return "list resource groups"
    if p.endswith("/managedclusters"):
        return "list clusters"
    if p == "/subscriptions":
        return "list subscriptions"
    if "/managedclusters/" in p:
        return "get cluster"
    return "other"


@contextmanager
def _traced(enabled: bool) -> Iterator[list[float]]:
    """Peak Python heap (MiB) above the start of the block, when enabled."""
    out: list[float] = []
    if not enabled:
        yield out
        return
    gc.collect()
    tracemalloc.start()
    try:
        yield out
        out.append(tracemalloc.get_traced_memory()[1] / 2**20)
    finally:
        tracemalloc.stop()


def measure(emulator: ArmEmulator, fn: Callable[[], T], *, memory: bool = True) -> tuple[Measurement, T]:
    """Run ``fn`` once timed (no tracing), then once more under tracemalloc for its peak heap."""
    emulator.clear_requests()
    gc.collect()
    started = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - started
    recorded = arm_requests(emulator)
    m = Measurement(len(recorded), wall, None, dict(Counter(r.method for r in recorded)), dict(Counter(map(request_kind, recorded))))
    if memory:
        emulator.clear_requests()
        with _traced(True) as peak:
            fn()
        m.peak_mib = peak[0]
        again = len(arm_requests(emulator))
        if again != m.requests:  # the two runs must do the same work, or the figures mean nothing
            raise RuntimeError(f"the traced run sent {again} ARM requests, the timed run {m.requests}")
    emulator.clear_requests()
    return m, result


# --- phase 1: the original enumeration pattern (the baseline) -------------------------------


def _newest_ga(current: str, upgrades: list[Any]) -> str:
    """The original script's choice: the newest non-preview version the profile lists (or current)."""
    best = versions.parse(current)
    for u in upgrades:
        if not getattr(u, "is_preview", False) and u.kubernetes_version:
            v = versions.parse(u.kubernetes_version)
            best = max(best, v)
    return str(best)


def baseline_discovery_and_planning(endpoint: str, ca_bundle: str, environment: str) -> dict[str, str]:
    """BASELINE -- the original discovery pattern, kept on purpose as the benchmark's reference.

    Subscriptions, then every resource group of each, then every resource of each group; each
    managed cluster of ``environment`` (its tag, read from the resource list) gets a NEW
    ContainerServiceClient and one upgrade-profile GET. Sequential, as the original ran. Clients
    are closed after use (kinder to the baseline than leaving connections open). Returns
    {cluster id: target} so the benchmark can check both sides planned the same thing.
    """
    credential = StaticTokenCredential()
    options: dict[str, Any] = {"base_url": endpoint, "connection_verify": ca_bundle, "credential_scopes": [f"{endpoint}/.default"]}
    targets: dict[str, str] = {}
    with SubscriptionClient(credential, **options) as subscriptions:
        for sub in subscriptions.subscriptions.list():
            sub_id = sub.subscription_id or ""
            with ResourceManagementClient(credential, sub_id, **options) as resources:
                for group in resources.resource_groups.list():
                    for res in resources.resources.list_by_resource_group(group.name or ""):
                        if (res.type or "").lower() != CLUSTER_TYPE or (res.tags or {}).get("environment") != environment:
                            continue
                        with ContainerServiceClient(credential, sub_id, **options) as aks:  # a new client per cluster
                            profile = aks.managed_clusters.get_upgrade_profile(group.name or "", res.name or "")
                        control = profile.control_plane_profile
                        targets[(res.id or "").lower()] = _newest_ga(control.kubernetes_version, control.upgrades or [])
    return targets


# --- phase 2: ours ----------------------------------------------------------------------------


def _plan_with_app(environ: dict[str, str], day: date, plan_at: Callable[[datetime], EnvironmentPlan]) -> EnvironmentPlan:
    """Build the app's services (inside the timed block, as a cold activity would), run one planning
    activity for ``day`` (``plan_at`` gets the run's clock) and return its plan; planning that is
    not ready is a benchmark failure."""
    settings = settings_mod.load(environ)
    services = runtime.build(settings)
    runtime.install(services)
    try:
        plan = plan_at(runner.start_clock(settings, day))
    finally:
        services.arm.close()
        runtime.install(None)
    if plan.status != "ready":
        raise RuntimeError(f"planning {plan.environment} failed: {plan.reason}")
    return plan


def ours_discovery_and_planning(environ: dict[str, str], environment: str, day: date) -> dict[str, str]:
    """The app's planning of the lead: build its services, then ``plan_lead_environment``."""
    plan = _plan_with_app(environ, day, lambda clock: planning.plan_lead_environment(LeadPlanRequest(environment, clock)))
    return {c.id.lower(): c.to_version for c in plan.clusters if c.to_version}


QUIET_FOLLOWER = "dev"
#: The generated fleets' newest GA version: the lead's validated version in the quiet week.
QUIET_VERSION = str(max(versions.parse(v.version) for v in fleet_mod.DEFAULT_CATALOGUE if not v.is_preview))


def quiet_follower_planning(environ: dict[str, str], day: date) -> dict[str, int]:
    """A follower week with nothing to move: every cluster already runs the predecessor's validated
    version (the lab's emulator must serve such a fleet). Returns {planned action: count}."""

    def plan_at(clock: datetime) -> EnvironmentPlan:
        request = FollowerPlanRequest(QUIET_FOLLOWER, ENVIRONMENT, predecessor_is_lead=True, min_soak_hours=0, clock=clock)
        return planning.plan_follower_environment(request)

    plan = _plan_with_app(environ, day, plan_at)
    return dict(Counter(c.action for c in plan.clusters))


def _record_lead_version(lab: lab_mod.Lab, environ: dict[str, str], day: date) -> None:
    settings = settings_mod.load(environ)
    store = TableVersionStore.from_connection_string(lab.azurite.connection_string, settings.version_table)
    validated = runner.start_clock(settings, day) - timedelta(days=7)
    store.write_validated(ValidatedRecord(ENVIRONMENT, QUIET_VERSION, validated, "bench-quiet-week", ()))


def _warm_up(emulator: ArmEmulator, environ: dict[str, str], environment: str, day: date) -> None:
    """Import and initialise both sides' SDK code (lazy model modules, TLS) before anything is timed."""
    credential = StaticTokenCredential()
    options: dict[str, Any] = {
        "base_url": emulator.base_url,
        "connection_verify": emulator.ca_bundle_path,
        "credential_scopes": [f"{emulator.base_url}/.default"],
    }
    with SubscriptionClient(credential, **options) as subscriptions:
        sub = next(iter(subscriptions.subscriptions.list()))
    with ResourceManagementClient(credential, sub.subscription_id or "", **options) as resources:
        group = next(iter(resources.resource_groups.list()))
        list(resources.resources.list_by_resource_group(group.name or ""))
    with ContainerServiceClient(credential, sub.subscription_id or "", **options) as aks:
        list(aks.managed_clusters.list())
    settings_mod.load(environ)
    emulator.clear_requests()


# --- phase 3: a whole environment's upgrade through the driver ----------------------------------


@dataclass
class UpgradeRun:
    parallel: int
    clusters: int
    simulated_s: float
    ideal_s: float
    wall_s: float
    requests: int
    puts: int
    puts_distinct: int
    episodes: int
    status: str
    upgraded: int
    peak_mib: float | None = None
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.simulated_s / self.ideal_s if self.ideal_s else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "parallel": self.parallel,
            "clusters": self.clusters,
            "status": self.status,
            "upgraded": self.upgraded,
            "simulated_s": round(self.simulated_s, 1),
            "ideal_s": round(self.ideal_s, 1),
            "simulated_over_ideal": round(self.ratio, 3),
            "wall_s": round(self.wall_s, 3),
            "requests": self.requests,
            "puts": self.puts,
            "putsDistinct": self.puts_distinct,
            "episodes": self.episodes,
            "peak_mib": None if self.peak_mib is None else round(self.peak_mib, 2),
            "byKind": self.by_kind,
        }


def _drive(
    lab: lab_mod.Lab, fleet: BenchFleet, parallel: int, day: date, timeout_min: int, on_clock: Callable[[float], None]
) -> tuple[runner.RunOutcome, float]:
    settings = settings_mod.load(
        lab.environ(
            MAX_PARALLEL_UPGRADES=str(parallel),
            POLL_INTERVAL_SECONDS=str(POLL_INTERVAL_SECONDS),
            UPGRADE_TIMEOUT_MINUTES=str(timeout_min),
            # The health gate's settle time runs beside the next upgrades (a slot frees when the
            # operation ends) and adds one settle to the whole; the benchmark measures the upgrade
            # pipeline against ceil(N/P) x the operation time, so it settles for 0 minutes.
            HEALTH_SETTLE_MINUTES="0",
            # The heavier health check (a GET and an alert list per cluster): its reads share each
            # round's budget with the looks, and the throttle count shows whether they fit.
            HEALTH_CHECK="arm+alerts",
        )
    )
    fleet.serve(lab.emulator)
    start = runner.start_clock(settings, day)
    lab.clock.advance_to(start)  # emulated operations start on this run's clock

    def advance(moment: datetime) -> None:
        lab.clock.advance_to(moment)
        on_clock((moment - start).total_seconds())

    services = runtime.build(settings, arm_client_options=FAST_RETRY)
    gc.collect()
    try:
        started = time.perf_counter()
        outcome = runner.execute(settings, day, ENVIRONMENT, services=services, on_clock_advance=advance)
        return outcome, time.perf_counter() - started
    finally:
        services.arm.close()
        runtime.install(None)


def upgrade_environment(
    lab: lab_mod.Lab,
    fleet: BenchFleet,
    parallel: int,
    days: Iterator[date],
    operation_s: float,
    *,
    memory: bool,
    on_clock: Callable[[float], None] = lambda _seconds: None,
) -> UpgradeRun:
    """Reset the emulator to ``fleet`` and run the lead environment's orchestration (each run on a later
    Monday, so the simulated clock the emulator shares only moves forward). ``on_clock`` hears the
    simulated seconds since the run's start each time a durable timer fires."""
    n = fleet.in_environment()
    ideal = math.ceil(n / parallel) * operation_s
    timeout_min = min(MAX_TIMEOUT_MINUTES, max(60, math.ceil(ideal * 2 / 60)))
    outcome, wall = _drive(lab, fleet, parallel, next(days), timeout_min, on_clock)
    recorded = arm_requests(lab.emulator)
    peak: list[float] = []
    if memory and wall <= TRACE_BUDGET_S:
        with _traced(True) as peak:
            _drive(lab, fleet, parallel, next(days), timeout_min, lambda _seconds: None)
    puts = [r.path.lower() for r in recorded if r.method == "PUT"]
    result = outcome.result
    return UpgradeRun(
        parallel=parallel,
        clusters=n,
        simulated_s=(outcome.run.finished - outcome.run.started).total_seconds(),
        ideal_s=ideal,
        wall_s=wall,
        requests=len(recorded),
        puts=len(puts),
        puts_distinct=len(set(puts)),
        episodes=outcome.run.episodes,
        status=result["status"],
        upgraded=sum(1 for c in result["clusters"] if c["result"] == "upgraded"),
        peak_mib=peak[0] if peak else None,
        by_kind=dict(Counter(map(request_kind, recorded))),
    )


def clusters_within_budget(clusters: int, parallel: int, rounds_per_batch: int, budget: int) -> int:
    """The largest environment (<= clusters) whose upgrade at ``parallel`` fits ``budget`` poll rounds."""
    if budget <= 0 or math.ceil(clusters / parallel) * rounds_per_batch <= budget:
        return clusters
    return max(parallel * (budget // rounds_per_batch), 1)


# --- progress ------------------------------------------------------------------------------------


class Display:
    """Lines for people and, on a terminal, a live progress display (rich, on stderr).

    ``say`` prints a line (to stderr when the JSON goes to stdout). ``phase`` shows one phase as a
    bar whose completion ``completed()`` reports, refreshed a few times a second; without a
    terminal (or without rich) there is no display and the lines alone tell how it goes.
    """

    def __init__(self, *, json_mode: bool, enabled: bool | None = None) -> None:
        self._out = sys.stderr if json_mode else sys.stdout
        self._progress: Any = None
        if enabled is None:
            enabled = sys.stderr.isatty()
        if enabled:
            try:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
            except ImportError:  # the display is a convenience; the measurements do not need it
                return
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True, width=100),
                redirect_stdout=False,
                redirect_stderr=False,
            )

    def __enter__(self) -> Display:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def say(self, line: str) -> None:
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, file=self._out, flush=True)

    @contextmanager
    def phase(self, description: str, total: float, completed: Callable[[], float]) -> Iterator[None]:
        if self._progress is None:
            yield
            return
        task = self._progress.add_task(description, total=max(total, 1))
        done = threading.Event()

        def refresh() -> None:
            while not done.wait(0.2):
                self._progress.update(task, completed=min(completed(), total))

        updater = threading.Thread(target=refresh, name="bench-progress", daemon=True)
        updater.start()
        try:
            yield
        finally:
            done.set()
            updater.join()
            self._progress.update(task, completed=total)


# --- the whole benchmark ----------------------------------------------------------------------


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


@dataclass(frozen=True)
class Plan:
    """What one invocation measures: the preset with the command line's figures on top."""

    size: str
    subscriptions: int
    resource_groups: int
    resources_per_group: int
    clusters: int
    locations: int
    latency_ms: float
    operation_s: float
    parallel: tuple[int, ...]
    upgrade_clusters: int | None
    upgrade_within_fleet: bool
    memory: bool
    throttling: bool
    growth: tuple[int, ...]
    plot_dir: str | None
    max_replay_rounds: int | None


def plan_from(args: argparse.Namespace) -> Plan:
    """The figures to measure: ``--size``'s preset, each overridden by the flag given for it."""
    preset = SIZES[getattr(args, "size", None) or "default"]

    def pick(name: str, default: Any) -> Any:
        value = getattr(args, name, None)
        return default if value is None else value

    parallel = str(pick("parallel", preset.parallel))
    return Plan(
        size=preset.name,
        subscriptions=int(pick("subscriptions", preset.subscriptions)),
        resource_groups=int(pick("resource_groups", preset.resource_groups)),
        resources_per_group=int(pick("resources_per_group", preset.resources_per_group)),
        clusters=int(pick("clusters", preset.clusters)),
        locations=int(pick("locations", preset.locations)),
        latency_ms=float(pick("latency_ms", 20.0)),
        operation_s=float(pick("operation_minutes", 10.0)) * 60,
        parallel=tuple(int(p) for p in parallel.split(",") if p.strip()),
        upgrade_clusters=getattr(args, "upgrade_clusters", None),
        upgrade_within_fleet=preset.upgrade_within_fleet,
        memory=preset.memory and not getattr(args, "no_memory", False),
        throttling=not getattr(args, "no_throttling", False),
        growth=preset.growth,
        plot_dir=getattr(args, "plot", None),
        max_replay_rounds=getattr(args, "max_replay_rounds", None),
    )


def _planning_phase(
    lab: lab_mod.Lab, display: Display, fleet: BenchFleet, p: Plan, day: date, *, memory: bool, label: str
) -> dict[str, Any]:
    """Phases 1 and 2 on ``fleet``: the baseline, then ours; both must plan the same targets."""
    emulator, environ = lab.emulator, lab.environ()
    fleet.serve(emulator)
    subscriptions = len(fleet.fleet.subscriptions)
    in_env = fleet.in_environment()
    expected_base = 1 + subscriptions + subscriptions * p.resource_groups + in_env
    lts = set(fleet.long_term_support)
    expected_ours = limit_requests(subscriptions, len(fleet.fleet.kubernetes_versions)) + sum(
        1 for c in fleet.fleet.clusters if c.name in lts and c.tags.get("environment") == ENVIRONMENT
    )
    requests_so_far = lambda: float(len(emulator.requests))  # noqa: E731 - the display's reading
    with display.phase(f"{label}baseline discovery + planning", expected_base, requests_so_far):
        base, base_plan = measure(
            emulator, lambda: baseline_discovery_and_planning(emulator.base_url, emulator.ca_bundle_path, ENVIRONMENT), memory=memory
        )
    with display.phase(f"{label}ours: plan_lead_environment", expected_ours, requests_so_far):
        ours, our_plan = measure(emulator, lambda: ours_discovery_and_planning(environ, ENVIRONMENT, day), memory=memory)
    if base_plan != our_plan:
        raise RuntimeError(f"baseline and ours planned differently ({len(base_plan)} vs {len(our_plan)} clusters)")
    return {"baseline": base, "ours": ours, "planned": len(our_plan), "inEnvironment": in_env}


def run(args: argparse.Namespace, say: Callable[[str], None] | None = None, display: Display | None = None) -> dict[str, Any]:
    p = plan_from(args)
    display = display or Display(json_mode=True, enabled=False)
    tell = say or display.say
    day = FIRST_MONDAY
    fleet = bench_fleet(p.subscriptions, p.resource_groups, p.resources_per_group, p.clusters, locations=p.locations)
    in_env = fleet.in_environment()
    limit = limit_requests(p.subscriptions, p.locations)
    out: dict[str, Any] = {
        "size": p.size,
        "clusters": p.clusters,
        "subscriptions": p.subscriptions,
        "locations": p.locations,
        "sizes": {
            "subscriptions": p.subscriptions,
            "resourceGroupsPerSubscription": p.resource_groups,
            "resourcesPerGroup": p.resources_per_group,
            "clusters": p.clusters,
            "clustersInEnvironment": in_env,
            "locations": p.locations,
            "longTermSupportEvery": LONG_TERM_SUPPORT_EVERY,
            "environment": ENVIRONMENT,
            "latencyMs": p.latency_ms,
            "pageSize": LIST_PAGE_SIZE,
            "listenBacklog": EMULATOR_LISTEN_BACKLOG,
            "throttling": p.throttling,
            "cpus": os.cpu_count(),
        },
    }
    with lab_mod.local_lab(
        fleet.fleet, latency_ms=p.latency_ms, page_size=LIST_PAGE_SIZE, emulator_options={"throttling": p.throttling}
    ) as lab:
        emulator = lab.emulator
        environ = lab.environ()
        fleet.serve(emulator)
        _warm_up(emulator, environ, ENVIRONMENT, day)

        tell(
            f"discovery+planning of {ENVIRONMENT} ({in_env} of {p.clusters} clusters), {p.subscriptions} subscriptions x "
            f"{p.resource_groups} groups x {p.resources_per_group} resources, {p.locations} location(s), {p.latency_ms:g} ms per request, "
            f"throttling {'on' if p.throttling else 'off'}"
        )
        measured = _planning_phase(lab, display, fleet, p, day, memory=p.memory, label="")
        base, ours = measured["baseline"], measured["ours"]
        tell(f"  baseline: {base.requests} requests, {base.wall_s:.2f} s")
        tell(f"  ours:     {ours.requests} requests, {ours.wall_s:.2f} s (floor 1 + S + L = {limit})")
        out.update(
            {
                "baseline": base.to_dict(),
                "ours": ours.to_dict(),
                "requests_ratio": _ratio(base.requests, ours.requests),
                "wall_ratio": _ratio(base.wall_s, ours.wall_s),
                "memory_ratio": _ratio(base.peak_mib or 0, ours.peak_mib or 0) if p.memory else None,
                "plannedClusters": measured["planned"],
                "samePlan": True,
                "planning": {
                    "requests": ours.requests,
                    "wall_s": round(ours.wall_s, 3),
                    "limitRequests": limit,
                    "upgradeProfiles": ours.by_kind.get("upgrade profile", 0),
                    "versionLists": ours.by_kind.get("version list", 0),
                },
            }
        )

        # A quiet week: the follower's clusters all run the lead's validated version already.
        quiet_fleet = bench_fleet(
            p.subscriptions, p.resource_groups, p.resources_per_group, p.clusters, locations=p.locations, cluster_versions=[QUIET_VERSION]
        )
        quiet_fleet.serve(emulator)
        _record_lead_version(lab, environ, day)
        quiet, actions = measure(emulator, lambda: quiet_follower_planning(environ, day), memory=False)
        tell(f"  ours, follower '{QUIET_FOLLOWER}' with nothing to move: {quiet.requests} requests, {quiet.wall_s:.2f} s ({actions})")
        out["quietFollower"] = {**quiet.to_dict(), "environment": QUIET_FOLLOWER, "actions": actions}

        if p.plot_dir:
            out["growth"] = _growth(lab, display, p, day, tell)

        out["upgrade"] = _upgrades(lab, display, p, fleet, day, tell)
        out["throttled"] = emulator.throttled
        out["throttledByLimit"] = emulator.throttled_by_limit
    out["goals"] = goals(out)
    if p.plot_dir:
        out["plots"] = write_plots(out, p.plot_dir)
        tell("  charts: " + ", ".join(out["plots"]))
    return out


def _growth(lab: lab_mod.Lab, display: Display, p: Plan, day: date, tell: Callable[[str], None]) -> list[dict[str, Any]]:
    """Phases 1 and 2 at several fleet sizes, each subscription with as many clusters as the
    preset's (for the growth charts)."""
    per_sub = max(p.clusters // p.subscriptions, 1)
    rows = []
    for subs in p.growth:
        fleet = bench_fleet(subs, p.resource_groups, p.resources_per_group, subs * per_sub, locations=p.locations)
        measured = _planning_phase(lab, display, fleet, p, day, memory=False, label=f"growth {subs * per_sub} clusters: ")
        base, ours = measured["baseline"], measured["ours"]
        tell(
            f"  growth, {subs} subscriptions / {subs * per_sub} clusters: baseline {base.requests} requests {base.wall_s:.2f} s, "
            f"ours {ours.requests} requests {ours.wall_s:.2f} s"
        )
        rows.append(
            {
                "subscriptions": subs,
                "clusters": subs * per_sub,
                "clustersInEnvironment": measured["inEnvironment"],
                "limitRequests": limit_requests(subs, p.locations),
                "baseline": {"requests": base.requests, "wall_s": round(base.wall_s, 3)},
                "ours": {"requests": ours.requests, "wall_s": round(ours.wall_s, 3)},
            }
        )
    return rows


def _upgrades(lab: lab_mod.Lab, display: Display, p: Plan, fleet: BenchFleet, day: date, tell: Callable[[str], None]) -> dict[str, Any]:
    """Phase 3: the environment's upgrade once per MAX_PARALLEL_UPGRADES."""
    lab.emulator.latency_ms = UPGRADE_LATENCY_MS
    behaviour = OperationBehaviour(polls=1, seconds=p.operation_s)
    if p.upgrade_within_fleet:
        up_fleet = fleet.with_operations(behaviour)
        if p.upgrade_clusters:
            up_fleet = up_fleet.first_in(p.upgrade_clusters)
    else:
        count = p.upgrade_clusters or p.clusters
        up_fleet = bench_fleet(
            p.subscriptions, p.resource_groups, 0, count, locations=p.locations, environments=(ENVIRONMENT,), operations=behaviour
        )
    n = up_fleet.in_environment()
    minutes = p.operation_s / 60
    tell(
        f"upgrade of {n} {ENVIRONMENT} clusters, {minutes:g} simulated minutes each, poll every {POLL_INTERVAL_SECONDS} s, "
        f"{UPGRADE_LATENCY_MS:g} ms per request"
    )
    budget = p.max_replay_rounds if p.max_replay_rounds is not None else int(os.environ.get("BENCH_MAX_REPLAY_ROUNDS") or MAX_REPLAY_ROUNDS)
    rounds_per_batch = math.ceil(p.operation_s / POLL_INTERVAL_SECONDS) if p.operation_s > 0 else 1
    days = (day + timedelta(weeks=k) for k in range(1, 1000))
    runs = []
    for parallel in p.parallel:
        size = clusters_within_budget(n, parallel, rounds_per_batch, budget)
        if size < n:
            tell(
                f"  P={parallel}: {n} clusters would take {math.ceil(n / parallel) * rounds_per_batch} poll rounds of replay "
                f"(budget {budget}); measuring {size} clusters instead"
            )
        ideal_min = math.ceil(size / parallel) * minutes
        latest = _SimulatedSeconds()
        with display.phase(f"upgrade P={parallel}: simulated minutes", ideal_min, latest.minutes):
            r = upgrade_environment(lab, up_fleet.first_in(size), parallel, days, p.operation_s, memory=p.memory, on_clock=latest.set)
        tell(
            f"  P={parallel}: {r.status}, {r.clusters} clusters, simulated {r.simulated_s / 60:.0f} min (ideal {r.ideal_s / 60:.0f}), "
            f"{r.wall_s:.1f} s wall, {r.requests} requests, {r.puts} PUTs, {r.episodes} episodes"
        )
        runs.append(r)
    headline = next((r for r in runs if r.parallel == GOAL_PARALLEL), max(runs, key=lambda r: r.parallel) if runs else None)
    return {
        "clusters": n,
        "parallel": headline.parallel if headline else None,
        "simulated_minutes": round(headline.simulated_s / 60, 1) if headline else None,
        "ideal_minutes": round(headline.ideal_s / 60, 1) if headline else None,
        "operationMinutes": minutes,
        "pollIntervalSeconds": POLL_INTERVAL_SECONDS,
        "latencyMs": UPGRADE_LATENCY_MS,
        "maxReplayRounds": budget,
        "runs": [
            {
                **r.to_dict(),
                "projectedFull_s": round(r.simulated_s / math.ceil(r.clusters / r.parallel) * math.ceil(n / r.parallel), 1),
            }
            for r in runs
        ],
    }


class _SimulatedSeconds:
    """The latest simulated seconds of a running upgrade, for the progress display."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def set(self, seconds: float) -> None:
        self.seconds = seconds

    def minutes(self) -> float:
        return self.seconds / 60


def goals(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The issue's goals against this run's figures (each: value, goal, met)."""
    up = result["upgrade"]
    planning_ = result["planning"]
    within = None
    if up.get("ideal_minutes"):
        within = round(abs(up["simulated_minutes"] / up["ideal_minutes"] - 1), 3)

    def goal(value: Any, text: str, met: bool | None, size: str) -> dict[str, Any]:
        return {"value": value, "goal": text, "met": met, "size": size}

    return {
        "requestsRatio": goal(result["requests_ratio"], ">= 20", (result["requests_ratio"] or 0) >= 20, "default"),
        "wallRatio": goal(result["wall_ratio"], ">= 10", (result["wall_ratio"] or 0) >= 10, "default"),
        "throttled": goal(result["throttled"], "== 0", result["throttled"] == 0, "large"),
        "planningRequests": goal(
            planning_["requests"],
            f"<= 2 x {planning_['limitRequests']}",
            planning_["requests"] <= 2 * planning_["limitRequests"],
            "large",
        ),
        "upgradeTime": goal(
            within, f"|sim/ideal - 1| <= 0.1 at P={up.get('parallel')}", None if within is None else within <= 0.1, "large"
        ),
    }


# --- charts --------------------------------------------------------------------------------------


def write_plots(result: dict[str, Any], directory: str) -> list[str]:
    """The growth charts as SVG files in ``directory``: requests and wall time against fleet size
    (baseline and ours), and the upgrade's simulated time against MAX_PARALLEL_UPGRADES."""
    where = Path(directory)
    where.mkdir(parents=True, exist_ok=True)
    growth = result.get("growth") or []
    up = result["upgrade"]
    charts = {
        "bench-requests.svg": svgchart.line_chart(
            "ARM requests: discovery + planning of the lead",
            "clusters in the fleet (a quarter in the environment)",
            "ARM requests",
            [
                svgchart.Series("baseline", [(g["clusters"], g["baseline"]["requests"]) for g in growth]),
                svgchart.Series("ours", [(g["clusters"], g["ours"]["requests"]) for g in growth]),
                svgchart.Series("floor 1 + S + L", [(g["clusters"], g["limitRequests"]) for g in growth], dashed=True),
            ],
            x_ticks=[0, *(g["clusters"] for g in growth)],
        ),
        "bench-wall.svg": svgchart.line_chart(
            f"Wall time: discovery + planning ({result['sizes']['latencyMs']:g} ms per request)",
            "clusters in the fleet (a quarter in the environment)",
            "seconds",
            [
                svgchart.Series("baseline", [(g["clusters"], g["baseline"]["wall_s"]) for g in growth]),
                svgchart.Series("ours", [(g["clusters"], g["ours"]["wall_s"]) for g in growth]),
            ],
            x_ticks=[0, *(g["clusters"] for g in growth)],
        ),
        "bench-upgrade.svg": svgchart.line_chart(
            f"Upgrade of {up['clusters']} clusters ({up['operationMinutes']:g} min each): simulated time",
            "MAX_PARALLEL_UPGRADES",
            "simulated minutes",
            [
                svgchart.Series("measured", [(r["parallel"], r["projectedFull_s"] / 60) for r in up["runs"]]),
                svgchart.Series(
                    "ideal ceil(N/P) x op",
                    [(r["parallel"], math.ceil(up["clusters"] / r["parallel"]) * up["operationMinutes"]) for r in up["runs"]],
                    dashed=True,
                ),
            ],
            x_ticks=[0, *(r["parallel"] for r in up["runs"])],
        ),
    }
    written = []
    for name, svg in charts.items():
        path = where / name
        path.write_text(svg, encoding="utf-8")
        written.append(str(path))
    return written


# --- text ----------------------------------------------------------------------------------------


def render(result: dict[str, Any]) -> str:
    """The readable tables (every line within 100 columns)."""
    sizes = result["sizes"]
    base, ours = result["baseline"], result["ours"]

    def mib(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    def ratio(v: float | None) -> str:
        return "-" if v is None else f"{v:g}x"

    def kinds(side: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v}" for k, v in side["byKind"].items())

    lines = [
        f"Discovery + planning of '{sizes['environment']}': {result['plannedClusters']} clusters planned of {sizes['clusters']}",
        f"({sizes['subscriptions']} subscriptions x {sizes['resourceGroupsPerSubscription']} groups x "
        f"{sizes['resourcesPerGroup']} resources, {sizes['locations']} location(s), {sizes['latencyMs']:g} ms per request,",
        f"throttling {'on' if sizes['throttling'] else 'off'})",
        "",
        report.table(
            [
                ("baseline (original enumeration)", str(base["requests"]), f"{base['wall_s']:.2f}", mib(base["peak_mib"])),
                ("ours (plan_lead_environment)", str(ours["requests"]), f"{ours['wall_s']:.2f}", mib(ours["peak_mib"])),
                ("baseline / ours", ratio(result["requests_ratio"]), ratio(result["wall_ratio"]), ratio(result.get("memory_ratio"))),
            ],
            ("", "ARM requests", "wall s", "peak MiB"),
        ),
        "",
        *_wrapped("  baseline requests: " + kinds(base)),
        *_wrapped("  ours requests:     " + kinds(ours)),
        f"  floor for ours: 1 + S + L = {result['planning']['limitRequests']}",
        "",
    ]
    quiet = result.get("quietFollower")
    if quiet:
        lines += _wrapped(
            f"A quiet week for follower '{quiet['environment']}' (every cluster already at the validated version): "
            f"{quiet['requests']} ARM requests, {quiet['wall_s']:.2f} s ({kinds(quiet)})"
        )
        lines.append("")
    for g in result.get("growth") or []:
        if g is (result.get("growth") or [None])[0]:
            lines.append("How discovery + planning grows with the fleet")
            rows = [
                (
                    f"{x['subscriptions']} / {x['clusters']}",
                    str(x["baseline"]["requests"]),
                    f"{x['baseline']['wall_s']:.2f}",
                    str(x["ours"]["requests"]),
                    f"{x['ours']['wall_s']:.2f}",
                    str(x["limitRequests"]),
                )
                for x in result["growth"]
            ]
            lines.append(report.table(rows, ("subs / clusters", "base req", "base s", "our req", "our s", "1 + S + L")))
            lines.append("")
    up = result["upgrade"]
    lines.append(
        f"Upgrade of {up['clusters']} clusters, {up['operationMinutes']:g} simulated min per operation, "
        f"poll {up['pollIntervalSeconds']} s, {up['latencyMs']:g} ms/request"
    )
    lines.append(
        report.table(
            [
                (
                    str(r["parallel"]),
                    str(r["clusters"]),
                    r["status"],
                    f"{r['simulated_s'] / 60:.0f}",
                    f"{r['ideal_s'] / 60:.0f}",
                    f"{r['simulated_over_ideal']:.2f}",
                    f"{r['wall_s']:.1f}",
                    str(r["requests"]),
                    f"{r['puts']}/{r['putsDistinct']}",
                    str(r["episodes"]),
                    mib(r["peak_mib"]),
                )
                for r in up["runs"]
            ],
            ("P", "clusters", "status", "sim min", "ideal", "ratio", "wall s", "requests", "PUTs/dist", "episodes", "MiB"),
        )
    )
    if any(r["clusters"] < up["clusters"] for r in up["runs"]):
        lines += _wrapped(
            f"  (runs with fewer than {up['clusters']} clusters were capped at {up['maxReplayRounds']} poll rounds "
            "of durable replay; BENCH_MAX_REPLAY_ROUNDS=0 runs them in full)"
        )
    lines += ["", f"429s the emulator sent during the whole run: {result['throttled']}", "", "Goals (set for the size named)"]
    lines.append(
        report.table(
            [
                (name, g["size"], str(g["value"]), g["goal"], "-" if g["met"] is None else ("met" if g["met"] else "NOT met"))
                for name, g in result["goals"].items()
            ],
            ("goal", "size", "value", "wanted", ""),
        )
    )
    return "\n".join(lines)


def _wrapped(text: str, width: int = 100) -> list[str]:
    """``text`` broken at spaces into lines of at most ``width`` columns, continuations indented."""
    indent = text[: len(text) - len(text.lstrip(" "))]
    words, lines, line = text.split(), [], indent
    for word in words:
        candidate = f"{line} {word}" if line.strip() else line + word
        if len(candidate) > width and line:
            lines.append(line)
            line = "    " + word
        else:
            line = candidate
    lines.append(line)
    return lines


def main(args: argparse.Namespace) -> int:
    """Entry point of ``python -m ops bench``; exit 0 when every phase did what it should."""
    with Display(json_mode=bool(args.json)) as display:
        result = run(args, display=display)
    ok = result["samePlan"] and all(
        r["status"] == "succeeded" and r["puts"] == r["putsDistinct"] == r["clusters"] == r["upgraded"] for r in result["upgrade"]["runs"]
    )
    if args.json:
        print(json.dumps(result))
    else:
        print()
        print(render(result))
    return 0 if ok else 1
