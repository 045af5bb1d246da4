"""UPGRADE_SCHEDULE fixes the run clock: its time of day, in the plan's time zone, converted to UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from shared.domain import schedule


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
