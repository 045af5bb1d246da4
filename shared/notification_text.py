"""The per-run notification text: environment, target, each cluster from → to and its result.

Slack reads ``<...>`` as links/mentions and ``&`` as the start of an entity in both ``text`` and
mrkdwn blocks, so those three characters are escaped (ARM error messages and cluster names may
contain them). A section block holds at most 3000 characters: a long run is cut at a line
boundary with a note of how many lines were left out; ``text`` keeps every line.
"""

from __future__ import annotations

from typing import Any

from shared.activity_messages import ApprovalNotice
from shared.domain.results import RunResult

_ICONS = {"upgraded": "✅", "already-current": "➖", "skipped": "⏭️", "failed": "❌", "planned": "📝", "stopped": "⏹️"}
SECTION_LIMIT = 2900  # Slack's section text limit is 3000


def escape(text: str) -> str:
    """Slack's required escaping for message text: &, < and > only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(result: RunResult | None, *, unreadable: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(text, Slack blocks) for a run's result, escaped for Slack. ``result`` None: the activity
    got a payload it could not read (``unreadable`` names its type); that is announced too."""
    lines = [f"AKS upgrade: unreadable result ({unreadable or 'unknown'})"] if result is None else _lines(result)
    escaped = [escape(line) for line in lines]
    text = "\n".join(escaped)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": _fit(escaped)}}]
    return text, blocks


def render_approval_request(notice: ApprovalNotice, url: str) -> tuple[str, list[dict[str, Any]]]:
    """(text, blocks) asking for a decision on ``notice.plan``, escaped for Slack."""
    plan = notice.plan
    lines = [
        f"AKS upgrade {plan.environment} {notice.date}: awaiting approval (target {plan.target_version})",
        # Before the cluster lines: a long plan is cut from the bottom, and this line must survive.
        f'approve or reject: POST {url} with {{"decision": "approve"|"reject", "by": "<you>", "comment": "..."}}',
        f"{len(plan.to_upgrade)} cluster(s) would be upgraded; nothing starts without a decision within {notice.timeout_hours} h.",
    ]
    for c in plan.to_upgrade:
        lines.append(f"• {c.name}: {c.from_version} → {c.to_version}")
    escaped = [escape(line) for line in lines]
    return "\n".join(escaped), [{"type": "section", "text": {"type": "mrkdwn", "text": _fit(escaped)}}]


def _lines(result: RunResult) -> list[str]:
    env = result.environment or "no environment"
    head = f"AKS upgrade {env} {result.date}: {result.status}"
    if result.target_version:
        head += f" (target {result.target_version})"
    lines = [head]
    if result.reason:
        lines.append(f"reason: {result.reason}")
    for c in result.clusters:
        name = c.id.rsplit("/", 1)[-1]
        move = f"{c.from_version} → {c.to_version}" if c.to_version else str(c.from_version)
        line = f"{_ICONS.get(c.result, '•')} {name}: {move} {c.result}"
        if c.reason:
            line += f" ({c.reason})"
        lines.append(line)
    if result.recorded_version:
        lines.append(f"recorded {result.recorded_version} as validated for {env}")
    return lines


def _fit(lines: list[str]) -> str:
    """All lines if they fit in one section, else as many whole lines as fit and '… N more lines'."""
    text = "\n".join(lines)
    if len(text) <= SECTION_LIMIT:
        return text
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        note = f"… {len(lines) - index} more lines (the run's status has them all)"
        if size + len(line) + 1 + len(note) > SECTION_LIMIT:
            break
        kept.append(line)
        size += len(line) + 1
    if not kept:
        return text[: SECTION_LIMIT - 1] + "…"
    return "\n".join([*kept, note])
