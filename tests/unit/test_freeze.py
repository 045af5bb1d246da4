"""FREEZE_DATES: single dates and inclusive ranges on which no upgrade starts."""

from __future__ import annotations

from datetime import date

import pytest

from shared.domain import freeze
from shared.domain.freeze import FreezeWindow


def test_empty_or_blank_means_no_freeze() -> None:
    assert freeze.parse_freeze_dates("") == ()
    assert freeze.parse_freeze_dates(" , ,") == ()


def test_single_dates_and_ranges_are_read_in_order() -> None:
    windows = freeze.parse_freeze_dates("2026-12-24, 2026-12-28..2027-01-02 ,2026-05-17 .. 2026-05-17")
    assert windows == (
        FreezeWindow(date(2026, 12, 24), date(2026, 12, 24)),
        FreezeWindow(date(2026, 12, 28), date(2027, 1, 2)),
        FreezeWindow(date(2026, 5, 17), date(2026, 5, 17)),
    )
    assert [str(w) for w in windows] == ["2026-12-24", "2026-12-28..2027-01-02", "2026-05-17"]


@pytest.mark.parametrize(
    ("day", "frozen"),
    [
        (date(2026, 12, 27), False),
        (date(2026, 12, 28), True),  # first day of the range
        (date(2026, 12, 31), True),
        (date(2027, 1, 2), True),  # last day of the range
        (date(2027, 1, 3), False),
        (date(2026, 12, 24), True),  # the single date
        (date(2026, 12, 23), False),
        (date(2026, 12, 25), False),
    ],
)
def test_ranges_are_inclusive_at_both_ends(day: date, frozen: bool) -> None:
    windows = freeze.parse_freeze_dates("2026-12-24,2026-12-28..2027-01-02")
    assert (freeze.freeze_covering(day, windows) is not None) is frozen


def test_the_covering_window_is_the_one_reported() -> None:
    windows = freeze.parse_freeze_dates("2026-12-24,2026-12-28..2027-01-02")
    assert str(freeze.freeze_covering(date(2027, 1, 1), windows)) == "2026-12-28..2027-01-02"


@pytest.mark.parametrize(
    "item",
    [
        "2026-13-01",
        "2026-02-30",
        "24.12.2026",
        "20261224",
        "2026-W52-1",
        "2026-12-24..",
        "..2026-12-24",
        "2026-12-24...2026-12-28",
        "2026-12-24..2026-12-28..2026-12-30",
        "tomorrow",
        "2026-1-5",
    ],
)
def test_malformed_items_are_refused_by_name(item: str) -> None:
    with pytest.raises(ValueError) as caught:
        freeze.parse_freeze_dates(f"2026-12-24,{item}")
    assert repr(item) in str(caught.value)


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        freeze.parse_freeze_dates("2027-01-02..2026-12-28")


def test_every_malformed_item_is_named_at_once() -> None:
    with pytest.raises(ValueError) as caught:
        freeze.parse_freeze_dates("2026-12-24, xmas, 2026-12-31..2026-12-30, 2026-02-30")
    message = str(caught.value)
    for bad in ("'xmas'", "'2026-12-31..2026-12-30'", "'2026-02-30'"):
        assert bad in message
    assert "'2026-12-24'" not in message


@pytest.mark.parametrize("item", ["٢٠٢٦-١٢-٢٤", "２０２６-１２-２４", "2026-12-24..٢٠٢٧-٠١-٠٢"], ids=repr)
def test_dates_in_digits_of_other_scripts_are_not_freeze_dates(item: str) -> None:
    with pytest.raises(ValueError) as caught:
        freeze.parse_freeze_dates(item)
    assert repr(item) in str(caught.value)
