"""The one strict reader of dates and UTC timestamps, and the strict number readers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import dates, numbers

PROPERTY = settings(max_examples=300, deadline=None, database=None)


@PROPERTY
@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_every_real_date_written_as_yyyy_mm_dd_reads_back_as_itself(day: date) -> None:
    assert dates.parse_date(day.isoformat()) == day


@PROPERTY
@given(st.text(max_size=12))
def test_whatever_is_accepted_is_exactly_ten_ascii_characters_naming_that_date(text: str) -> None:
    try:
        day = dates.parse_date(text)
    except ValueError:
        return
    assert text.isascii() and len(text) == 10 and day.isoformat() == text


@pytest.mark.parametrize(
    "text",
    [
        "2026-W49-2",  # ISO week date: date.fromisoformat takes it
        "2026W492",
        "20261201",
        "2026-12-1",
        "2026-12-01 ",
        " 2026-12-01",
        "2026-12-01\n",
        "2026-12-01T00:00",
        "٢٠٢٦-١٢-٠١",  # Arabic-Indic digits
        "２０２６-１２-０１",  # fullwidth digits
        "2026-13-01",
        "2026-02-29",  # not a leap year
        "0000-01-01",
        "",
        "x" * 5000,
    ],
    ids=lambda text: repr(text)[:20],
)
def test_anything_but_a_real_yyyy_mm_dd_date_is_refused_quoting_at_most_200_characters(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        dates.parse_date(text)
    assert len(str(caught.value)) < 260


@pytest.mark.parametrize("value", [None, 20261201, date(2026, 12, 1), b"2026-12-01"])
def test_a_date_that_is_not_text_is_refused(value: object) -> None:
    with pytest.raises(ValueError):
        dates.parse_date(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T09:00:00+00:00", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("2026-12-01T09:00:00Z", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("2026-12-01T10:00:00+01:00", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        ("2026-11-30T20:00:00-05:00", datetime(2026, 12, 1, 1, tzinfo=UTC)),
        ("2026-12-01T09:00:00.5Z", datetime(2026, 12, 1, 9, 0, 0, 500000, tzinfo=UTC)),
        ("2026-12-01T09:00:00.123456+00:00", datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)),
        ("2026-12-01T23:30:00.0000000+00:00", datetime(2026, 12, 1, 23, 30, tzinfo=UTC)),  # .NET "o": 7 digits
        ("2026-12-01T09:00:00.1234567Z", datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_with_z_or_an_offset_read_as_that_utc_instant(text: str, expected: datetime) -> None:
    parsed = dates.parse_utc_instant(text)
    assert parsed == expected and parsed.utcoffset() == timedelta(0)


def test_a_timestamp_without_an_offset_is_refused_unless_the_caller_knows_it_is_utc() -> None:
    with pytest.raises(ValueError, match="no time zone offset"):
        dates.parse_utc_instant("2026-11-29T23:30:00")
    assert dates.parse_utc_instant("2026-11-29T23:30:00", naive_means_utc=True) == datetime(2026, 11, 29, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-W49-2T09:00:00Z",
        "20261201T090000Z",
        "2026-12-01 09:00:00Z",
        "2026-12-01T09:00Z",
        "2026-12-01T24:00:00Z",
        "2026-12-01T09:00:00+24:00",
        "2026-12-01T09:00:00+0100",
        "2026-12-01T09:00:00.Z",
        "2026-12-01T09:00:00.1234567890Z",
        "2026-02-30T09:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "٢٠٢٦-١٢-٠١T09:00:00Z",
        "yesterday",
        "",
    ],
    ids=lambda text: repr(text)[:24],
)
def test_anything_else_is_not_a_timestamp(text: str) -> None:
    with pytest.raises(ValueError):
        dates.parse_utc_instant(text, naive_means_utc=True)


@PROPERTY
@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_every_aware_isoformat_reads_back_as_the_same_instant(moment: datetime) -> None:
    assert dates.parse_utc_instant(moment.isoformat()) == moment


# -- numbers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [("0", 0), ("5", 5), ("050", 50), ("123456789", 123456789)])
def test_whole_numbers_are_plain_ascii_digits(text: str, expected: int) -> None:
    assert numbers.parse_whole_number(text) == expected


@pytest.mark.parametrize("text", ["5_0", "٥", "５", "+5", "-5", " 5", "5.0", "5e1", "0x5", "", "9" * 5000], ids=lambda t: repr(t)[:12])
def test_anything_else_is_not_a_whole_number(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        numbers.parse_whole_number(text)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(("text", "expected"), [("20", 20.0), ("36.5", 36.5), ("0.25", 0.25), ("007.50", 7.5)])
def test_decimals_are_ascii_digits_with_an_optional_fraction(text: str, expected: float) -> None:
    assert numbers.parse_decimal(text) == expected


@pytest.mark.parametrize("text", ["2_0", "٢٠", "nan", "inf", "Infinity", "1e3", "20.", ".5", "-1", "+1", "1.2.3", ""], ids=repr)
def test_anything_else_is_not_a_decimal(text: str) -> None:
    with pytest.raises(ValueError):
        numbers.parse_decimal(text)
