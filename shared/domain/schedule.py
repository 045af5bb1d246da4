"""UPGRADE_SCHEDULE (NCRONTAB, six fields with seconds first) and the run clock it implies.

The orchestrator's clock for a run on date D starts at D at the schedule's time of day, in the
plan's time zone. So the seconds, minutes and hours fields must be plain numbers.

In Azure the timer fires at the schedule read as UTC (the Linux Consumption plan ignores
WEBSITE_TIME_ZONE), and a firing's wave is the one of its date in the plan's time zone. So a
schedule can miss a wave entirely: 23:30 UTC is already the next day in Oslo. That is worth a
warning, not a refusal: a team may run a wave only by hand.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter

from shared.domain.rollout import RolloutPlan

# A fixed year of local dates (never "today": the answer must not change with the calendar),
# long enough to see every weekday under both daylight-saving offsets and every month.
REFERENCE_FIRST_DAY = date(2026, 1, 1)
REFERENCE_DAYS = 365
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def parse_time_of_day(expression: str) -> time:
    """The wall-clock time a six-field NCRONTAB fires at; ValueError explains what is wrong."""
    fields = expression.split() if isinstance(expression, str) else []
    if len(fields) != 6:
        raise ValueError(f"{expression!r} must have six fields (second minute hour day month weekday), e.g. '0 0 10 * * 1-4'")
    # croniter knows five-field cron; NCRONTAB adds seconds in front.
    if not croniter.is_valid(" ".join(fields[1:])):
        raise ValueError(f"{expression!r} is not a valid NCRONTAB expression")
    second, minute, hour = fields[:3]
    for name, value, upper in (("second", second, 59), ("minute", minute, 59), ("hour", hour, 23)):
        if not (value.isascii() and value.isdigit()) or int(value) > upper:
            raise ValueError(
                f"{expression!r}: the {name} field must be a plain number 0..{upper}, because it fixes the run's clock (got {value!r})"
            )
    return time(int(hour), int(minute), int(second))


def run_start(day: date, time_of_day: time, timezone: str) -> datetime:
    """The UTC instant a run for ``day`` starts: ``day`` at ``time_of_day`` in ``timezone``."""
    local = datetime.combine(day, time_of_day, tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def local_date(instant: datetime, timezone: str) -> date:
    """The calendar date of ``instant`` in ``timezone`` (which day's wave it belongs to)."""
    return instant.astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class UnreachedWave:
    """A wave whose weekday, in the plan's time zone, no firing of the schedule ever falls on."""

    environment: str
    weekday: int  # 0 = Monday .. 6 = Sunday

    def describe(self, expression: str, timezone: str) -> str:
        day = _WEEKDAY_NAMES[self.weekday]
        return (
            f"wave {self.environment!r} runs on {day}s in {timezone}, but no firing of UPGRADE_SCHEDULE "
            f"{expression!r} (read as UTC, as Azure's timer fires) falls on a {day} there; "
            f"the timer never starts it, so it runs only when started by hand"
        )


@functools.lru_cache(maxsize=32)
def weekdays_reached(expression: str, timezone: str) -> frozenset[int]:
    """The weekdays (0 = Monday), in ``timezone``, of the local dates some firing falls on.

    ``expression`` is a six-field NCRONTAB read as UTC; day-of-month and weekday must both match
    (NCRONTAB's rule, unlike classic cron's "either"). For each local date of the reference year,
    the first firing at or after its local midnight tells whether any firing falls on that date.
    """
    zone = ZoneInfo(timezone)
    start = datetime.combine(REFERENCE_FIRST_DAY, time(0), tzinfo=zone).astimezone(UTC)
    try:
        firings = croniter(expression, start, second_at_beginning=True, day_or=False, max_years_between_matches=1)
    except CroniterError:
        return frozenset()
    reached: set[int] = set()
    for offset in range(REFERENCE_DAYS):
        day = REFERENCE_FIRST_DAY + timedelta(days=offset)
        if day.weekday() in reached:
            continue
        midnight = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        firings.set_current(midnight - timedelta(seconds=1), force=True)  # get_next is strictly after
        try:
            first = firings.get_next(datetime)
        except CroniterError:  # no firing within a year of this date
            continue
        if first.astimezone(zone).date() == day:
            reached.add(day.weekday())
        if len(reached) == 7:
            break
    return frozenset(reached)


def unreached_waves(expression: str, plan: RolloutPlan) -> tuple[UnreachedWave, ...]:
    """The plan's waves whose weekday no firing of ``expression`` (read as UTC) reaches, in plan order."""
    reached = weekdays_reached(expression, plan.timezone)
    return tuple(UnreachedWave(w.environment, w.weekday) for w in plan.waves if w.weekday not in reached)
