"""Showing outside input back in an error message, safely.

Whatever an operator or an HTTP client sends may be huge (a 20 MB environment name) or full of
control characters. An error message quotes at most ``LIMIT`` characters of it, as a ``repr``
(control characters escaped, so the message stays one line), with an ellipsis when cut.

An exception's text is quoted by its first line only (:func:`first_line`): SDK errors append the
whole response body and headers on the lines after it, which is neither readable in a result
nor safe in an audit row.
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


def first_line(text: str, limit: int | None = None) -> str:
    """The first line of ``text`` once leading and trailing blank space is dropped, cut to ``limit``
    characters (no ellipsis) when given; "" for blank text."""
    lines = text.strip().splitlines()
    line = lines[0] if lines else ""
    return line if limit is None else line[:limit]
