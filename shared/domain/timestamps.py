"""UTC instants as ARM and the stores spell them: ISO 8601 with ``Z`` or an offset.

A time without a zone is refused rather than guessed: every comparison the conductor makes with
one (soak clocks, override ends) would silently move by the guessed offset.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_utc(text: str) -> datetime:
    """``2026-12-01T09:00:00Z`` / ``...+01:00`` → an aware UTC datetime; ValueError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"not a date-time: {text!r}")
    raw = text.strip()
    if raw[-1:] in ("z", "Z"):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"date-time without a UTC offset: {text!r}")
    return parsed.astimezone(UTC)
