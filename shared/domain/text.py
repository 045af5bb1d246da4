"""Showing outside input back in an error message, safely.

Whatever an operator or an HTTP client sends may be huge (a 20 MB environment name) or full of
control characters. An error message quotes at most ``LIMIT`` characters of it, as a ``repr``
(control characters escaped, so the message stays one line), with an ellipsis when cut.
"""

from __future__ import annotations

LIMIT = 200
ELLIPSIS = "…"


def clip(text: str, limit: int = LIMIT) -> str:
    """``text`` itself when short enough, else its first ``limit`` characters and an ellipsis."""
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def shown(value: object, limit: int = LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters: how an error message quotes outside input."""
    if isinstance(value, str) and len(value) > limit:
        value = value[: limit + 1]  # never build the repr of megabytes only to cut it
    return clip(repr(value), limit)
