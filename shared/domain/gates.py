"""Whether a run may act: the one decision the orchestrator, ``ops plan`` and the starters share.

Each of them used to decide on its own (only the orchestrator knew about FREEZE_DATES), so
``ops plan`` called a frozen date "ready" and the HTTP starter started runs that could only skip.
Here the wave for the date, the freeze, the predecessor's soak and the dry run are decided once,
in a fixed order, and every caller acts on the same answer:

1. no wave on the date (and no explicit environment)  -> ``nothing-to-do``
2. the requested date, or the day the work runs, frozen -> ``skipped`` (``force`` never overrides)
3. the predecessor's record not soaked long enough     -> ``skipped`` (only when the caller read it)
4. a dry run                                            -> ``planned``
5. otherwise                                            -> ``act``

"The day the work runs" matters for manual re-runs: a run for an old, unfrozen date started
during a freeze would otherwise upgrade inside the freeze.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.domain import freeze, rollout
from shared.domain.records import ValidatedRecord

NOTHING_TO_DO = "nothing-to-do"
SKIPPED = "skipped"
ACT = "act"
PLANNED = "planned"
STATUSES = (NOTHING_TO_DO, SKIPPED, ACT, PLANNED)


@dataclass(frozen=True)
class Soak:
    """What the soak gate needs, once a caller has read the predecessor's record."""

    record: ValidatedRecord
    #: The run's clock (the orchestrator's, never the machine's).
    clock: datetime
    min_soak_hours: float


@dataclass(frozen=True)
class Gate:
    """The answer: which wave, and whether (and how) the run may act on it."""

    wave: rollout.ChosenWave
    status: str  # one of STATUSES
    reason: str | None = None

    @property
    def may_act(self) -> bool:
        """True for ``act`` and ``planned``: the run goes on to plan (and, unless planned, to upgrade)."""
        return self.status in (ACT, PLANNED)

    @property
    def dry_run(self) -> bool:
        return self.status == PLANNED


def decide(
    plan: rollout.RolloutPlan,
    *,
    requested: date,
    work_day: date,
    environment: str | None = None,
    freeze_windows: tuple[freeze.FreezeWindow, ...] = (),
    dry_run: bool = False,
    soak: Soak | None = None,
) -> Gate:
    """Decide whether a run for ``requested`` whose work happens on ``work_day`` may act.

    ``work_day`` is the calendar date, in the plan's time zone, on which the run acts. An
    unknown explicit ``environment`` raises ValueError, as :func:`rollout.choose_wave` does.
    """
    wave = rollout.choose_wave(plan, requested, environment)
    if wave.environment is None:
        return Gate(wave, NOTHING_TO_DO, no_wave_reason(requested))
    frozen = freeze_problem(requested, work_day, freeze_windows)
    if frozen is not None:
        return Gate(wave, SKIPPED, frozen)
    if soak is not None and wave.role == "follower":
        waiting = soak_problem(soak.record, soak.clock, soak.min_soak_hours)
        if waiting is not None:
            return Gate(wave, SKIPPED, waiting)
    return Gate(wave, PLANNED if dry_run else ACT)


def no_wave_reason(day: date) -> str:
    return f"no wave on {day.strftime('%A')} {day} in ROLLOUT_PLAN"


def freeze_problem(requested: date, work_day: date, windows: tuple[freeze.FreezeWindow, ...]) -> str | None:
    """Why no upgrade may start, when the requested date or the day the work runs is frozen."""
    window = freeze.freeze_covering(requested, windows)
    if window is not None:
        return f"{requested} is frozen (FREEZE_DATES {window}); no upgrade starts"
    window = freeze.freeze_covering(work_day, windows)
    if window is not None:
        return f"this run for {requested} works on {work_day}, which is frozen (FREEZE_DATES {window}); no upgrade starts"
    return None


def soak_problem(record: ValidatedRecord, clock: datetime, min_soak_hours: float) -> str | None:
    """Why a follower must wait for its predecessor's version to soak longer, or None when it may go."""
    age = clock - record.validated_at
    if age >= timedelta(hours=min_soak_hours):
        return None
    # Rounded down, so that a run 1 s short of 20 h does not read "20.0 h ... waiting".
    hours = math.floor(max(age.total_seconds(), 0) / 360) / 10
    return (
        f"{record.environment} validated {record.version} at {record.validated_at.isoformat()}, "
        f"{hours:.1f} h before this run; MIN_SOAK_HOURS is {min_soak_hours:g}: waiting for next week"
    )
