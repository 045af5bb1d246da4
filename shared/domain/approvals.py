"""The approval gate: a person's decision before an environment's first PUT.

An environment named in APPROVAL_ENVIRONMENTS plans, then waits (up to APPROVAL_TIMEOUT_HOURS)
for the durable external event ``Approval`` with ``{"decision": "approve"|"reject", "by",
"comment"}``. The HTTP starter checks the body with :func:`read_decision` before raising the
event, and the orchestrator reads the event's payload with the same function, so a payload that
reaches it any other way is judged by the same rules (and never approves by accident).

More than one decision can reach a run: the HTTP route accepts one (202) as long as the run shows
``awaiting-approval``, and the run shows that until the episode that takes the first decision has
ended. The run therefore reads every decision raised by then (:func:`settle`): a reject is final,
and one acknowledged just after an approval still stops the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from shared.domain.text import shown

#: The durable external event that carries the decision.
EVENT = "Approval"
DecisionKind = Literal["approve", "reject"]
BODY_KEYS = ("decision", "by", "comment")
MAX_BY = 200
MAX_COMMENT = 1000


class BadDecisionError(ValueError):
    """A decision that cannot be read; ``field`` names the part that is wrong."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Decision:
    """A person's answer: who, what, and why."""

    decision: DecisionKind
    by: str
    comment: str = ""

    @property
    def approved(self) -> bool:
        return self.decision == "approve"

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "by": self.by, "comment": self.comment}


def read_decision(data: Any) -> Decision:
    """The decision in an HTTP body or event payload; BadDecisionError names the field that is wrong."""
    if not isinstance(data, dict):
        raise BadDecisionError('the body must be a JSON object {"decision": "approve"|"reject", "by", "comment"}', "body")
    for key in data:
        if key not in BODY_KEYS:
            raise BadDecisionError(f"unknown field {shown(key, 40)}; allowed: {list(BODY_KEYS)}", "body")
    decision = data.get("decision")
    if decision not in ("approve", "reject"):
        raise BadDecisionError(f'decision must be "approve" or "reject", got {shown(decision)}', "decision")
    by = data.get("by")
    if not isinstance(by, str) or not by.strip() or len(by) > MAX_BY or not by.isprintable():
        raise BadDecisionError(f"by must name who decides (1..{MAX_BY} printable characters), got {shown(by)}", "by")
    comment = data.get("comment", "")
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT or not comment.isprintable():
        raise BadDecisionError(f"comment must be printable text of at most {MAX_COMMENT} characters (no control characters)", "comment")
    return Decision(decision, by.strip(), comment.strip())


def refusal(decision: Decision | None, timeout_hours: int) -> str | None:
    """Why the run may not go on (the run's reason, starting with "approval"), or None when approved.

    ``decision`` None means the wait timed out.
    """
    if decision is None:
        return f"approval timed out after {timeout_hours} h"
    if decision.approved:
        return None
    return _rejected(decision)


def _rejected(decision: Decision) -> str:
    return f"approval rejected by {decision.by}: {decision.comment}" if decision.comment else f"approval rejected by {decision.by}"


@dataclass(frozen=True)
class Verdict:
    """What a run does with the decisions it received: ``refusal`` None means it goes ahead.
    ``decision`` is the one it acts on, kept in the audit history (None when none was readable)."""

    decision: Decision | None
    refusal: str | None


def settle(payloads: Sequence[Any]) -> Verdict:
    """The verdict on every Approval payload a run read before it moved on, in the order they came.

    A reject is final: the first one stands, whatever came before or after it. An approval before
    it is overturned (a run goes ahead only when nobody who was still asked said no) and one after
    it changes nothing. A payload that is no decision is final the same way: the run never
    approves by accident. With approvals only, the first one stands.
    """
    if not payloads:
        raise ValueError("settle needs the decision that ended the wait")
    first_approval: Decision | None = None
    for payload in payloads:
        try:
            decision = read_decision(payload)
        except BadDecisionError as exc:
            return Verdict(None, unreadable(payload, exc))
        if not decision.approved:
            return Verdict(decision, _rejected(decision))
        first_approval = first_approval or decision
    return Verdict(first_approval, None)


def read_more(payloads: Sequence[Any]) -> bool:
    """Should a run that has read ``payloads`` (in order) read one more decision already raised?

    Not once the verdict is final: a reject, or a payload that is no decision. Not after an exact
    repeat of the decision read just before: the durable SDK hands every further wait for an event
    the last one it buffered before the run began to wait, again and again, so a repeat says
    nothing new, and reading on would never end.
    """
    if settle(payloads).refusal is not None:
        return False
    return len(payloads) < 2 or payloads[-1] != payloads[-2]


def unreadable(payload: Any, error: BadDecisionError) -> str:
    """The run's reason when the Approval event carried something that is not a decision."""
    return f"approval not given: the Approval event's {error.field} is unreadable ({error}); {shown(payload, 80)}"
