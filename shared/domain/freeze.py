"""FREEZE_DATES: dates (and inclusive ranges) on which no upgrade starts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# Exactly YYYY-MM-DD: date.fromisoformat (3.11) also takes "20261224" and ISO week dates "2026-W52-1".
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


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
        if not _ISO_DATE.match(first_text) or (sep and not _ISO_DATE.match(last_text)):
            problems.append(f"{item!r} is not YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD")
            continue
        try:
            first = date.fromisoformat(first_text)
            last = date.fromisoformat(last_text) if sep else first
        except ValueError:
            problems.append(f"{item!r} is not a real date (YYYY-MM-DD)")
            continue
        if last < first:
            problems.append(f"{item!r} ends before it starts")
            continue
        windows.append(FreezeWindow(first, last))
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(windows)


def freeze_covering(day: date, windows: tuple[FreezeWindow, ...]) -> FreezeWindow | None:
    """The freeze window that contains ``day``, if any."""
    return next((w for w in windows if day in w), None)
