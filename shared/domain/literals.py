"""Reading an enumerated value (a ``Literal`` type) from JSON at the durable boundary."""

from __future__ import annotations

from typing import Any, get_args

from shared.domain.text import shown


def one_of(value: Any, kind: Any, name: str) -> Any:
    """``value`` when it is one of the ``Literal`` type ``kind``'s values, else ValueError naming
    ``name``: a message that says ``"state": "upgradng"`` is refused where it enters, not obeyed
    somewhere later as "none of the above"."""
    allowed = get_args(kind)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {shown(value)}")
    return value
