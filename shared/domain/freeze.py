"""FREEZE_DATES: dates (and inclusive ranges) on which no upgrade starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.domain.dates import parse_date
from shared.domain.text import shown


@dataclass(frozen=True)
class FreezeWindow:
    first: date
    last: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}..{self.last}"


def parse_freeze_dates(text: str) -> tuple[FreezeWindow, ...]:
    """ "2026-12-24, 2026-12-28..2027-01-02" → windows; ValueError lists each bad item."""
    windows: list[FreezeWindow] = []
    problems: list[str] = []
    for item in (part.strip() for part in (text or "").split(",")):
        if not item:
            continue
        first_text, sep, last_text = (part.strip() for part in item.partition(".."))
        try:
            first = parse_date(first_text)
            last = parse_date(last_text) if sep else first
        except ValueError:
            problems.append(f"{shown(item)} is not YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD of real dates")
            continue
        if last < first:
            problems.append(f"{shown(item)} ends before it starts")
            continue
        windows.append(FreezeWindow(first, last))
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(windows)


def freeze_covering(day: date, windows: tuple[FreezeWindow, ...]) -> FreezeWindow | None:
    """The freeze window that contains ``day``, if any."""
    return next((w for w in windows if day in w), None)
