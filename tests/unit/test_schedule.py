"""UPGRADE_SCHEDULE fixes the run clock: its time of day, in the plan's time zone, converted to UTC."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import rollout, schedule


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 0 10 * * 1-4", time(10, 0, 0)),
        ("30 15 6 * * *", time(6, 15, 30)),
        ("0 0 0 * * 0", time(0, 0, 0)),
        ("59 59 23 * * Mon-Thu", time(23, 59, 59)),
        ("05 07 09 * * 1-5", time(9, 7, 5)),
        ("  0   0  10 * * 1-4 ", time(10, 0, 0)),
    ],
)
def test_time_of_day_comes_from_the_second_minute_and_hour_fields(expression: str, expected: time) -> None:
    assert schedule.parse_time_of_day(expression) == expected


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ("0 0 */2 * * 1-4", "hour"),
        ("0 0 10,14 * * 1-4", "hour"),
        ("0 0 9-17 * * 1-4", "hour"),
        ("0 0 * * * 1-4", "hour"),
        ("0 */5 10 * * 1-4", "minute"),
        ("0 * 10 * * 1-4", "minute"),
        ("*/30 0 10 * * 1-4", "second"),
        ("* 0 10 * * 1-4", "second"),
        ("60 0 10 * * 1-4", "second"),
        ("\u00b2 0 10 * * 1-4", "second"),  # a superscript two is a "digit" to str.isdigit
        ("\u0665 0 10 * * 1-4", "second"),  # an Arabic-Indic five, too
    ],
)
def test_non_numeric_second_minute_or_hour_is_refused_naming_the_field(expression: str, field: str) -> None:
    with pytest.raises(ValueError, match=f"the {field} field must be a plain number"):
        schedule.parse_time_of_day(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "0 10 * * 1-4",
        "0 0 24 * * 1-4",
        "0 60 10 * * 1-4",
        "0 0 10 * * 1-4 2026",
        "0 0 10 * * 9",
        "0 0 10 32 * *",
        "0 0 10 * 13 *",
        "every monday",
    ],
)
def test_expressions_that_are_not_six_field_ncrontab_are_refused(expression: str) -> None:
    with pytest.raises(ValueError):
        schedule.parse_time_of_day(expression)


@pytest.mark.parametrize(
    ("day", "expected_utc"),
    [
        (date(2026, 3, 27), datetime(2026, 3, 27, 9, 0, tzinfo=UTC)),  # Friday before DST: CET, UTC+1
        (date(2026, 3, 30), datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),  # Monday after DST starts: CEST, UTC+2
        (date(2026, 10, 23), datetime(2026, 10, 23, 8, 0, tzinfo=UTC)),  # before DST ends
        (date(2026, 10, 26), datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),  # after DST ends
    ],
)
def test_run_start_converts_oslo_wall_clock_to_utc_across_daylight_saving(day: date, expected_utc: datetime) -> None:
    started = schedule.run_start(day, time(10, 0), "Europe/Oslo")
    assert started == expected_utc
    assert started.utcoffset() is not None and started.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_run_start_in_utc_is_the_wall_clock_itself() -> None:
    assert schedule.run_start(date(2026, 3, 30), time(10, 0), "UTC") == datetime(2026, 3, 30, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "timezone", "expected"),
    [
        (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), "Europe/Oslo", date(2026, 3, 30)),  # already Monday in Oslo
        (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), "UTC", date(2026, 3, 29)),
        (datetime(2026, 3, 30, 3, 0, tzinfo=UTC), "America/New_York", date(2026, 3, 29)),
    ],
)
def test_local_date_is_the_calendar_day_in_the_plan_time_zone(instant: datetime, timezone: str, expected: date) -> None:
    assert schedule.local_date(instant, timezone) == expected


# -- waves the timer never reaches: the schedule fires in UTC, waves are weekdays in the plan's zone
WEEK = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def plan_of(timezone: str, days: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu")) -> rollout.RolloutPlan:
    waves = [{"day": day, "environment": f"env-{day.lower()}"} for day in days]
    return rollout.parse_plan(json.dumps({"timezone": timezone, "waves": waves}))


def unreached(expression: str, plan: rollout.RolloutPlan) -> list[str]:
    return [WEEK[u.weekday] for u in schedule.unreached_waves(expression, plan)]


@pytest.mark.parametrize(
    ("expression", "timezone", "days", "never"),
    [
        ("0 0 10 * * 1-4", "Europe/Oslo", ("Mon", "Tue", "Wed", "Thu"), []),  # the default
        # 23:30 UTC is 00:30 or 01:30 the next day in Oslo: every Monday firing is Tuesday's wave.
        ("0 30 23 * * 1-4", "Europe/Oslo", ("Mon", "Tue", "Wed", "Thu"), ["Mon"]),
        ("0 30 23 * * 1-4", "UTC", ("Mon", "Tue", "Wed", "Thu"), []),
        ("0 0 10 * * 0", "Europe/Oslo", ("Mon", "Tue", "Wed", "Thu"), ["Mon", "Tue", "Wed", "Thu"]),  # Sunday only
        ("0 0 10 * * Sun", "UTC", ("Sun", "Mon"), ["Mon"]),
        # 10:00 UTC is midnight the next day at UTC+14.
        ("0 0 10 * * 1-4", "Pacific/Kiritimati", ("Mon", "Tue", "Wed", "Thu", "Fri"), ["Mon"]),
        # 03:00 UTC is the evening before in New York.
        ("0 0 3 * * 1-5", "America/New_York", ("Sun", "Mon", "Fri"), ["Fri"]),
        # 22:00 UTC on Sundays: 23:00 Sunday in Oslo in winter, 00:00 Monday in summer; both are reached.
        ("0 0 22 * * 0", "Europe/Oslo", ("Sun", "Mon", "Tue"), ["Tue"]),
        # Day of month and weekday must both match (NCRONTAB): Friday the 13th is only ever a Friday.
        ("0 0 10 13 * 5", "UTC", ("Mon", "Fri"), ["Mon"]),
        # Every hour reaches every local date whatever the zone.
        ("0 0 * * * *", "Asia/Kathmandu", tuple(WEEK), []),
        # A date that never exists reaches nothing.
        ("0 0 10 30 2 *", "UTC", ("Mon",), ["Mon"]),
    ],
)
def test_waves_no_firing_reaches_are_listed(expression: str, timezone: str, days: tuple[str, ...], never: list[str]) -> None:
    assert unreached(expression, plan_of(timezone, days)) == never


def test_an_unreached_wave_is_described_with_its_name_weekday_and_the_schedule() -> None:
    [wave] = schedule.unreached_waves("0 30 23 * * 1-4", plan_of("Europe/Oslo"))
    text = wave.describe("0 30 23 * * 1-4", "Europe/Oslo")
    assert "'env-mon'" in text and "Monday" in text and "UPGRADE_SCHEDULE '0 30 23 * * 1-4'" in text and "UTC" in text


def brute_force_weekdays(hour: int, minute: int, weekdays: set[int], timezone: str) -> set[int]:
    """Every firing of "0 M H * * W" (W in cron numbering, 0 = Sunday) in the reference year, by plain date arithmetic."""
    zone = ZoneInfo(timezone)
    reached = set()
    first = schedule.REFERENCE_FIRST_DAY - timedelta(days=2)
    for offset in range(schedule.REFERENCE_DAYS + 4):
        utc_day = first + timedelta(days=offset)
        if (utc_day.weekday() + 1) % 7 in weekdays:
            local = datetime.combine(utc_day, time(hour, minute), tzinfo=UTC).astimezone(zone).date()
            if schedule.REFERENCE_FIRST_DAY <= local < schedule.REFERENCE_FIRST_DAY + timedelta(days=schedule.REFERENCE_DAYS):
                reached.add(local.weekday())
    return reached


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.integers(0, 23),
    st.sampled_from([0, 30, 45]),
    st.sets(st.integers(0, 6), min_size=1),
    st.sampled_from(
        ["UTC", "Europe/Oslo", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata", "Australia/Lord_Howe"]
    ),
)
def test_the_weekdays_reached_are_those_of_every_firing_in_the_reference_year(
    hour: int, minute: int, weekdays: set[int], timezone: str
) -> None:
    expression = f"0 {minute} {hour} * * {','.join(str(d) for d in sorted(weekdays))}"
    assert schedule.weekdays_reached(expression, timezone) == brute_force_weekdays(hour, minute, weekdays, timezone)
