"""UPGRADE_SCHEDULE (NCRONTAB, six fields with seconds first) and the run clock it implies.

The orchestrator's clock for a run on date D starts at D at the schedule's time of day, in the
plan's time zone. So the seconds, minutes and hours fields must be plain numbers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from croniter import croniter


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
