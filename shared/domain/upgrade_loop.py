"""The upgrade loop of one run, as a pure state machine.

The orchestrator keeps up to MAX_PARALLEL_UPGRADES upgrades running, waits with durable timers,
looks at the running ones, backs off on transient refusals and gives up at the deadline. Every
decision of that loop is a transition here, from one frozen :class:`UpgradeLoop` to the next; the
orchestrator only asks the activities and yields. Each cluster to upgrade is in exactly one place
at any time: ``ready`` (to start), ``waiting`` (a transient refusal's backoff), ``in_flight`` (an
upgrade running), ``settling`` (its operation succeeded; the health check is due at ``check_at``)
or ``finished`` (its outcome).

A person may stop the run (the durable event ``Stop``): nothing more starts, running upgrades are
watched and checked to their end, and the run ends ``stopped``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal

from shared.domain import dates, pacing, upgrades
from shared.domain.literals import one_of
from shared.domain.planning import PROTOCOL, ClusterPlan, EnvironmentPlan
from shared.domain.results import ClusterOutcome, Result
from shared.domain.upgrades import ProgressState

#: Starts ARM refused transiently (throttled, busy) before the cluster fails.
MAX_START_ATTEMPTS = 5
#: Why a cluster found already at the target when its upgrade was to start got no PUT from this run.
FOUND_AT_TARGET = "already at the target when its upgrade was to start (this run sent no PUT)"
#: A timer never fires sooner than this after the orchestrator's clock.
MIN_WAIT = timedelta(seconds=1)

StartState = Literal["upgrading", "already-current", "skipped", "retry", "failed"]
HealthState = Literal["healthy", "unhealthy", "unknown"]


def _instant(text: str) -> datetime:
    """A timestamp the orchestrator wrote (always UTC)."""
    return dates.parse_utc_instant(text, naive_means_utc=True)


@dataclass(frozen=True)
class StartAnswer:
    """How the attempt to start one cluster's upgrade ended (StartClusterUpgrade's answer).

    ``upgrading``: running now, ``operation_url`` to watch it, or ``reason`` when this run joined
    an upgrade already running (no PUT of ours) or cannot tell whether its PUT went out;
    ``already-current``; ``skipped`` (changed since planning, left alone); ``retry`` (a transient
    refusal, try again after a backoff of at least ``retry_after`` seconds); ``failed``.
    """

    id: str
    state: StartState
    reason: str | None = None
    operation_url: str | None = None
    retry_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "operationUrl": self.operation_url,
            "reason": self.reason,
            "retryAfter": self.retry_after,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StartAnswer:
        retry_after = data.get("retryAfter")
        return cls(
            id=data["id"],
            state=one_of(data["state"], StartState, "state"),
            reason=data.get("reason"),
            operation_url=data.get("operationUrl"),
            retry_after=float(retry_after) if retry_after is not None else None,
        )


def unknown_starts(ids: Sequence[str], why: str) -> tuple[StartAnswer, ...]:
    """The answers when the start activities failed after their retries: whether the PUTs went
    out is unknown, so the clusters are watched as running (never sent again) with the reason."""
    return tuple(StartAnswer(cid, "upgrading", f"start outcome unknown: {why}") for cid in ids)


@dataclass(frozen=True)
class ProgressAnswer:
    """One look at one running upgrade (CheckUpgradeProgress's answer per cluster)."""

    id: str
    state: ProgressState
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgressAnswer:
        return cls(data["id"], one_of(data["state"], ProgressState, "state"), data.get("reason"))


@dataclass(frozen=True)
class HealthAnswer:
    """The health check of one settled upgrade (CheckClusterHealth's answer per cluster):
    ``unknown`` when it could not be read this time (a transient error): checked again later."""

    id: str
    state: HealthState
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HealthAnswer:
        return cls(data["id"], one_of(data["state"], HealthState, "state"), data.get("reason"))


@dataclass(frozen=True)
class Queued:
    """A cluster whose upgrade is to be started, with the starts ARM refused transiently so far."""

    id: str
    attempts: int = 0


@dataclass(frozen=True)
class Waiting:
    """A cluster whose start ARM refused transiently; it is started again from ``not_before`` on."""

    id: str
    not_before: datetime
    attempts: int


@dataclass(frozen=True)
class InFlight:
    """A running upgrade and how to look at it (its operation, else the cluster itself)."""

    id: str
    to_version: str
    operation_url: str | None = None
    #: Why this run did not send the PUT itself (it joined a running upgrade, or its start's
    #: outcome is unknown); the cluster's outcome keeps it.
    reason: str | None = None

    #: When the upgrade started (or this run joined it): alerts from then on count against it.
    started_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "to": self.to_version,
            "operationUrl": self.operation_url,
            "reason": self.reason,
            "startedAt": self.started_at.isoformat() if self.started_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InFlight:
        started = data.get("startedAt")
        return cls(data["id"], data["to"], data.get("operationUrl"), data.get("reason"), _instant(started) if started else None)


@dataclass(frozen=True)
class Settling:
    """A cluster waiting for its health check at ``check_at``: an upgrade whose operation succeeded
    (``result`` ``upgraded``), or one found already at the target (``already-current``), which
    counts for the record only once it is checked too."""

    id: str
    to_version: str
    check_at: datetime
    started_at: datetime | None = None
    #: Carried from InFlight: why this run sent no PUT itself.
    reason: str | None = None
    #: The cluster's outcome when it is healthy.
    result: Result = "upgraded"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "to": self.to_version,
            "checkAt": self.check_at.isoformat(),
            "startedAt": self.started_at.isoformat() if self.started_at else None,
            "reason": self.reason,
            "result": self.result,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settling:
        started = data.get("startedAt")
        return cls(
            data["id"],
            data["to"],
            _instant(data["checkAt"]),
            _instant(started) if started else None,
            data.get("reason"),
            one_of(data.get("result", "upgraded"), Result, "result"),
        )


@dataclass(frozen=True)
class UpgradeLoop:
    """Where the upgrades of one run stand. ``clusters`` are the plans of the clusters to upgrade
    (the carried state holds them once, with the environment's plan, so :meth:`to_dict` leaves
    them out); ``rounds`` counts this execution's poll rounds and starts again at 0 in the next."""

    clusters: tuple[ClusterPlan, ...]
    deadline: datetime
    ready: tuple[Queued, ...] = ()
    waiting: tuple[Waiting, ...] = ()
    in_flight: tuple[InFlight, ...] = ()
    finished: tuple[ClusterOutcome, ...] = ()
    rounds: int = 0
    settling: tuple[Settling, ...] = ()
    #: Who stopped the run and why ("stopped by ..."), once a Stop event arrived.
    stopped: str | None = None
    #: The rules of the run (``planning.PROTOCOL``), from its plan: a run an earlier release began
    #: keeps that release's rules when the app is deployed again, so that its replay matches.
    protocol: int = PROTOCOL

    @classmethod
    def begin(cls, plan: EnvironmentPlan, deadline: datetime, now: datetime) -> UpgradeLoop:
        """Every cluster the plan upgrades is ready to start, in the plan's order; every cluster it
        found already at a target not yet recorded is due for its health check (nothing moved, so
        nothing to settle)."""
        rechecks = tuple(Settling(c.id, c.to_version or "", now, result="already-current") for c in plan.to_recheck)
        return cls(
            _loop_clusters(plan),
            deadline,
            ready=tuple(Queued(c.id) for c in plan.to_upgrade),
            settling=rechecks,
            protocol=plan.protocol,
        )

    @cached_property
    def _plans(self) -> dict[str, ClusterPlan]:
        return {c.id: c for c in self.clusters}

    def plan_of(self, cid: str) -> ClusterPlan:
        """The plan of one of this loop's clusters."""
        return self._plans[cid]

    @property
    def is_done(self) -> bool:
        """Nothing left to start, wait for, watch or check."""
        return not (self.ready or self.waiting or self.in_flight or self.settling)

    # -- starting --------------------------------------------------------------------------------
    def release_waiting(self, now: datetime) -> UpgradeLoop:
        """Clusters whose backoff has ended go to the back of the queue, by id."""
        due = tuple(w for w in sorted(self.waiting, key=lambda w: w.id) if w.not_before <= now)
        if not due:
            return self
        return replace(
            self,
            ready=self.ready + tuple(Queued(w.id, w.attempts) for w in due),
            waiting=tuple(w for w in self.waiting if w not in due),
        )

    def next_batch(self, max_parallel: int, poll_interval: timedelta | None = None) -> tuple[Queued, ...]:
        """The clusters to start now: the head of the queue, as many as there are free slots; with
        ``poll_interval``, no more per subscription than a round's budget (``pacing``), so the
        starts never meet ARM's throttles (a subscription over budget waits, the others go)."""
        free = max(max_parallel - len(self.in_flight), 0)
        if poll_interval is None:
            return self.ready[:free]
        return pacing.take_per_key(self.ready, self._subscription, pacing.round_budget(poll_interval).starts, free)

    def _subscription(self, item: Queued | InFlight) -> str:
        return self.plan_of(item.id).subscription_id

    def apply_start_answers(self, answers: Sequence[StartAnswer], now: datetime, settle: timedelta = timedelta(0)) -> UpgradeLoop:
        """Each answered cluster leaves the queue: running, finished, waiting out a backoff, or (found
        already at the target) settling for ``settle`` before its health check."""
        queued = {q.id: q for q in self.ready}
        strangers = [a.id for a in answers if a.id not in queued]
        if strangers:
            raise ValueError(f"start answers for {strangers}, which were not waiting to start")
        placed = [self._after_start(a, queued[a.id].attempts, now, settle) for a in answers]
        answered = {a.id for a in answers}
        return replace(
            self,
            ready=tuple(q for q in self.ready if q.id not in answered),
            waiting=self.waiting + tuple(p for p in placed if isinstance(p, Waiting)),
            in_flight=self.in_flight + tuple(p for p in placed if isinstance(p, InFlight)),
            settling=self.settling + tuple(p for p in placed if isinstance(p, Settling)),
            finished=self.finished + tuple(p for p in placed if isinstance(p, ClusterOutcome)),
        )

    def _after_start(
        self, answer: StartAnswer, attempts: int, now: datetime, settle: timedelta
    ) -> InFlight | Waiting | Settling | ClusterOutcome:
        plan = self.plan_of(answer.id)
        if answer.state == "upgrading":
            return InFlight(plan.id, plan.to_version or "", answer.operation_url, answer.reason, now)
        if answer.state == "already-current":
            if self.protocol < 2:
                return self._outcome(plan.id, "already-current")  # as the release that began this run did
            # Already at the target when its turn came (someone else's upgrade, or this run's own PUT
            # whose answer was lost, just ended): it counts once it settled and the gate checked it.
            return Settling(plan.id, plan.to_version or "", now + settle, reason=FOUND_AT_TARGET, result="already-current")
        if answer.state == "skipped":
            return self._outcome(plan.id, "skipped", answer.reason)
        if answer.state == "retry":
            attempts += 1
            if attempts >= MAX_START_ATTEMPTS:
                return self._outcome(plan.id, "failed", f"{answer.reason} (gave up after {attempts} attempts)")
            delay = timedelta(seconds=upgrades.retry_delay_seconds(attempts, answer.retry_after))
            return Waiting(plan.id, now + delay, attempts)
        return self._outcome(plan.id, "failed", answer.reason)

    # -- watching --------------------------------------------------------------------------------
    def apply_progress(self, answers: Sequence[ProgressAnswer], now: datetime, settle: timedelta) -> UpgradeLoop:
        """Ended upgrades leave ``in_flight``: a failed one is finished; a succeeded one settles for
        ``settle`` before its health check (keeping why no PUT was ours). An answer about a cluster
        that is not running (any more) changes nothing."""
        running = {r.id: r for r in self.in_flight}
        ended: list[ClusterOutcome] = []
        settled: list[Settling] = []
        for answer in answers:
            watched = running.pop(answer.id, None) if answer.state != "inProgress" else None
            if watched is not None and answer.state == "succeeded":
                settled.append(Settling(watched.id, watched.to_version, now + settle, watched.started_at, watched.reason))
            elif watched is not None:
                ended.append(self._outcome(watched.id, "failed", answer.reason))
        if not ended and not settled:
            return self
        return replace(
            self,
            in_flight=tuple(r for r in self.in_flight if r.id in running),
            settling=self.settling + tuple(settled),
            finished=self.finished + tuple(ended),
        )

    def due_for_health(
        self,
        now: datetime,
        poll_interval: timedelta | None = None,
        *,
        looked: Sequence[InFlight] = (),
        reads_per_check: int = 1,
    ) -> tuple[Settling, ...]:
        """The clusters whose health check is due; with ``poll_interval``, only what the round's
        Resource Manager reads for looking (``pacing``) leave after this round's ``looked`` at
        running upgrades, each check costing ``reads_per_check`` (the GET, and the alert list
        with ``arm+alerts``); the others stay due for the next round. The looks are capped by the
        AKS operation-status bucket, well below those reads, so checks always get some; and one
        check per subscription goes each round whatever, so that they never starve."""
        due = tuple(s for s in self.settling if s.check_at <= now)
        if poll_interval is None:
            return due
        if self.protocol < 2:  # as protocol 1 paced them: the looks' budget, whatever the looks spent
            return pacing.take_per_key(due, lambda x: self.plan_of(x.id).subscription_id, pacing.round_budget(poll_interval).looks)
        budget = pacing.round_budget(poll_interval).looking_reads
        spent: dict[str, int] = {}
        for running in looked:
            key = self._subscription(running).lower()
            spent[key] = spent.get(key, 0) + 1
        taken: list[Settling] = []
        checked: set[str] = set()
        for check in due:
            key = self.plan_of(check.id).subscription_id.lower()
            if spent.get(key, 0) + reads_per_check > budget and key in checked:
                continue
            spent[key] = spent.get(key, 0) + reads_per_check
            checked.add(key)
            taken.append(check)
        return tuple(taken)

    def apply_health(self, answers: Sequence[HealthAnswer], now: datetime, poll_interval: timedelta) -> UpgradeLoop:
        """Checked clusters finish: healthy ones as their ``result`` says (``upgraded`` or
        ``already-current``), unhealthy ones ``failed`` with the
        check's reason; one that could not be read (a transient error, often a 429) is checked
        again a poll interval later, never at once."""
        settling = {s.id: s for s in self.settling}
        ended: list[ClusterOutcome] = []
        again: dict[str, Settling] = {}
        for answer in answers:
            checked = settling.get(answer.id)
            if checked is None:
                continue
            if answer.state == "unknown":
                again[checked.id] = replace(checked, check_at=now + poll_interval)
            else:
                del settling[checked.id]
                if answer.state == "healthy":
                    ended.append(self._outcome(checked.id, checked.result, checked.reason))
                else:
                    ended.append(self._outcome(checked.id, "failed", answer.reason))
        if not ended and not again:
            return self
        return replace(
            self,
            settling=tuple(again.get(x.id, x) for x in self.settling if x.id in settling),
            finished=self.finished + tuple(ended),
        )

    def health_unknown(self, ids: Sequence[str], why: str) -> UpgradeLoop:
        """The health check failed after its retries: these clusters are not known to be healthy."""
        return self._fail_all(ids, f"HealthCheck: not checked: the health check failed after retries: {why}")

    def polls_due(self, poll_interval: timedelta) -> tuple[InFlight, ...]:
        """The running upgrades to look at this round: no more per subscription than a round's
        budget (``pacing``), those looked at least recently first (see :meth:`looked_at`)."""
        return pacing.take_per_key(self.in_flight, self._subscription, pacing.round_budget(poll_interval).looks)

    def looked_at(self, ids: Iterable[str]) -> UpgradeLoop:
        """The running upgrades just looked at go behind the others, so every one is looked at in
        turn when a round cannot look at all of them."""
        seen = set(ids)
        moved = [r for r in self.in_flight if r.id in seen]
        return replace(self, in_flight=pacing.to_the_back(self.in_flight, moved)) if moved else self

    def stop_starting(self, why: str) -> UpgradeLoop:
        """No new upgrade may start any more (the day the work runs became frozen, or a person
        stopped the run): the clusters not started yet end ``skipped`` with ``why``; running
        upgrades are still watched, and checked, to their end."""
        ids = [*(w.id for w in self.waiting), *(q.id for q in self.ready)]
        if not ids:
            return self
        return replace(
            self,
            ready=(),
            waiting=(),
            finished=self.finished + tuple(self._outcome(cid, "skipped", why) for cid in ids),
        )

    def stop(self, why: str) -> UpgradeLoop:
        """A person stopped the run: nothing more starts; what runs is watched and checked to its end."""
        if self.stopped is not None:
            return self
        return replace(self.stop_starting(f"not started: {why}"), stopped=why)

    def progress_unknown(self, why: str) -> UpgradeLoop:
        """The progress check failed after its retries: the run stops here. A running upgrade may
        still end well (a re-run resumes monitoring it); nothing else is started."""
        running = (
            f"ProgressUnknown: the progress check failed after retries: {why}; "
            "the upgrade may still be running — re-run to resume monitoring"
        )
        not_started = f"NotStarted: the progress check failed after retries: {why}; re-run to upgrade it"
        unchecked = f"HealthCheck: not checked: the progress check failed after retries: {why}"
        loop = self._fail_all((r.id for r in self.in_flight), running)
        loop = loop._fail_all((s.id for s in self.settling), unchecked)
        return loop._fail_all([*(w.id for w in self.waiting), *(q.id for q in self.ready)], not_started)

    # -- time ------------------------------------------------------------------------------------
    def past_deadline(self, now: datetime) -> bool:
        return now >= self.deadline

    def time_out(self, timeout_minutes: int) -> UpgradeLoop:
        """The deadline passed: everything unfinished fails (an upgrade that succeeded but was not
        health checked yet says so)."""
        unfinished = [*(r.id for r in self.in_flight), *(w.id for w in self.waiting), *(q.id for q in self.ready)]
        loop = self._fail_all((x.id for x in self.settling), f"HealthCheck: not checked before UPGRADE_TIMEOUT_MINUTES={timeout_minutes}")
        return loop._fail_all(unfinished, f"Timeout: not finished within UPGRADE_TIMEOUT_MINUTES={timeout_minutes}")

    def next_wake(self, now: datetime, poll_interval: timedelta) -> datetime:
        """When to look again: after ``poll_interval``, or when the first backoff ends if nothing
        runs, is ready or is held back, or when the next health check falls due if that comes
        sooner; never past the deadline, and never sooner than MIN_WAIT from now.

        A check already due now was held back by this round's budget: it waits a whole poll
        interval like everything else, since waking sooner would spend the next round's budget
        before the buckets refilled.
        """
        wake = now + poll_interval
        coming = [x.check_at for x in self.settling if x.check_at > now]
        held_back = any(x.check_at <= now for x in self.settling)
        if self.protocol < 2:  # protocol 1 woke for a held-back check after MIN_WAIT: its runs keep that timing
            coming, held_back = [x.check_at for x in self.settling], False
        if not (self.in_flight or self.ready or held_back):
            # Nothing to watch: wake for the first backoff to end or health check to fall due.
            wake = min([*(w.not_before for w in self.waiting), *coming], default=wake)
        else:
            wake = min([wake, *coming])
        wake = max(wake, now + MIN_WAIT)
        return min(wake, max(self.deadline, now + MIN_WAIT))

    def polled(self) -> UpgradeLoop:
        """One more poll round in this execution."""
        return replace(self, rounds=self.rounds + 1)

    def continue_as_new_due(self, rounds_per_execution: int) -> bool:
        """Whether this execution has polled enough rounds to start a fresh one (which keeps each
        history, and the cost of replaying it, bounded however long the upgrades take)."""
        return self.rounds >= rounds_per_execution

    # -- outcomes ----------------------------------------------------------------------------------
    def _outcome(self, cid: str, result: Result, reason: str | None = None) -> ClusterOutcome:
        """A cluster's end; a skipped cluster shows no ``to``: no version was applied or attempted."""
        plan = self.plan_of(cid)
        if reason is None and result in ("upgraded", "already-current"):
            reason = plan.notes  # the pre-flight findings, when nothing else needs saying
        return ClusterOutcome(plan.id, plan.from_version, None if result == "skipped" else plan.to_version, result, reason)

    def _fail_all(self, ids: Iterable[str], reason: str) -> UpgradeLoop:
        """The clusters ``ids``, wherever they are unfinished, end failed with ``reason``."""
        ids = list(ids)
        gone = set(ids)
        return replace(
            self,
            ready=tuple(q for q in self.ready if q.id not in gone),
            waiting=tuple(w for w in self.waiting if w.id not in gone),
            in_flight=tuple(r for r in self.in_flight if r.id not in gone),
            settling=tuple(s for s in self.settling if s.id not in gone),
            finished=self.finished + tuple(self._outcome(cid, "failed", reason) for cid in ids),
        )

    # -- carried across continue-as-new ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "deadline": self.deadline.isoformat(),
            "ready": [{"id": q.id, "attempts": q.attempts} for q in self.ready],
            "waiting": [{"id": w.id, "notBefore": w.not_before.isoformat(), "attempts": w.attempts} for w in self.waiting],
            "inFlight": [r.to_dict() for r in self.in_flight],
            "settling": [s.to_dict() for s in self.settling],
            "finished": [o.to_dict() for o in self.finished],
            "stopped": self.stopped,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], plan: EnvironmentPlan) -> UpgradeLoop:
        """The loop carried over from the previous execution of ``plan``'s run. Also reads the
        shape written before the loop was typed (dicts keyed by cluster id, ``attempts`` apart,
        ``finals``), so that a run continuing across a deployment carries on."""
        if "finals" in data:
            return cls._from_earlier_shape(data, plan)
        return cls(
            _loop_clusters(plan),
            _instant(data["deadline"]),
            ready=tuple(Queued(q["id"], int(q.get("attempts", 0))) for q in data.get("ready", [])),
            waiting=tuple(Waiting(w["id"], _instant(w["notBefore"]), int(w["attempts"])) for w in data.get("waiting", [])),
            in_flight=tuple(InFlight.from_dict(r) for r in data.get("inFlight", [])),
            finished=tuple(ClusterOutcome.from_dict(o) for o in data.get("finished", [])),
            settling=tuple(Settling.from_dict(x) for x in data.get("settling", [])),
            stopped=data.get("stopped"),
            protocol=plan.protocol,
        )

    @classmethod
    def _from_earlier_shape(cls, data: dict[str, Any], plan: EnvironmentPlan) -> UpgradeLoop:
        attempts: dict[str, int] = {cid: int(n) for cid, n in data.get("attempts", {}).items()}
        return cls(
            _loop_clusters(plan),
            _instant(data["deadline"]),
            ready=tuple(Queued(cid, attempts.get(cid, 0)) for cid in data.get("ready", [])),
            waiting=tuple(Waiting(cid, _instant(at), attempts.get(cid, 0)) for cid, at in data.get("waiting", {}).items()),
            in_flight=tuple(InFlight.from_dict(r) for r in data.get("inFlight", {}).values()),
            finished=tuple(ClusterOutcome.from_dict(o) for o in data.get("finals", {}).values()),
            protocol=plan.protocol,
        )


def _loop_clusters(plan: EnvironmentPlan) -> tuple[ClusterPlan, ...]:
    """The clusters a run's loop handles: those it upgrades and those it only health checks."""
    return plan.to_upgrade + plan.to_recheck
