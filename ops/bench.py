"""``python -m ops bench``: fleet-scale discovery, planning and upgrade, measured side by side with
the original enumeration pattern, in one run against the local ARM emulator (docs/performance.md).

Three phases, each measured by ARM requests (the emulator's recorded requests), wall time
(``time.perf_counter``) and peak Python heap (``tracemalloc``, in a second, separate run of the
phase so that tracing never slows the timed run):

1. ``baseline`` -- :func:`baseline_discovery_and_planning`, the original script's pattern kept here
   on purpose: list subscriptions, list every resource group of each, list every resource of
   each group, and for each managed cluster build a NEW ContainerServiceClient and read its
   upgrade profile; sequential, as the original ran.
2. ``ours`` -- the app's own discovery and planning of the lead environment
   (``shared.activities.planning.plan_lead_environment``), services built inside the timed block.
3. ``upgrade`` -- one environment of ``--upgrade-clusters`` clusters (all tagged ``sandbox``)
   upgraded through the real orchestrator and the durable replay driver, once per
   ``MAX_PARALLEL_UPGRADES`` in ``--parallel``; each emulated operation takes
   ``--operation-minutes`` on the simulated clock, so simulated duration is compared with the
   ideal ``ceil(N / P) x duration``.

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
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from ops import lab as lab_mod
from ops import report, runner
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

ENVIRONMENT = "sandbox"  # the lead: planned from upgrade profiles, no predecessor record needed
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


def _drive(lab: lab_mod.Lab, fleet: Fleet, parallel: int, day: date, timeout_min: int) -> tuple[runner.RunOutcome, float]:
    settings = settings_mod.load(
        lab.environ(
            MAX_PARALLEL_UPGRADES=str(parallel),
            POLL_INTERVAL_SECONDS=str(POLL_INTERVAL_SECONDS),
            UPGRADE_TIMEOUT_MINUTES=str(timeout_min),
        )
    )
    lab.emulator.reset(fleet)
    lab.clock.advance_to(runner.start_clock(settings, day))  # emulated operations start on this run's clock
    services = runtime.build(settings, arm_client_options=FAST_RETRY)
    gc.collect()
    try:
        started = time.perf_counter()
        outcome = runner.execute(settings, day, ENVIRONMENT, services=services, on_clock_advance=lab.clock.advance_to)
        return outcome, time.perf_counter() - started
    finally:
        services.arm.close()
        runtime.install(None)


def upgrade_environment(
    lab: lab_mod.Lab, fleet: Fleet, parallel: int, days: Iterator[date], operation_s: float, *, memory: bool
) -> UpgradeRun:
    """Reset the emulator to ``fleet`` and run the lead environment's orchestration (each run on a later
    Monday, so the simulated clock the emulator shares only moves forward)."""
    n = len(fleet.clusters)
    ideal = math.ceil(n / parallel) * operation_s
    timeout_min = min(MAX_TIMEOUT_MINUTES, max(60, math.ceil(ideal * 2 / 60)))
    outcome, wall = _drive(lab, fleet, parallel, next(days), timeout_min)
    recorded = arm_requests(lab.emulator)
    peak: list[float] = []
    if memory and wall <= TRACE_BUDGET_S:
        with _traced(True) as peak:
            _drive(lab, fleet, parallel, next(days), timeout_min)
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


# --- the whole benchmark ----------------------------------------------------------------------


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def run(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    subscriptions, groups, per_group = args.subscriptions, args.resource_groups, args.resources_per_group
    clusters, latency = args.clusters, float(args.latency_ms)
    upgrade_clusters = int(getattr(args, "upgrade_clusters", None) or clusters)
    parallel = [int(p) for p in str(args.parallel).split(",") if p.strip()]
    operation_s = float(args.operation_minutes) * 60
    memory = not getattr(args, "no_memory", False)
    day = FIRST_MONDAY

    fleet = generate_fleet(subscriptions, groups, per_group, clusters, ENVIRONMENTS)
    in_env = sum(1 for c in fleet.clusters if c.tags.get("environment") == ENVIRONMENT)
    out: dict[str, Any] = {
        "sizes": {
            "subscriptions": subscriptions,
            "resourceGroupsPerSubscription": groups,
            "resourcesPerGroup": per_group,
            "clusters": clusters,
            "clustersInEnvironment": in_env,
            "environment": ENVIRONMENT,
            "latencyMs": latency,
            "pageSize": LIST_PAGE_SIZE,
            "listenBacklog": EMULATOR_LISTEN_BACKLOG,
            "cpus": os.cpu_count(),
        },
    }
    with lab_mod.local_lab(fleet, latency_ms=latency, page_size=LIST_PAGE_SIZE) as lab:
        emulator = lab.emulator
        environ = lab.environ()
        _warm_up(emulator, environ, ENVIRONMENT, day)

        say(
            f"discovery+planning of {ENVIRONMENT} ({in_env} of {clusters} clusters), {subscriptions} subscriptions x "
            f"{groups} groups x {per_group} resources, {latency:g} ms per request"
        )
        base, base_plan = measure(
            emulator, lambda: baseline_discovery_and_planning(emulator.base_url, emulator.ca_bundle_path, ENVIRONMENT), memory=memory
        )
        say(f"  baseline: {base.requests} requests, {base.wall_s:.2f} s")
        ours, our_plan = measure(emulator, lambda: ours_discovery_and_planning(environ, ENVIRONMENT, day), memory=memory)
        say(f"  ours:     {ours.requests} requests, {ours.wall_s:.2f} s")
        if base_plan != our_plan:
            raise RuntimeError(f"baseline and ours planned differently ({len(base_plan)} vs {len(our_plan)} clusters)")
        out.update(
            {
                "baseline": base.to_dict(),
                "ours": ours.to_dict(),
                "requests_ratio": _ratio(base.requests, ours.requests),
                "wall_ratio": _ratio(base.wall_s, ours.wall_s),
                "memory_ratio": _ratio(base.peak_mib or 0, ours.peak_mib or 0) if memory else None,
                "plannedClusters": len(our_plan),
                "samePlan": True,
            }
        )

        # A quiet week: the follower's clusters all run the lead's validated version already.
        quiet_fleet = generate_fleet(subscriptions, groups, per_group, clusters, ENVIRONMENTS, cluster_versions=[QUIET_VERSION])
        emulator.reset(quiet_fleet)
        _record_lead_version(lab, environ, day)
        quiet, actions = measure(emulator, lambda: quiet_follower_planning(environ, day), memory=False)
        say(f"  ours, follower '{QUIET_FOLLOWER}' with nothing to move: {quiet.requests} requests, {quiet.wall_s:.2f} s ({actions})")
        out["quietFollower"] = {**quiet.to_dict(), "environment": QUIET_FOLLOWER, "actions": actions}

        emulator.latency_ms = UPGRADE_LATENCY_MS
        up_fleet = generate_fleet(
            subscriptions, groups, 0, upgrade_clusters, (ENVIRONMENT,), operations=OperationBehaviour(polls=1, seconds=operation_s)
        )
        say(
            f"upgrade of {upgrade_clusters} {ENVIRONMENT} clusters, {args.operation_minutes:g} simulated minutes each, "
            f"poll every {POLL_INTERVAL_SECONDS} s, {UPGRADE_LATENCY_MS:g} ms per request"
        )
        cap = getattr(args, "max_replay_rounds", None)
        budget = int(cap) if cap is not None else int(os.environ.get("BENCH_MAX_REPLAY_ROUNDS") or MAX_REPLAY_ROUNDS)
        rounds_per_batch = math.ceil(operation_s / POLL_INTERVAL_SECONDS) if operation_s > 0 else 1
        days = (day + timedelta(weeks=k) for k in range(1, 1000))
        runs = []
        for p in parallel:
            n = clusters_within_budget(upgrade_clusters, p, rounds_per_batch, budget)
            if n < upgrade_clusters:
                say(
                    f"  P={p}: {upgrade_clusters} clusters would take {math.ceil(upgrade_clusters / p) * rounds_per_batch} poll rounds "
                    f"of replay (budget {budget}); measuring {n} clusters instead"
                )
            r = upgrade_environment(lab, replace(up_fleet, clusters=up_fleet.clusters[:n]), p, days, operation_s, memory=memory)
            say(
                f"  P={p}: {r.status}, {r.clusters} clusters, simulated {r.simulated_s / 60:.0f} min (ideal {r.ideal_s / 60:.0f}), "
                f"{r.wall_s:.1f} s wall, {r.requests} requests, {r.puts} PUTs, {r.episodes} episodes"
            )
            runs.append(r)
        out["upgrade"] = {
            "clusters": upgrade_clusters,
            "operationMinutes": float(args.operation_minutes),
            "pollIntervalSeconds": POLL_INTERVAL_SECONDS,
            "latencyMs": UPGRADE_LATENCY_MS,
            "maxReplayRounds": budget,
            "runs": [
                {
                    **r.to_dict(),
                    "projectedFull_s": round(
                        r.simulated_s / math.ceil(r.clusters / r.parallel) * math.ceil(upgrade_clusters / r.parallel), 1
                    ),
                }
                for r in runs
            ],
        }
    return out


def render(result: dict[str, Any]) -> str:
    """The readable tables."""
    sizes = result["sizes"]
    base, ours = result["baseline"], result["ours"]

    def mib(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    def ratio(v: float | None) -> str:
        return "-" if v is None else f"{v:g}x"

    lines = [
        f"Discovery + planning of '{sizes['environment']}' ({result['plannedClusters']} clusters planned of {sizes['clusters']}; "
        f"{sizes['subscriptions']} subs x {sizes['resourceGroupsPerSubscription']} groups x {sizes['resourcesPerGroup']} resources; "
        f"{sizes['latencyMs']:g} ms/request)",
        report.table(
            [
                ("baseline (original enumeration)", str(base["requests"]), f"{base['wall_s']:.2f}", mib(base["peak_mib"])),
                ("ours (plan_lead_environment)", str(ours["requests"]), f"{ours['wall_s']:.2f}", mib(ours["peak_mib"])),
                ("baseline / ours", ratio(result["requests_ratio"]), ratio(result["wall_ratio"]), ratio(result.get("memory_ratio"))),
            ],
            ("", "ARM requests", "wall s", "peak MiB"),
        ),
        "",
        "  baseline requests: " + ", ".join(f"{k} {v}" for k, v in base["byKind"].items()),
        "  ours requests:     " + ", ".join(f"{k} {v}" for k, v in ours["byKind"].items()),
        "",
    ]
    quiet = result.get("quietFollower")
    if quiet:
        lines += [
            f"A quiet week for follower '{quiet['environment']}' (every cluster already at the validated version): "
            f"{quiet['requests']} ARM requests, {quiet['wall_s']:.2f} s ("
            + ", ".join(f"{k} {v}" for k, v in quiet["byKind"].items())
            + ")",
            "",
        ]
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
                    f"{r['projectedFull_s'] / 60:.0f} / {math.ceil(up['clusters'] / r['parallel']) * up['operationMinutes']:.0f}",
                    f"{r['wall_s']:.1f}",
                    str(r["requests"]),
                    f"{r['puts']} ({r['putsDistinct']} distinct)",
                    str(r["episodes"]),
                    mib(r["peak_mib"]),
                )
                for r in up["runs"]
            ],
            (
                "MAX_PARALLEL",
                "clusters",
                "status",
                "simulated min",
                "ideal min",
                "sim/ideal",
                f"{up['clusters']} clusters: projected / ideal min",
                "wall s",
                "ARM requests",
                "PUTs",
                "episodes",
                "peak MiB",
            ),
        )
    )
    if any(r["clusters"] < up["clusters"] for r in up["runs"]):
        lines.append(
            f"  (runs with fewer than {up['clusters']} clusters were capped at {up['maxReplayRounds']} poll rounds "
            "of durable replay; BENCH_MAX_REPLAY_ROUNDS=0 runs them in full)"
        )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Entry point of ``python -m ops bench``; exit 0 when every phase did what it should."""

    def say(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    result = run(args, say)
    ok = result["samePlan"] and all(
        r["status"] == "succeeded" and r["puts"] == r["putsDistinct"] == r["clusters"] == r["upgraded"] for r in result["upgrade"]["runs"]
    )
    if args.json:
        print(json.dumps(result))
    else:
        print()
        print(render(result))
    return 0 if ok else 1
