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
from shared.adapters import arm as arm_mod
from shared.domain import clusters as clusters_mod
from shared.domain import gates, planning, versions
from shared.domain import upgrades as upgrades_mod
from shared.domain.clusters import AvailableVersion, ClusterSnapshot, selected_for
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.records import AuditEntry, ValidatedRecord
from shared.errors import (
    ArmPermanentError,
    ArmTransientError,
    PermanentError,
    StoreError,
    TransientError,
    VersionTableMissingError,
)

T = TypeVar("T")
R = TypeVar("R")
_IO_THREADS = 16


def _parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """ARM reads are independent per subscription/cluster: do them concurrently, keep the order."""
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(_IO_THREADS, len(items))) as pool:
        return list(pool.map(fn, items))


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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


def _plan_clusters(environment: str, *, role: str, ceiling: versions.KubernetesVersion | None) -> tuple[ClusterPlan, ...]:
    svc = runtime.services()
    selected = _discover(environment)
    region_cache: dict[tuple[str, str], list[AvailableVersion]] = {}

    def region_versions(cluster: ClusterSnapshot) -> list[AvailableVersion]:
        if role != "lead" or svc.settings.target_policy != "stable":
            return []
        key = (cluster.subscription_id, cluster.location.lower())
        if key not in region_cache:
            region_cache[key] = svc.arm.region_versions(cluster.subscription_id, cluster.location)
        return region_cache[key]

    def upgrade_options(cluster: ClusterSnapshot) -> list[AvailableVersion]:
        if not planning.needs_upgrade_profile(cluster, role=role, ceiling=ceiling):
            return []
        return svc.arm.upgrade_options(cluster.id)

    def plan_one(cluster: ClusterSnapshot) -> ClusterPlan:
        why_not = planning.classify(cluster, svc.settings.opt_out_tag)
        try:
            if why_not:
                busy = cluster.provisioning_state.lower() in planning.IN_FLIGHT_STATES
                if not busy or clusters_mod.opted_out(cluster, svc.settings.opt_out_tag):
                    return planning.skipped(cluster, why_not)
                resumed = planning.resumable(
                    cluster,
                    upgrade_options(cluster),
                    role=role,
                    policy=svc.settings.target_policy,
                    ceiling=ceiling,
                    region_versions=region_versions(cluster),
                )
                return resumed or planning.skipped(cluster, why_not)
            available = upgrade_options(cluster)
            return planning.decide_cluster(
                cluster,
                available,
                role=role,
                policy=svc.settings.target_policy,
                ceiling=ceiling,
                region_versions=region_versions(cluster),
            )
        except ArmPermanentError as exc:
            return planning.failed(cluster, f"{exc.code}: {exc.arm_message}")
        except ValueError as exc:
            return planning.failed(cluster, f"PlanningError: {exc}")

    return planning.sorted_plans(_parallel(plan_one, selected))


def plan_lead_environment(payload: dict[str, Any]) -> dict[str, Any]:
    """Discover the lead's clusters and pick each one's newest allowed GA version."""
    environment = payload["environment"]
    try:
        clusters = _plan_clusters(environment, role="lead", ceiling=None)
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
        clusters = _plan_clusters(environment, role="follower", ceiling=ceiling)
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
    """GET, re-decide, PUT under If-Match (a 412 means: GET and decide again, a bounded number of times).

    Returns {"id", "state": upgrading|already-current|failed|retry, "operationUrl", "reason", "retryAfter"}.
    """
    plan = ClusterPlan.from_dict(payload["cluster"])
    target = plan.to_version or ""
    arm = runtime.services().arm
    log = functools.partial(logs.event, cluster_id=plan.id, environment=payload.get("environment"), instance_id=payload.get("instanceId"))

    def answer(state: str, reason: str | None = None, operation_url: str | None = None, retry_after: float | None = None) -> dict[str, Any]:
        return {"id": plan.id, "state": state, "operationUrl": operation_url, "reason": reason, "retryAfter": retry_after}

    def decide(state: arm_mod.ClusterState) -> upgrades_mod.StartDecision:
        return upgrades_mod.decide_start(
            provisioning_state=state.provisioning_state,
            power_state=state.power_state,
            current_version=state.current_version,
            requested_version=state.requested_version,
            target=target,
        )

    def veto(state: arm_mod.ClusterState) -> str | None:
        kind = decide(state).kind
        return None if kind == "put" else kind

    try:
        for _attempt in range(3):
            try:
                state, operation_url = arm.put_upgrade(plan.id, target, veto)
            except arm_mod.PreconditionFailedError:
                log(logging.WARNING, "cluster changed between GET and PUT (412); deciding again")
                continue
            decision = decide(state)
            if decision.kind == "put":
                log(logging.INFO, "upgrade started", from_version=plan.from_version, to_version=target)
                return answer("upgrading", operation_url=operation_url)
            if decision.kind == "resume":
                log(logging.INFO, "upgrade already running; monitoring it")
                return answer("upgrading", decision.reason)
            if decision.kind == "already-current":
                return answer("already-current")
            return answer("failed", decision.reason)
        return answer("failed", "ConcurrentChange: the cluster's ETag changed on 3 attempts (HTTP 412); not overwritten")
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
                state = arm.get_state(item["id"])
                progress = upgrades_mod.progress_from_cluster(state.provisioning_state, state.current_version, item["to"])
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
