"""Upgrade activities: start one cluster's upgrade under If-Match, and look at the running ones
(``StartClusterUpgrade``, ``CheckUpgradeProgress``)."""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime, timedelta

from shared import logs, runtime
from shared.activities.common import cluster_selection, parallel
from shared.activity_messages import HealthReport, HealthRequest, ProgressReport, ProgressRequest, StartRequest
from shared.domain import health as health_mod
from shared.domain import upgrades as upgrades_mod
from shared.domain.upgrade_loop import HealthAnswer, InFlight, ProgressAnswer, Settling, StartAnswer, StartState
from shared.errors import ArmPermanentError, ArmTransientError, ConcurrentChangeError, PermanentError, TransientError

#: GET-decide-PUT rounds when the cluster keeps changing under us (HTTP 412) before giving up.
MAX_PRECONDITION_ATTEMPTS = 3


def start_cluster_upgrade(request: StartRequest) -> StartAnswer:
    """GET, decide again, PUT under If-Match (a 412 means: GET and decide again, a bounded number of times).

    ``skipped`` means the fresh GET showed a cluster that is no longer eligible (or no longer as
    planned): it is left alone and neither fails nor blocks the run.
    """
    plan = request.cluster
    target = plan.to_version or ""
    environment = request.environment
    # The orchestrator's clock when it asked (an override "until" is judged against it); an
    # orchestration started before the clock was passed along falls back to this worker's clock.
    now = request.clock or datetime.now(UTC)
    arm = runtime.services().arm
    selection = cluster_selection(environment)
    log = functools.partial(logs.event, cluster_id=plan.id, environment=environment, instance_id=request.instance_id)

    def answer(
        state: StartState, reason: str | None = None, operation_url: str | None = None, retry_after: float | None = None
    ) -> StartAnswer:
        return StartAnswer(plan.id, state, reason, operation_url, retry_after)

    try:
        subscription_name = plan.subscription_name
        if not subscription_name and selection.selector == "subscription-name":
            # A plan carried over from before the name was part of it: ask ARM, never guess "".
            subscription_name = next((s.display_name for s in arm.list_subscriptions((plan.subscription_id,))), "")
        for _attempt in range(MAX_PRECONDITION_ATTEMPTS):
            try:
                fresh = arm.get_for_update(plan.id, subscription_name)
            except ArmPermanentError as exc:
                if exc.status != 404:
                    raise
                decision = upgrades_mod.decide_vanished(exc.code, exc.arm_message)
                log(logging.WARNING, "left alone at the moment of the PUT", reason=decision.reason)
                return answer("skipped", decision.reason)
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


def check_upgrade_progress(request: ProgressRequest) -> ProgressReport:
    """One look at each in-flight upgrade: its operation URL when known, else the cluster itself."""
    arm = runtime.services().arm

    def check(running: InFlight) -> ProgressAnswer:
        log = functools.partial(logs.event, cluster_id=running.id, environment=request.environment, instance_id=request.instance_id)
        try:
            if running.operation_url:
                op = arm.operation_status(running.id, running.operation_url)
                progress = upgrades_mod.progress_from_operation(op.status, op.code, op.message)
            else:
                progress = upgrades_mod.progress_from_cluster(arm.get_cluster(running.id), running.to_version)
        except TransientError as exc:
            log(logging.WARNING, "transient error checking upgrade", error=str(exc))
            return ProgressAnswer(running.id, "inProgress", str(exc))
        except PermanentError as exc:
            return ProgressAnswer(running.id, "failed", str(exc))
        if progress.state != "inProgress":
            log(logging.INFO if progress.state == "succeeded" else logging.ERROR, f"upgrade {progress.state}", reason=progress.reason)
        return ProgressAnswer(running.id, progress.state, progress.reason)

    return ProgressReport(tuple(parallel(check, request.clusters)))


def check_cluster_health(request: HealthRequest) -> HealthReport:
    """The health gate for each settled upgrade: a fresh GET (and, with ``check_alerts``, the
    cluster's alerts since its upgrade started). A transient error leaves the verdict ``unknown``
    (checked again next round); ARM's permanent answers fail the check with its code."""
    arm = runtime.services().arm

    def check(settled: Settling) -> HealthAnswer:
        log = functools.partial(logs.event, cluster_id=settled.id, environment=request.environment, instance_id=request.instance_id)
        try:
            problem = health_mod.cluster_problem(arm.get_cluster(settled.id), settled.to_version)
            if problem is None and request.check_alerts:
                opens = health_mod.window_start(
                    settled.started_at, settled.reason, settled.result, request.run_started, timedelta(hours=request.recheck_soak_hours)
                )
                since, until = health_mod.listable(opens, health_mod.window_end(request.clock, datetime.now(UTC)))
                alerts = arm.fired_alerts(settled.id, since, until)
                problem = health_mod.alert_problem(alerts, settled.id, since)
        except TransientError as exc:
            log(logging.WARNING, "transient error checking health; checking again", error=str(exc))
            return HealthAnswer(settled.id, "unknown", str(exc))
        except PermanentError as exc:
            code = getattr(exc, "code", type(exc).__name__)
            message = getattr(exc, "arm_message", str(exc))
            return HealthAnswer(settled.id, "unhealthy", f"{health_mod.PREFIX}{code}: {message}")
        if problem is not None:
            log(logging.ERROR, "health check failed", reason=problem)
            return HealthAnswer(settled.id, "unhealthy", problem)
        log(logging.INFO, "health check passed")
        return HealthAnswer(settled.id, "healthy")

    return HealthReport(tuple(parallel(check, request.clusters)))
