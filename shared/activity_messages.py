"""What crosses the durable boundary: one frozen message per activity input and output.

The orchestrator and the activities run in different processes and talk in JSON through the
durable history. Inside ``shared`` they pass these typed objects; ``to_dict``/``from_dict`` are
called only where a message crosses: in the function folders and at the orchestrator's yields.
Enumerations are ``Literal`` types and are checked when a message is read.

=========================== =============================== ==========================
activity                    input                           output
=========================== =============================== ==========================
LoadRolloutSettings         (none)                          :class:`RunConfiguration`
UpgradeLeadEnvironment      :class:`LeadPlanRequest`        ``EnvironmentPlan``
UpgradeFollowerEnvironment  :class:`FollowerPlanRequest`    ``EnvironmentPlan``
StartClusterUpgrade         :class:`StartRequest`           ``StartAnswer``
CheckUpgradeProgress        :class:`ProgressRequest`        :class:`ProgressReport`
RecordValidatedVersion      :class:`RecordRequest`          :class:`RecordedVersion`
RecordUpgradeHistory        :class:`HistoryRequest`         :class:`HistoryWritten`
NotifyRollout               :class:`NotifyRequest`          :class:`NotificationSent`
=========================== =============================== ==========================

``EnvironmentPlan`` (``shared.domain.planning``), ``StartAnswer`` and ``InFlight``
(``shared.domain.upgrade_loop``) and ``RunResult`` (``shared.domain.results``) are domain types
that cross as they are. The JSON keys are those the activities have always used, so a message
written by the previous deployment (an activity scheduled before it, a history being replayed
after it) still reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.domain import dates
from shared.domain.approvals import Decision
from shared.domain.freeze import FreezeWindow
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.results import RunResult
from shared.domain.rollout import ChosenWave, RolloutPlan
from shared.domain.upgrade_loop import HealthAnswer, InFlight, ProgressAnswer, Settling, StartAnswer

__all__ = [
    "EnvironmentPlan",
    "FollowerPlanRequest",
    "HistoryRequest",
    "HistoryWritten",
    "InFlight",
    "LeadPlanRequest",
    "NotificationSent",
    "NotifyRequest",
    "ProgressAnswer",
    "ProgressReport",
    "ProgressRequest",
    "RecordRequest",
    "RecordedVersion",
    "RunConfiguration",
    "RunResult",
    "StartAnswer",
    "StartRequest",
    "planning_request",
]


def _instant(text: str) -> datetime:
    """An orchestrator timestamp (always UTC; an offset-less one is UTC too)."""
    return dates.parse_utc_instant(text, naive_means_utc=True)


def _window(text: str) -> FreezeWindow:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD..YYYY-MM-DD``, as :class:`FreezeWindow` writes itself."""
    first, _, last = text.partition("..")
    return FreezeWindow(date.fromisoformat(first), date.fromisoformat(last or first))


# -- LoadRolloutSettings -------------------------------------------------------------------------
@dataclass(frozen=True)
class RunConfiguration:
    """The settings the orchestrator decides on, read once per run (it may not read settings
    itself: that would be I/O, and a replay could see other values than the first execution)."""

    plan: RolloutPlan
    freeze_windows: tuple[FreezeWindow, ...]
    dry_run: bool
    min_soak_hours: float
    max_parallel_upgrades: int
    poll_interval_seconds: int
    upgrade_timeout_minutes: int
    approval_environments: tuple[str, ...] = ()
    approval_timeout_hours: int = 24
    health_check: str = "arm"
    health_settle_minutes: int = 10

    def needs_approval(self, environment: str) -> bool:
        """Whether ``environment``'s run waits for a person's decision before its first PUT."""
        return environment in self.approval_environments

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan.to_dict(),
            "maxParallelUpgrades": self.max_parallel_upgrades,
            "pollIntervalSeconds": self.poll_interval_seconds,
            "upgradeTimeoutMinutes": self.upgrade_timeout_minutes,
            "minSoakHours": self.min_soak_hours,
            "freezeDates": [str(w) for w in self.freeze_windows],
            "dryRun": self.dry_run,
            "approvalEnvironments": list(self.approval_environments),
            "approvalTimeoutHours": self.approval_timeout_hours,
            "healthCheck": self.health_check,
            "healthSettleMinutes": self.health_settle_minutes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfiguration:
        """Built directly: the settings were validated when the activity read them."""
        return cls(
            plan=RolloutPlan.from_dict(data["plan"]),
            freeze_windows=tuple(_window(text) for text in data["freezeDates"]),
            dry_run=bool(data["dryRun"]),
            min_soak_hours=float(data["minSoakHours"]),
            max_parallel_upgrades=int(data["maxParallelUpgrades"]),
            poll_interval_seconds=int(data["pollIntervalSeconds"]),
            upgrade_timeout_minutes=int(data["upgradeTimeoutMinutes"]),
            # Absent in a configuration read before the gates existed: no approval, the defaults.
            approval_environments=tuple(data.get("approvalEnvironments", ())),
            approval_timeout_hours=int(data.get("approvalTimeoutHours", 24)),
            health_check=str(data.get("healthCheck", "arm")),
            health_settle_minutes=int(data.get("healthSettleMinutes", 10)),
        )


# -- UpgradeLeadEnvironment / UpgradeFollowerEnvironment -----------------------------------------
@dataclass(frozen=True)
class LeadPlanRequest:
    """Plan the lead environment as of ``clock`` (the orchestrator's time)."""

    environment: str
    clock: datetime
    instance_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "clock": self.clock.isoformat(), "instanceId": self.instance_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LeadPlanRequest:
        return cls(data["environment"], _instant(data["clock"]), data.get("instanceId"))


@dataclass(frozen=True)
class FollowerPlanRequest:
    """Plan a follower up to ``predecessor``'s validated version, once it has soaked
    ``min_soak_hours`` by ``clock``. ``predecessor_is_lead``: the original ``aksversion/1`` row
    still counts as the predecessor's record when it has none of its own."""

    environment: str
    predecessor: str
    predecessor_is_lead: bool
    min_soak_hours: float
    clock: datetime
    instance_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "predecessor": self.predecessor,
            "predecessorIsLead": self.predecessor_is_lead,
            "minSoakHours": self.min_soak_hours,
            "clock": self.clock.isoformat(),
            "instanceId": self.instance_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FollowerPlanRequest:
        return cls(
            environment=data["environment"],
            predecessor=data["predecessor"],
            predecessor_is_lead=bool(data["predecessorIsLead"]),
            min_soak_hours=float(data["minSoakHours"]),
            clock=_instant(data["clock"]),
            instance_id=data.get("instanceId"),
        )


def planning_request(
    plan: RolloutPlan, wave: ChosenWave, min_soak_hours: float, clock: datetime, instance_id: str | None = None
) -> LeadPlanRequest | FollowerPlanRequest:
    """What planning ``wave`` needs, decided once for the orchestrator and ``ops plan``: the lead
    plans on its own; a follower gets its predecessor, whether that is the lead (whose original
    ``aksversion/1`` row still counts as its record) and the soak, so that it reads none of the
    orchestrator's settings again."""
    if wave.environment is None:
        raise ValueError("no wave to plan: the run's date has none")
    if wave.role == "lead" or wave.predecessor is None:
        return LeadPlanRequest(wave.environment, clock, instance_id)
    return FollowerPlanRequest(wave.environment, wave.predecessor, wave.predecessor == plan.lead, min_soak_hours, clock, instance_id)


# -- StartClusterUpgrade -------------------------------------------------------------------------
@dataclass(frozen=True)
class StartRequest:
    """Start one planned cluster's upgrade. ``clock`` is the orchestrator's time when it asked
    (an override's "until" is judged against it); None only from an orchestration started
    before the clock was passed along."""

    cluster: ClusterPlan
    environment: str
    clock: datetime | None
    instance_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster.to_dict(),
            "instanceId": self.instance_id,
            "environment": self.environment,
            "clock": self.clock.isoformat() if self.clock is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StartRequest:
        clock = data.get("clock")
        return cls(ClusterPlan.from_dict(data["cluster"]), data["environment"], _instant(clock) if clock else None, data.get("instanceId"))


# -- CheckUpgradeProgress ------------------------------------------------------------------------
@dataclass(frozen=True)
class ProgressRequest:
    """Look once at each running upgrade."""

    clusters: tuple[InFlight, ...]
    environment: str
    instance_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"clusters": [c.to_dict() for c in self.clusters], "instanceId": self.instance_id, "environment": self.environment}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgressRequest:
        return cls(tuple(InFlight.from_dict(c) for c in data.get("clusters", [])), data["environment"], data.get("instanceId"))


@dataclass(frozen=True)
class ProgressReport:
    """Where each running upgrade stands, in the order asked."""

    clusters: tuple[ProgressAnswer, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"clusters": [c.to_dict() for c in self.clusters]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgressReport:
        return cls(tuple(ProgressAnswer.from_dict(c) for c in data["clusters"]))


# -- CheckClusterHealth --------------------------------------------------------------------------
@dataclass(frozen=True)
class HealthRequest:
    """Check each settled upgrade: the cluster's state and, with ``check_alerts``, its Sev0/Sev1
    alerts from the upgrade's start (``run_started`` when that is not known) until ``clock``, the
    orchestrator's time when it asked."""

    clusters: tuple[Settling, ...]
    environment: str
    check_alerts: bool
    run_started: datetime
    clock: datetime
    instance_id: str | None = None
    #: MIN_SOAK_HOURS: how far before the run a cluster found already at the target is checked for
    #: alerts (see ``health.window_start``).
    recheck_soak_hours: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "clusters": [c.to_dict() for c in self.clusters],
            "environment": self.environment,
            "checkAlerts": self.check_alerts,
            "runStarted": self.run_started.isoformat(),
            "clock": self.clock.isoformat(),
            "instanceId": self.instance_id,
            "recheckSoakHours": self.recheck_soak_hours,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HealthRequest:
        return cls(
            tuple(Settling.from_dict(c) for c in data.get("clusters", [])),
            data["environment"],
            bool(data["checkAlerts"]),
            _instant(data["runStarted"]),
            _instant(data["clock"]),
            data.get("instanceId"),
            float(data.get("recheckSoakHours", 0.0)),
        )


@dataclass(frozen=True)
class HealthReport:
    """The verdict on each settled upgrade, in the order asked."""

    clusters: tuple[HealthAnswer, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"clusters": [c.to_dict() for c in self.clusters]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HealthReport:
        return cls(tuple(HealthAnswer.from_dict(c) for c in data["clusters"]))


# -- RequestApproval -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ApprovalNotice:
    """Ask people for a decision: one message with the plan and where to answer."""

    plan: EnvironmentPlan
    date: str
    instance_id: str
    timeout_hours: int

    def to_dict(self) -> dict[str, Any]:
        return {"plan": self.plan.to_dict(), "date": self.date, "instanceId": self.instance_id, "timeoutHours": self.timeout_hours}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApprovalNotice:
        return cls(EnvironmentPlan.from_dict(data["plan"]), data["date"], data["instanceId"], int(data["timeoutHours"]))


# -- RecordValidatedVersion ----------------------------------------------------------------------
@dataclass(frozen=True)
class RecordRequest:
    """Record ``version`` as the environment's validated version, run by ``clusters``."""

    environment: str
    version: str
    clusters: tuple[str, ...]
    instance_id: str | None
    validated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "version": self.version,
            "clusters": list(self.clusters),
            "instanceId": self.instance_id,
            "validatedAt": self.validated_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordRequest:
        return cls(
            data["environment"], data["version"], tuple(data.get("clusters", [])), data.get("instanceId"), _instant(data["validatedAt"])
        )


@dataclass(frozen=True)
class RecordedVersion:
    """What the version store now holds (a re-run that keeps the version keeps its validatedAt)."""

    environment: str
    version: str
    validated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "version": self.version, "validatedAt": self.validated_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordedVersion:
        return cls(data["environment"], data["version"], _instant(data["validatedAt"]))


# -- RecordUpgradeHistory ------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryRequest:
    """Audit one run: a row per cluster of ``result``, under the run's id."""

    result: RunResult
    run_id: str | None
    started_at: datetime
    finished_at: datetime
    #: The approval gate's decision, when the environment waited for one (who decided is kept).
    approval: Decision | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.result.to_dict(),
            "runId": self.run_id,
            "startedAt": self.started_at.isoformat(),
            "finishedAt": self.finished_at.isoformat(),
            "approval": self.approval.to_dict() if self.approval is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryRequest:
        approval = data.get("approval")
        return cls(
            RunResult.from_dict(data),
            data.get("runId"),
            _instant(data["startedAt"]),
            _instant(data["finishedAt"]),
            Decision(approval["decision"], approval["by"], approval.get("comment", "")) if approval else None,
        )


@dataclass(frozen=True)
class HistoryWritten:
    """Rows written; ``error`` names what went wrong when none could be (history never fails a run)."""

    written: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"written": self.written} if self.error is None else {"written": self.written, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryWritten:
        return cls(int(data["written"]), data.get("error"))


# -- NotifyRollout -------------------------------------------------------------------------------
@dataclass(frozen=True)
class NotifyRequest:
    """Announce a run's result. ``result`` is None when the payload was not a readable result: a
    notification never fails a run, so it is still sent (as an unreadable result), not refused."""

    result: RunResult | None
    #: What the payload was, when it could not be read (a type name, never its content).
    unreadable: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.result.to_dict() if self.result is not None else {}

    @classmethod
    def from_dict(cls, data: Any) -> NotifyRequest:
        try:
            return cls(RunResult.from_dict(data))
        except (KeyError, TypeError, ValueError, AttributeError):
            return cls(None, type(data).__name__)


@dataclass(frozen=True)
class NotificationSent:
    sent: bool

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NotificationSent:
        return cls(bool(data["sent"]))
