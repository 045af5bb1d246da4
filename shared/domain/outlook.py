"""The week at a glance: the pure decisions behind ``ops status`` and ``ops report``.

Every function takes "now" as an argument (the caller fills it from the clock, tests from a
fixed instant), so what the status view says never depends on when a test runs.

- :func:`soaking`: how old an environment's record is against MIN_SOAK_HOURS, and how long until
  the next environment may take it.
- :func:`next_firing` and :func:`outlook_of_firing`: when UPGRADE_SCHEDULE fires next (read as UTC,
  as Azure's timer fires), which wave that firing runs (its date in the plan's time zone) and
  what the run gate would let it do. The gate is the app's own (:func:`gates.decide`), so the
  status view cannot promise a run the app would skip; a run the gate lets act in an
  APPROVAL_ENVIRONMENTS environment is said to wait for a person's decision first.
- :func:`runs_from_history`: the audit history (one row per cluster attempt) folded back into
  runs, newest first, with the clusters each one changed and the approval decision it went (or
  did not go) ahead on.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from croniter import croniter

from shared.domain import freeze, gates, rollout, schedule
from shared.domain.records import AuditEntry, ValidatedRecord

#: The cluster result that means "this run changed the cluster".
CHANGED = "upgraded"


@dataclass(frozen=True)
class Soaking:
    """An environment's record measured against MIN_SOAK_HOURS at one instant."""

    age: timedelta
    #: When the next environment may take the version (validatedAt + MIN_SOAK_HOURS).
    soaked_at: datetime
    #: How long until then; zero once soaked.
    remaining: timedelta

    @property
    def soaked(self) -> bool:
        return self.remaining == timedelta(0)


def soaking(record: ValidatedRecord, now: datetime, min_soak_hours: float) -> Soaking:
    """How long ``record`` has soaked at ``now`` and how long it still must (never negative).

    The same comparison as the run gate's (:func:`gates.soak_problem`): soaked exactly when
    ``now - validatedAt >= MIN_SOAK_HOURS``.
    """
    soaked_at = record.validated_at + timedelta(hours=min_soak_hours)
    return Soaking(age=now - record.validated_at, soaked_at=soaked_at, remaining=max(soaked_at - now, timedelta(0)))


def hours(span: timedelta) -> float:
    """A span in hours, rounded down to a tenth (so "19.9 h" is never shown as a soaked "20.0 h")."""
    return math.floor(span.total_seconds() / 360) / 10


def next_firing(expression: str, after: datetime) -> datetime:
    """The first firing of ``expression`` (six-field NCRONTAB, read as UTC) strictly after ``after``.

    UTC because the Linux Consumption plan ignores WEBSITE_TIME_ZONE; day-of-month and weekday
    must both match, as in NCRONTAB. ValueError when the expression never fires.
    """
    start = after.astimezone(UTC)
    firings = croniter(expression, start, second_at_beginning=True, day_or=False, max_years_between_matches=5)
    try:
        moment: datetime = firings.get_next(datetime)
    except Exception as exc:  # croniter raises its own errors for expressions that never match
        raise ValueError(f"UPGRADE_SCHEDULE {expression!r} never fires after {start.isoformat()}") from exc
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class FiringOutlook:
    """What the next timer firing will do."""

    #: The firing instant, UTC.
    at: datetime
    #: Its date in the plan's time zone: the wave it runs.
    day: date
    #: The run gate's answer for that run (wave, ``act``/``planned``/``skipped``/``nothing-to-do``, reason).
    gate: gates.Gate
    #: When the run acts in an environment of APPROVAL_ENVIRONMENTS: the most hours it waits for a
    #: person's decision (APPROVAL_TIMEOUT_HOURS) before its first PUT. None when it does not wait.
    approval_wait_hours: int | None = None


def outlook_of_firing(
    plan: rollout.RolloutPlan,
    at: datetime,
    *,
    records: Mapping[str, ValidatedRecord | None],
    min_soak_hours: float,
    freeze_windows: tuple[freeze.FreezeWindow, ...] = (),
    dry_run: bool = False,
    approval_environments: tuple[str, ...] = (),
    approval_timeout_hours: int = 24,
) -> FiringOutlook:
    """What a timer firing at ``at`` would do, given the records as they are now.

    The timer's run works on the firing's own date, so that date is both the requested date and
    the work day of the gate. A follower whose predecessor has no record is skipped, as its
    planning would skip it; one whose predecessor's record has not soaked by ``at`` is skipped by
    the gate's soak rule. A run that may act in an environment of ``approval_environments`` does
    not PUT at once: it waits up to ``approval_timeout_hours`` for a person's decision (without
    one it is skipped), so the outlook says so. A dry run (``planned``) never waits: it PUTs nothing.
    """
    day = schedule.local_date(at, plan.timezone)
    wave = rollout.choose_wave(plan, day, None)
    soak = None
    if wave.role == "follower" and wave.predecessor is not None:
        record = records.get(wave.predecessor)
        if record is None:
            reason = f"no validated version recorded for {wave.predecessor}; nothing to follow"
            gate = gates.decide(plan, requested=day, work_day=day, freeze_windows=freeze_windows, dry_run=dry_run)
            if gate.may_act:  # the freeze (and a day without a wave) come first, as in the run
                gate = gates.Gate(wave, gates.SKIPPED, reason)
            return FiringOutlook(at, day, gate)
        soak = gates.Soak(record, at, min_soak_hours)
    gate = gates.decide(plan, requested=day, work_day=day, freeze_windows=freeze_windows, dry_run=dry_run, soak=soak)
    waits = gate.status == gates.ACT and wave.environment in approval_environments
    return FiringOutlook(at, day, gate, approval_timeout_hours if waits else None)


@dataclass(frozen=True)
class RunDecision:
    """The approval gate's decision a run went (or did not go) ahead on, as its audit rows keep it."""

    #: Who decided.
    by: str | None
    #: "approve" or "reject" (any other word passes through).
    decision: str | None
    comment: str | None

    @property
    def text(self) -> str:
        """The decision in words: "approved by alice: CAB-7", "rejected by bob"."""
        verb = {"approve": "approved", "reject": "rejected"}.get(self.decision or "", self.decision or "decided")
        said = f"{verb} by {self.by or 'someone unnamed'}"
        return f"{said}: {self.comment}" if self.comment else said


def decision_of(entry: AuditEntry) -> RunDecision | None:
    """The decision an audit row keeps, or None where no approval was asked for (or none was given)."""
    if entry.decided_by is None and entry.decision is None:
        return None
    return RunDecision(entry.decided_by, entry.decision, entry.decision_comment)


@dataclass(frozen=True)
class Run:
    """One run of one environment, folded back from its audit rows."""

    environment: str
    instance_id: str
    run_id: str | None
    started_at: datetime
    finished_at: datetime
    #: The run's status as recorded with its rows, or (rows written before runs recorded it)
    #: worked out from its clusters: ``failed`` if any failed, ``planned`` if all were planned,
    #: else ``succeeded``. Any string: statuses added later pass through unchanged.
    status: str
    attempts: tuple[AuditEntry, ...]
    #: The approval decision the run went (or did not go) ahead on; None where none was asked
    #: for, or none was given (an approval that timed out).
    decision: RunDecision | None = None

    @property
    def changed(self) -> tuple[AuditEntry, ...]:
        """The clusters this run upgraded."""
        return tuple(a for a in self.attempts if a.result == CHANGED)

    @property
    def results(self) -> dict[str, int]:
        """How many clusters ended with each result, in a fixed order (most common first, then by name)."""
        counts = Counter(a.result for a in self.attempts)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _status_of(attempts: Sequence[AuditEntry]) -> str:
    recorded = next((a.run_status for a in attempts if a.run_status), None)
    if recorded is not None:
        return recorded
    results = {a.result for a in attempts}
    if "failed" in results:
        return "failed"
    if results == {"planned"}:
        return "planned"
    return "succeeded"


def runs_from_history(entries: Iterable[AuditEntry]) -> list[Run]:
    """The attempts grouped into runs (environment, instance id, run id), newest run first.

    Rows without a run id (written before runs had ids) group by instance id and start time.
    """
    groups: dict[tuple[str, str, str], list[AuditEntry]] = {}
    for entry in entries:
        key = (entry.environment, entry.instance_id, entry.run_id or entry.started_at.isoformat())
        groups.setdefault(key, []).append(entry)
    runs = []
    for (environment, instance_id, _), attempts in groups.items():
        attempts.sort(key=lambda a: a.cluster_id.lower())
        runs.append(
            Run(
                environment=environment,
                instance_id=instance_id,
                run_id=attempts[0].run_id,
                started_at=min(a.started_at for a in attempts),
                finished_at=max(a.finished_at for a in attempts),
                status=_status_of(attempts),
                attempts=tuple(attempts),
                decision=next((d for d in map(decision_of, attempts) if d is not None), None),
            )
        )
    runs.sort(key=lambda r: (r.started_at, r.finished_at, r.instance_id), reverse=True)
    return runs


def last_runs(runs: Sequence[Run], environments: Sequence[str]) -> dict[str, Run | None]:
    """Each environment's newest run (``runs`` newest first, as :func:`runs_from_history` gives them)."""
    latest: dict[str, Run | None] = dict.fromkeys(environments)
    for run in runs:
        if run.environment in latest and latest[run.environment] is None:
            latest[run.environment] = run
    return latest


def recent(runs: Sequence[Run], now: datetime, days: int) -> list[Run]:
    """The runs that started within ``days`` days before ``now`` (and not after it)."""
    since = now - timedelta(days=days)
    return [r for r in runs if since <= r.started_at <= now]
