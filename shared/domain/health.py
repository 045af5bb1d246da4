"""The health gate: a successful upgrade operation is not yet a healthy cluster.

After a cluster's operation ends Succeeded and HEALTH_SETTLE_MINUTES have passed, a fresh GET
must show provisioningState Succeeded, powerState Running, and the control plane and every node
pool on the target (an operation can end Succeeded while a pool stays behind, e.g. after a drain
timeout). With HEALTH_CHECK=arm+alerts, no Sev0/Sev1 Azure Monitor alert may have fired on the
cluster since its upgrade started. A cluster that fails is ``failed`` with a reason starting
``HealthCheck:``, so nothing is recorded for its environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.clusters import ClusterSnapshot

PREFIX = "HealthCheck: "
#: Severities that block promotion: critical and error.
BLOCKING_SEVERITIES = ("sev0", "sev1")


@dataclass(frozen=True)
class FiredAlert:
    """An Azure Monitor alert on a cluster, as far as the gate cares."""

    name: str
    severity: str
    fired_at: datetime
    target_resource: str


def cluster_problem(cluster: ClusterSnapshot, target: str) -> str | None:
    """What is wrong with the cluster after its upgrade, or None when it looks healthy."""
    if cluster.provisioning_state.lower() != "succeeded":
        return f"{PREFIX}provisioningState is {cluster.provisioning_state or 'unknown'} after the upgrade, not Succeeded"
    if cluster.power_state.lower() != "running":
        return f"{PREFIX}powerState is {cluster.power_state or 'not reported'} after the upgrade, not Running"
    if cluster.control_plane_version != target:
        return f"{PREFIX}the control plane runs {cluster.control_plane_version}, not the target {target}"
    behind = [p for p in cluster.node_pools if p.current_version != target]
    if behind:
        pools = ", ".join(f"{p.name} runs {p.current_version}" for p in behind)
        return f"{PREFIX}node pool {pools}, not the target {target} (the operation ended Succeeded all the same)"
    return None


#: How much later than the orchestrator's clock the health activity may run and still count
#: alerts up to its own time (queueing, retries); beyond it the clocks belong to different worlds
#: (a simulated run) and the orchestrator's clock is used.
WINDOW_TOLERANCE = timedelta(hours=1)


def window_end(orchestrator_clock: datetime, worker_clock: datetime) -> datetime:
    """Where the alert window ends: the worker's time when it is shortly after the orchestrator's
    (alerts that fired while the check queued count too), else the orchestrator's."""
    if orchestrator_clock <= worker_clock <= orchestrator_clock + WINDOW_TOLERANCE:
        return worker_clock
    return orchestrator_clock


def alert_problem(alerts: Sequence[FiredAlert], cluster_id: str, since: datetime) -> str | None:
    """A Sev0/Sev1 alert on the cluster (or anything under it) that fired at or after ``since``."""
    own = cluster_id.lower()
    blocking = sorted(
        (
            a
            for a in alerts
            if a.severity.lower() in BLOCKING_SEVERITIES
            and a.fired_at >= since
            and (a.target_resource.lower() == own or a.target_resource.lower().startswith(own + "/"))
        ),
        key=lambda a: (a.fired_at, a.name),
    )
    if not blocking:
        return None
    first = blocking[0]
    more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
    return f"{PREFIX}{first.severity} alert {first.name!r} fired at {first.fired_at.isoformat()}, after the upgrade started{more}"


def window_start(upgrade_started: datetime | None, not_ours: str | None, result: str, run_started: datetime, soak: timedelta) -> datetime:
    """Where the alert window begins for one settled cluster (``not_ours``: why this run sent no
    PUT for it, None when it did or when it was planned already at the target).

    - This run's own upgrade: when its PUT went out.
    - Someone else's upgrade this run joined, or a cluster that reached the target between planning
      and its start: the run's start, the earliest moment this run can vouch for.
    - A cluster planned already at a target not yet recorded: nothing in this run says when it got
      there, and a previous run may have upgraded it and failed its check on an alert. Its window
      opens ``soak`` (MIN_SOAK_HOURS) before the run started: the version must have run that long
      without a Sev0/Sev1 alert, so a re-run or the next scheduled run cannot promote, minutes
      after the alert, what the earlier check refused.
    """
    if not_ours is None and upgrade_started is not None:
        return upgrade_started
    if not_ours is None and result == "already-current":
        return run_started - soak
    return run_started


#: How far back the Alerts Management list is asked to reach. It takes a custom time range within
#: 30 days counted back from the query; the window ends at the orchestrator's clock when the
#: activity ran more than an hour after it (``window_end``), so a day is kept for a check that
#: runs late. One later than that is refused (400) and fails the cluster: closed, never open.
ALERT_LIST_SPAN = timedelta(days=29)


def listable(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The alert window as the list can be asked for: starting no earlier than ``ALERT_LIST_SPAN``
    before its end (a longer one is refused with 400, which would fail a healthy cluster), and not
    ending before it starts."""
    until = max(until, since)
    return max(since, until - ALERT_LIST_SPAN), until
