"""The approval gate: a person's decision before an environment's first PUT.

An environment named in APPROVAL_ENVIRONMENTS plans, then waits (up to APPROVAL_TIMEOUT_HOURS)
for the durable external event ``Approval`` with ``{"decision": "approve"|"reject", "by",
"comment"}``. The HTTP starter checks the body with :func:`read_decision` before raising the
event, and the orchestrator reads the event's payload by the same rules (:func:`read_event`, which
also takes the request id), so a payload that reaches it any other way never approves by accident.

More than one decision can reach a run: the HTTP route accepts one (202) as long as the run shows
``awaiting-approval``, and the run shows that until the episode that takes the first decision has
ended. The run therefore reads every decision raised by then (:func:`settle`): a reject is final,
and one acknowledged just after an approval still stops the run. A reject that reaches a run only
after it went ahead (the route read ``awaiting-approval`` just before the run moved on) stops it
as a Stop does (:func:`late_refusal`).

Each raised event carries the id of the one request that raised it (``requestId``, set by the
route and by ``ops run``, never by the body): the durable SDK hands an event it buffered to every
later wait for that name, again and again, and only the id tells such a re-delivery (the same id)
from a second person's identical decision, or a double click (another id). An event raised by
hand without an id is judged by equality with the one read just before, as before ids existed.
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
#: The key of the request id in an event payload; not part of the HTTP body.
REQUEST_ID = "requestId"
EVENT_KEYS = (*BODY_KEYS, REQUEST_ID)
MAX_BY = 200
MAX_COMMENT = 1000
MAX_REQUEST_ID = 100


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
    """The decision in an HTTP body (or ``ops run``'s flags); BadDecisionError names the field
    that is wrong. A body cannot carry a request id: only whoever raises the event sets one."""
    return _read(data, BODY_KEYS)


def read_event(payload: Any) -> Decision:
    """The decision an Approval event carries: a body's fields, and perhaps its request id."""
    decision = _read(payload, EVENT_KEYS)
    request_id_of(payload)  # checked: an event whose id is not one is no decision either
    return decision


def event_payload(decision: Decision, request_id: str) -> dict[str, Any]:
    """What is raised as the Approval event for one request: the decision and that request's id."""
    return {**decision.to_dict(), REQUEST_ID: request_id}


def request_id_of(payload: Any) -> str | None:
    """The request id an event payload carries, None when it has none (raised by hand)."""
    if not isinstance(payload, dict) or payload.get(REQUEST_ID) is None:
        return None
    value = payload[REQUEST_ID]
    if not isinstance(value, str) or not value or len(value) > MAX_REQUEST_ID or not value.isprintable():
        raise BadDecisionError(f"requestId must be 1..{MAX_REQUEST_ID} printable characters, got {shown(value, 40)}", REQUEST_ID)
    return value


def _read(data: Any, allowed: tuple[str, ...]) -> Decision:
    if not isinstance(data, dict):
        raise BadDecisionError('the body must be a JSON object {"decision": "approve"|"reject", "by", "comment"}', "body")
    for key in data:
        if key not in allowed:
            raise BadDecisionError(f"unknown field {shown(key, 40)}; allowed: {list(allowed)}", "body")
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
            decision = read_event(payload)
        except BadDecisionError as exc:
            return Verdict(None, unreadable(payload, exc))
        if not decision.approved:
            return Verdict(decision, _rejected(decision))
        first_approval = first_approval or decision
    return Verdict(first_approval, None)


def read_more(payloads: Sequence[Any]) -> bool:
    """Should a run that has read ``payloads`` (in order) read one more decision already raised?

    Not once the verdict is final: a reject, or a payload that is no decision. Not after a
    re-delivery (:func:`is_repeat`): the durable SDK hands every further wait for an event the
    last one it buffered while no wait was open, again and again, so reading on would never end.
    """
    if settle(payloads).refusal is not None:
        return False
    return not (len(payloads) >= 2 and is_repeat(payloads[:-1], payloads[-1]))


def is_repeat(read: Sequence[Any], payload: Any) -> bool:
    """Is ``payload`` one already read (``read``, in order) handed over again?

    With a request id: an id already read (a double click, or a second person, raises another
    id). Without one (an event raised by hand): equal to the payload read just before.
    """
    request_id = _request_id_or_none(payload)
    if request_id is not None:
        return request_id in {_request_id_or_none(p) for p in read}
    return bool(read) and payload == read[-1]


def _request_id_or_none(payload: Any) -> str | None:
    try:
        return request_id_of(payload)
    except BadDecisionError:
        return None


def late_refusal(payload: Any) -> str | None:
    """Why a run that already went ahead on an approval stops for this further Approval event
    (None: it goes on). A reject stops it as a Stop does; so does a payload that is no decision,
    since it may have been meant as one. A further approval changes nothing."""
    try:
        decision = read_event(payload)
    except BadDecisionError as exc:
        return f"approval not given after the run began: the Approval event's {exc.field} is unreadable ({exc}); {shown(payload, 80)}"
    if decision.approved:
        return None
    rejected = f"approval rejected by {decision.by} after the run began"
    return f"{rejected}: {decision.comment}" if decision.comment else rejected


def unreadable(payload: Any, error: BadDecisionError) -> str:
    """The run's reason when the Approval event carried something that is not a decision."""
    return f"approval not given: the Approval event's {error.field} is unreadable ({error}); {shown(payload, 80)}"
