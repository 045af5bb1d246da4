"""Stopping a run: a person's ``Stop`` (the durable external event) with who and why.

After a Stop no new cluster upgrade starts; upgrades already running are watched (and health
checked) to their end and reported; nothing is recorded; the run ends ``stopped`` with a reason
naming who stopped it. The HTTP starter checks the body with :func:`read_stop` before raising the
event, and the orchestrator reads the payload with the same function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.text import shown

#: The durable external event that stops a run.
EVENT = "Stop"
BODY_KEYS = ("by", "reason")
MAX_BY = 200
MAX_REASON = 1000


class BadStopError(ValueError):
    """A stop request that cannot be read; ``field`` names the part that is wrong."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class StopRequest:
    by: str
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "reason": self.reason}

    @property
    def describe(self) -> str:
        """The run's reason: "stopped by <by>: <reason>"."""
        return f"stopped by {self.by}: {self.reason}" if self.reason else f"stopped by {self.by}"


def read_stop(data: Any) -> StopRequest:
    """The stop request in an HTTP body or event payload; BadStopError names the wrong field."""
    if not isinstance(data, dict):
        raise BadStopError('the body must be a JSON object {"by", "reason"}', "body")
    for key in data:
        if key not in BODY_KEYS:
            raise BadStopError(f"unknown field {shown(key, 40)}; allowed: {list(BODY_KEYS)}", "body")
    by = data.get("by")
    if not isinstance(by, str) or not by.strip() or len(by) > MAX_BY or not by.isprintable():
        raise BadStopError(f"by must name who stops the run (1..{MAX_BY} printable characters), got {shown(by)}", "by")
    reason = data.get("reason", "")
    if reason is None:
        reason = ""
    if not isinstance(reason, str) or len(reason) > MAX_REASON or not reason.isprintable():
        raise BadStopError(f"reason must be printable text of at most {MAX_REASON} characters (no control characters)", "reason")
    return StopRequest(by.strip(), reason.strip())


def describe_payload(payload: Any) -> str:
    """The run's reason for whatever a Stop event carried: a stop is a stop, even unreadable."""
    try:
        return read_stop(payload).describe
    except BadStopError:
        return f"stopped (the Stop event named no readable 'by': {shown(payload, 80)})"
