"""The one strict reader of calendar dates and UTC timestamps that come from outside.

``date.fromisoformat`` (Python 3.11) is loose: it also takes ``20261201``, the ISO week date
``2026-W49-2`` and digits of other scripts, so the same text could mean a date on the command
line and be refused over HTTP. Every date from an operator, an HTTP client or a setting goes
through :func:`parse_date` instead: exactly ``YYYY-MM-DD`` in ASCII digits, naming a real date.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from shared.domain.text import shown

_YYYY_MM_DD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# ISO 8601 as this app, Table Storage and the Functions host write it: seconds always present,
# a fraction of up to 9 digits (.NET's "o" format has 7), then Z or an offset (or nothing).
_INSTANT = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,9}))?"
    r"(?P<zone>[Zz]|(?P<sign>[+-])(?P<zone_hours>[0-9]{2}):(?P<zone_minutes>[0-9]{2}))?"
)


def parse_date(text: object) -> date:
    """Exactly ``YYYY-MM-DD`` (ASCII digits) naming a real date; ValueError says what is wrong."""
    if not isinstance(text, str) or not _YYYY_MM_DD.fullmatch(text):
        raise ValueError(f"{shown(text)} is not a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{shown(text)} is not a real date (YYYY-MM-DD)") from None


def parse_utc_instant(text: object, *, naive_means_utc: bool = False) -> datetime:
    """An ISO 8601 timestamp (``YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]``) as an aware UTC datetime.

    Without an offset the zone is unknown: refused unless ``naive_means_utc`` (the Functions host
    reports the timer's occurrences in UTC without an offset; an orchestrator clock is UTC).
    ValueError says what is wrong.
    """
    match = _INSTANT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{shown(text)} is not a timestamp as YYYY-MM-DDTHH:MM:SS with Z or an offset")
    if match["zone"] is None and not naive_means_utc:
        raise ValueError(f"{shown(text)} has no time zone offset (Z or +HH:MM)")
    try:
        day = date.fromisoformat(match["date"])
        micro = int((match["fraction"] or "0")[:6].ljust(6, "0"))
        offset = timedelta(hours=int(match["zone_hours"] or 0), minutes=int(match["zone_minutes"] or 0))
        zone = timezone(-offset if match["sign"] == "-" else offset)
        moment = datetime(day.year, day.month, day.day, int(match["hour"]), int(match["minute"]), int(match["second"]), micro, zone)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # hour 24, offset 24:00, or year 1 moved before year 1
        raise ValueError(f"{shown(text)} is not a real date and time") from None
