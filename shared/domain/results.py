"""The run's result (the JSON ``ops run --json`` prints and the orchestrator returns, described in
docs/architecture.md, "The run result") and the record decision.

Kept pure so that the orchestrator, the CLI and the tests all derive status, reasons and the
version to record the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from shared.domain import versions
from shared.domain.literals import one_of
from shared.domain.planning import ClusterPlan, EnvironmentPlan
from shared.domain.rollout import RunRole

#: How one cluster ended a run ("planned" in a dry run).
Result = Literal["upgraded", "already-current", "skipped", "failed", "planned"]
RESULTS: tuple[Result, ...] = get_args(Result)
#: How a run ended.
Status = Literal["succeeded", "failed", "skipped", "nothing-to-do", "planned", "stopped"]
STATUSES: tuple[Status, ...] = get_args(Status)


@dataclass(frozen=True)
class ClusterOutcome:
    """How one cluster ended this run."""

    id: str
    from_version: str | None
    to_version: str | None
    result: Result
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "from": self.from_version, "to": self.to_version, "result": self.result, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterOutcome:
        return cls(data["id"], data.get("from"), data.get("to"), one_of(data["result"], Result, "result"), data.get("reason"))


@dataclass(frozen=True)
class RunResult:
    """What ``ops run --json`` prints and the orchestrator returns."""

    instance_id: str
    date: str
    environment: str | None
    role: RunRole
    status: Status
    reason: str | None = None
    target_version: str | None = None
    recorded_version: str | None = None
    clusters: tuple[ClusterOutcome, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "instanceId": self.instance_id,
            "date": self.date,
            "environment": self.environment,
            "role": self.role,
            "status": self.status,
            "reason": self.reason,
            "targetVersion": self.target_version,
            "recordedVersion": self.recorded_version,
            "clusters": [c.to_dict() for c in self.clusters],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(
            instance_id=data["instanceId"],
            date=data["date"],
            environment=data.get("environment"),
            role=one_of(data["role"], RunRole, "role"),
            status=one_of(data["status"], Status, "status"),
            reason=data.get("reason"),
            target_version=data.get("targetVersion"),
            recorded_version=data.get("recordedVersion"),
            clusters=tuple(ClusterOutcome.from_dict(c) for c in data.get("clusters", [])),
        )


def outcome_from_plan(plan: ClusterPlan, *, dry_run: bool = False) -> ClusterOutcome:
    """The outcome of a cluster that needs no upgrade activity (or would need one, in a dry run)."""
    if plan.action == "upgrade":
        return ClusterOutcome(plan.id, plan.from_version, plan.to_version, "planned" if dry_run else "upgraded", plan.notes)
    return ClusterOutcome(plan.id, plan.from_version, plan.to_version, plan.action, plan.reason or plan.notes)


@dataclass(frozen=True)
class RecordDecision:
    version: str
    clusters: tuple[str, ...]


def record_decision(plan: EnvironmentPlan, outcomes: Sequence[ClusterOutcome], target_version: str | None) -> RecordDecision | None:
    """What to record after a run, or None: nothing is recorded when any upgrade failed.

    version = the highest version an eligible cluster now runs, never above ``target_version``;
    clusters = the eligible clusters that run exactly that version. A cluster that was planned
    for an upgrade but skipped at the moment of its PUT (opted out, re-tagged, stopped since
    planning) is no longer eligible and does not count.
    """
    if any(o.result == "failed" for o in outcomes) or target_version is None:
        return None
    planned = {p.id: p for p in plan.clusters}
    running: dict[str, versions.KubernetesVersion] = {}
    for outcome in outcomes:
        cluster = planned.get(outcome.id)
        if cluster is None or not cluster.eligible:
            continue
        if outcome.result in ("upgraded", "already-current"):
            now = outcome.to_version
        elif outcome.result == "skipped" and cluster.action == "skipped":  # eligible, left alone when planned
            now = outcome.from_version
        else:
            now = None
        if now and versions.is_version(now):
            running[outcome.id] = versions.parse(now)
    ceiling = versions.parse(target_version)
    allowed = [v for v in running.values() if v <= ceiling]
    top = versions.newest(allowed)
    if top is None:
        return None
    return RecordDecision(str(top), tuple(sorted(cid for cid, v in running.items() if v == top)))


def held_back(outcome: ClusterOutcome, why: str) -> ClusterOutcome:
    """A cluster the run would have upgraded but did not (no approval, stopped): skipped with
    ``why`` and no target; every other outcome stays as it was."""
    if outcome.result not in ("upgraded", "planned"):
        return outcome
    return ClusterOutcome(outcome.id, outcome.from_version, None, "skipped", why)


def overall_status(outcomes: Sequence[ClusterOutcome], *, dry_run: bool, stopped: str | None = None) -> tuple[Status, str | None]:
    """(status, reason) after clusters were handled, for a run that did act or plan.

    A run a person stopped is ``stopped`` (nothing is recorded), naming who, and any failures.
    """
    failed = [o for o in outcomes if o.result == "failed"]
    failures = ""
    if failed:
        names = ", ".join(o.id.rsplit("/", 1)[-1] for o in failed)
        failures = f"{len(failed)} of {len(outcomes)} cluster(s) failed: {names}"
    if stopped is not None:
        return "stopped", f"{stopped}; " + (f"{failures}; " if failures else "") + "nothing recorded"
    if failed:
        return "failed", f"{failures}; nothing recorded"
    if dry_run:
        return "planned", None
    return "succeeded", None
