"""The work behind each activity function. Inputs and outputs are plain JSON (dicts), so what
crosses the durable boundary stays visible; every side effect of a run happens here.

Error policy: ARM's permanent answers are returned as data (they fail one cluster, not the run);
transient ones either come back as data the orchestrator backs off on (starting an upgrade) or
are raised so ``call_activity_with_retry`` tries again (reads, records).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from shared import logs, messages, runtime
from shared.domain import clusters as clusters_mod
from shared.domain import dates, gates, planning, versions
from shared.domain import upgrades as upgrades_mod
from shared.domain.clusters import AvailableVersion, ClusterSnapshot, selected_for
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.records import AuditEntry, ValidatedRecord
from shared.errors import (
    ArmPermanentError,
    ArmTransientError,
    ConcurrentChangeError,
    PermanentError,
    StoreError,
    TransientError,
    VersionTableMissingError,
)

T = TypeVar("T")
R = TypeVar("R")
_IO_THREADS = 16
#: GET-decide-PUT rounds when the cluster keeps changing under us (HTTP 412) before giving up.
MAX_PRECONDITION_ATTEMPTS = 3


def _parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """ARM reads are independent per subscription/cluster: do them concurrently, keep the order."""
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(_IO_THREADS, len(items))) as pool:
        return list(pool.map(fn, items))


def _parse_time(text: str) -> datetime:
    """An orchestrator timestamp (always UTC; an offset-less one is UTC too)."""
    return dates.parse_utc_instant(text, naive_means_utc=True)


# -- settings ------------------------------------------------------------------------------------
def load_rollout_settings(_: Any = None) -> dict[str, Any]:
    return runtime.services().settings.rollout_view()


# -- planning ------------------------------------------------------------------------------------
def _discover(environment: str) -> list[ClusterSnapshot]:
    svc = runtime.services()
    selector = svc.settings.cluster_selector
    subscriptions = [
        s
        for s in svc.arm.list_subscriptions(svc.settings.subscription_ids)
        if clusters_mod.subscription_may_hold(s.display_name, environment, selector)
    ]
    per_subscription = _parallel(svc.arm.list_clusters, subscriptions)
    found = [c for group in per_subscription for c in group]
    return [c for c in found if selected_for(c, environment, selector)]


def _plan_clusters(environment: str, *, role: str, ceiling: versions.KubernetesVersion | None, clock: datetime) -> tuple[ClusterPlan, ...]:
    """Discover, read what the decisions need (in parallel), and let the domain plan each cluster."""
    svc = runtime.services()
    selection = _selection(environment)
    policy = svc.settings.target_policy
    selected = _discover(environment)
    region_versions = _region_versions(selected) if role == "lead" else {}

    def plan_one(cluster: ClusterSnapshot) -> ClusterPlan:
        try:
            needs_profile = planning.reads_upgrade_profile(cluster, selection=selection, now=clock, role=role, ceiling=ceiling)
            available = svc.arm.upgrade_options(cluster.id) if needs_profile else []
            return planning.plan_cluster(
                cluster,
                available,
                selection=selection,
                now=clock,
                role=role,
                policy=policy,
                ceiling=ceiling,
                region_versions=region_versions.get(cluster.location.lower(), ()) if role == "lead" else None,
            )
        except ArmPermanentError as exc:
            return planning.failed(cluster, f"{exc.code}: {exc.arm_message}")
        except ValueError as exc:
            return planning.failed(cluster, f"PlanningError: {exc}")

    return planning.sorted_plans(_parallel(plan_one, selected))


def _selection(environment: str) -> clusters_mod.Selection:
    settings = runtime.services().settings
    return clusters_mod.Selection(environment, settings.cluster_selector, settings.opt_out_tag)


def _region_versions(found: list[ClusterSnapshot]) -> dict[str, tuple[AvailableVersion, ...]]:
    """The region's version list, read once per location of the run (not per cluster).

    The lead needs it for every cluster: it says which versions are previews (a cluster running
    one is never recorded) and where the stable policy's newest GA minor is.
    """
    arm = runtime.services().arm
    by_location: dict[str, str] = {}
    for cluster in found:
        by_location.setdefault(cluster.location.lower(), cluster.subscription_id)
    locations = sorted(by_location)

    def read(location: str) -> tuple[AvailableVersion, ...]:
        return tuple(arm.region_versions(by_location[location], location))

    return dict(zip(locations, _parallel(read, locations), strict=True))


def plan_lead_environment(payload: dict[str, Any]) -> dict[str, Any]:
    """Discover the lead's clusters and pick each one's newest allowed GA version."""
    environment = payload["environment"]
    try:
        clusters = _plan_clusters(environment, role="lead", ceiling=None, clock=_parse_time(payload["clock"]))
    except ArmPermanentError as exc:
        return EnvironmentPlan(environment, "lead", "failed", f"discovery failed: {exc.code}: {exc.arm_message}").to_dict()
    plan = EnvironmentPlan(environment, "lead", "ready", None, planning.lead_target_version(clusters), clusters)
    _log_plan(plan, payload.get("instanceId"))
    return plan.to_dict()


def _predecessor_record(predecessor: str, lead: bool) -> ValidatedRecord | None:
    store = runtime.services().versions
    record = store.read_validated(predecessor)
    if record is None and lead:
        record = store.read_legacy()
    return record


def plan_follower_environment(payload: dict[str, Any]) -> dict[str, Any]:
    """Gate on the predecessor's record (present, readable, soaked), then plan up to its version."""
    environment, predecessor = payload["environment"], payload["predecessor"]
    clock = _parse_time(payload["clock"])
    svc = runtime.services()
    lead = predecessor == svc.settings.rollout_plan.lead
    try:
        record = _predecessor_record(predecessor, lead)
    except VersionTableMissingError as exc:
        reason = f"no validated version recorded for {predecessor}: {exc}; nothing to follow"
        return EnvironmentPlan(environment, "follower", "skipped", reason).to_dict()
    except StoreError as exc:
        reason = f"version store: {exc}; no upgrades"
        logs.event(logging.ERROR, "cannot read predecessor record", environment=environment, error=reason)
        return EnvironmentPlan(environment, "follower", "failed", reason).to_dict()
    if record is None:
        where = f"validated/{predecessor}" + (" (nor the legacy aksversion/1 row)" if lead else "")
        reason = f"no validated version recorded for {predecessor} ({where} in table {svc.settings.version_table}); nothing to follow"
        return EnvironmentPlan(environment, "follower", "skipped", reason).to_dict()
    try:
        ceiling = versions.parse(record.version)
    except ValueError:
        reason = f"version store: {predecessor}'s recorded version {record.version!r} is not a Kubernetes version; no upgrades"
        return EnvironmentPlan(environment, "follower", "failed", reason).to_dict()
    waiting = gates.soak_problem(record, clock, float(payload.get("minSoakHours", svc.settings.min_soak_hours)))
    if waiting:
        return EnvironmentPlan(environment, "follower", "skipped", waiting, str(ceiling)).to_dict()
    try:
        clusters = _plan_clusters(environment, role="follower", ceiling=ceiling, clock=clock)
    except ArmPermanentError as exc:
        return EnvironmentPlan(
            environment, "follower", "failed", f"discovery failed: {exc.code}: {exc.arm_message}", str(ceiling)
        ).to_dict()
    plan = EnvironmentPlan(environment, "follower", "ready", None, str(ceiling), clusters)
    _log_plan(plan, payload.get("instanceId"))
    return plan.to_dict()


def _log_plan(plan: EnvironmentPlan, instance_id: str | None) -> None:
    for c in plan.clusters:
        logs.event(
            logging.INFO,
            "planned",
            environment=plan.environment,
            cluster_id=c.id,
            instance_id=instance_id,
            action=c.action,
            from_version=c.from_version,
            to_version=c.to_version,
            reason=c.reason,
        )


# -- upgrades ------------------------------------------------------------------------------------
def start_cluster_upgrade(payload: dict[str, Any]) -> dict[str, Any]:
    """GET, decide again, PUT under If-Match (a 412 means: GET and decide again, a bounded number of times).

    Returns {"id", "state": upgrading|already-current|skipped|failed|retry, "operationUrl",
    "reason", "retryAfter"}. ``skipped`` means the fresh GET showed a cluster that is no longer
    eligible (or no longer as planned): it is left alone and neither fails nor blocks the run.
    """
    plan = ClusterPlan.from_dict(payload["cluster"])
    target = plan.to_version or ""
    environment = payload["environment"]
    # The orchestrator's clock when it asked (an override "until" is judged against it); an
    # orchestration started before the clock was passed along falls back to this worker's clock.
    now = _parse_time(payload["clock"]) if payload.get("clock") else datetime.now(UTC)
    arm = runtime.services().arm
    selection = _selection(environment)
    log = functools.partial(logs.event, cluster_id=plan.id, environment=environment, instance_id=payload.get("instanceId"))

    def answer(state: str, reason: str | None = None, operation_url: str | None = None, retry_after: float | None = None) -> dict[str, Any]:
        return {"id": plan.id, "state": state, "operationUrl": operation_url, "reason": reason, "retryAfter": retry_after}

    try:
        for _attempt in range(MAX_PRECONDITION_ATTEMPTS):
            fresh = arm.get_for_update(plan.id, plan.subscription_name)
            decision = upgrades_mod.decide_start(fresh.snapshot, target=target, selection=selection, now=now)
            if decision.kind == "resume":
                log(logging.INFO, "upgrade already running; monitoring it")
                return answer("upgrading", decision.reason)
            if decision.kind == "already-current":
                return answer("already-current")
            if decision.kind in ("skipped", "failed"):
                log(logging.WARNING, "left alone at the moment of the PUT", reason=decision.reason)
                return answer(decision.kind, decision.reason)
            try:
                operation_url = arm.put_upgrade(fresh, target, decision.pools)
            except ConcurrentChangeError:
                log(logging.WARNING, "cluster changed between GET and PUT (412); deciding again")
                continue
            log(logging.INFO, "upgrade started", from_version=plan.from_version, to_version=target, pools=",".join(decision.pools))
            return answer("upgrading", operation_url=operation_url)
        return answer(
            "failed",
            f"ConcurrentChange: the cluster's ETag changed on {MAX_PRECONDITION_ATTEMPTS} attempts (HTTP 412); not overwritten",
        )
    except ArmTransientError as exc:
        log(logging.WARNING, "transient ARM error starting upgrade", error=str(exc))
        return answer("retry", f"{exc.code}: {exc.arm_message}", retry_after=exc.retry_after_s)
    except PermanentError as exc:
        code = getattr(exc, "code", type(exc).__name__)
        message = getattr(exc, "arm_message", str(exc))
        log(logging.ERROR, "upgrade refused", error=f"{code}: {message}")
        return answer("failed", f"{code}: {message}")


def check_upgrade_progress(payload: dict[str, Any]) -> dict[str, Any]:
    """One look at each in-flight upgrade: its operation URL when known, else the cluster itself."""
    arm = runtime.services().arm
    instance_id = payload.get("instanceId")
    environment = payload.get("environment")

    def check(item: dict[str, Any]) -> dict[str, Any]:
        log = functools.partial(logs.event, cluster_id=item["id"], environment=environment, instance_id=instance_id)
        try:
            if item.get("operationUrl"):
                op = arm.operation_status(item["id"], item["operationUrl"])
                progress = upgrades_mod.progress_from_operation(op.status, op.code, op.message)
            else:
                progress = upgrades_mod.progress_from_cluster(arm.get_cluster(item["id"]), item["to"])
        except TransientError as exc:
            log(logging.WARNING, "transient error checking upgrade", error=str(exc))
            return {"id": item["id"], "state": "inProgress", "reason": str(exc)}
        except PermanentError as exc:
            return {"id": item["id"], "state": "failed", "reason": str(exc)}
        if progress.state != "inProgress":
            log(logging.INFO if progress.state == "succeeded" else logging.ERROR, f"upgrade {progress.state}", reason=progress.reason)
        return {"id": item["id"], "state": progress.state, "reason": progress.reason}

    return {"clusters": _parallel(check, payload.get("clusters", []))}


# -- records -------------------------------------------------------------------------------------
def record_validated_version(payload: dict[str, Any]) -> dict[str, Any]:
    """Write validated/<environment>; a re-run that keeps the version keeps the old validatedAt."""
    store = runtime.services().versions
    environment, version = payload["environment"], payload["version"]
    validated_at = _parse_time(payload["validatedAt"])
    try:
        existing = store.read_validated(environment)
    except StoreError:  # a missing table or an unreadable old record: replaced by a good one
        existing = None  # unreadable old record: replaced by a good one
    if existing is not None and existing.version == version:
        validated_at = existing.validated_at
    record = ValidatedRecord(environment, version, validated_at, payload.get("instanceId"), tuple(payload.get("clusters", [])))
    store.write_validated(record)
    logs.event(logging.INFO, "validated version recorded", environment=environment, instance_id=record.instance_id, version=version)
    return {"environment": environment, "version": version, "validatedAt": validated_at.isoformat()}


def record_upgrade_history(payload: dict[str, Any]) -> dict[str, Any]:
    """Audit rows, one per cluster attempt, added to what earlier runs wrote (the run id is in the
    row key, so a retried or replayed call of this run rewrites its own rows and duplicates
    nothing); history is for people, so a failure here is only logged."""
    entries = [
        AuditEntry(
            instance_id=payload["instanceId"],
            environment=payload["environment"],
            cluster_id=c["id"],
            from_version=c.get("from"),
            to_version=c.get("to"),
            result=c["result"],
            reason=c.get("reason"),
            started_at=_parse_time(payload["startedAt"]),
            finished_at=_parse_time(payload["finishedAt"]),
            run_id=payload.get("runId"),
        )
        for c in payload.get("clusters", [])
    ]
    try:
        runtime.services().history.record(entries)
    except Exception as exc:  # noqa: BLE001 - audit history must never fail a rollout
        logs.event(
            logging.ERROR,
            "could not write upgrade history",
            environment=payload["environment"],
            instance_id=payload["instanceId"],
            error=logs.redact(str(exc))[:300],
        )
        return {"written": 0, "error": type(exc).__name__}
    return {"written": len(entries)}


def notify_rollout(payload: dict[str, Any]) -> dict[str, Any]:
    """One Slack message per run; never raises (a Slack outage must not fail a rollout)."""
    try:
        text, blocks = messages.render(payload)
        sent = runtime.services().notifier.send(text, blocks)
    except Exception as exc:  # noqa: BLE001
        instance_id = payload.get("instanceId") if isinstance(payload, dict) else None
        logs.event(logging.ERROR, "notification failed", instance_id=instance_id, error=type(exc).__name__)
        sent = False
    return {"sent": sent}
