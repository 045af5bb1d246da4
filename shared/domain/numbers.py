"""Strict readers of numbers written by people (settings, command-line flags).

``int()`` and ``float()`` are loose: ``int("5_0")`` is 50, ``int("٥")`` (an Arabic-Indic five)
is 5, ``float("1e3")`` is 1000 and ``float("nan")`` is a number. A setting such as
MAX_PARALLEL_UPGRADES must mean what an operator reading it sees, so only plain ASCII digits
(and, for decimals, one ASCII point followed by digits) are numbers here.
"""

from __future__ import annotations

import re

from shared.domain.text import shown

_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# More digits than any setting needs; also keeps int() below Python's 4,300-digit limit.
_MAX_DIGITS = 30


def parse_whole_number(text: object) -> int:
    """ASCII digits only (no sign, ``_``, spaces or other scripts); ValueError otherwise."""
    if not isinstance(text, str) or len(text) > _MAX_DIGITS or not _WHOLE.fullmatch(text):
        raise ValueError(f"{shown(text)} is not a whole number written in ASCII digits 0-9")
    return int(text)


def parse_decimal(text: object) -> float:
    """ASCII digits with an optional ``.`` and more digits (no sign, exponent, inf or nan)."""
    if not isinstance(text, str) or len(text) > _MAX_DIGITS or not _DECIMAL.fullmatch(text):
        raise ValueError(f"{shown(text)} is not a number written in ASCII digits 0-9 with an optional .fraction")
    return float(text)
