"""The per-run notification text: environment, target, each cluster from → to and its result.

Slack reads ``<...>`` as links/mentions and ``&`` as the start of an entity in both ``text`` and
mrkdwn blocks, so those three characters are escaped (ARM error messages and cluster names may
contain them). A section block holds at most 3000 characters: a long run is cut at a line
boundary with a note of how many lines were left out; ``text`` keeps every line.
"""

from __future__ import annotations

from typing import Any

_ICONS = {"upgraded": "✅", "already-current": "➖", "skipped": "⏭️", "failed": "❌", "planned": "📝"}
SECTION_LIMIT = 2900  # Slack's section text limit is 3000


def escape(text: str) -> str:
    """Slack's required escaping for message text: &, < and > only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(result: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(text, Slack blocks) for a run result (the contract JSON), escaped for Slack."""
    if not isinstance(result, dict):
        result = {"status": "unreadable result", "reason": type(result).__name__}
    env = result.get("environment") or "no environment"
    head = f"AKS upgrade {env} {result.get('date')}: {result.get('status')}"
    if result.get("targetVersion"):
        head += f" (target {result['targetVersion']})"
    lines = [head]
    if result.get("reason"):
        lines.append(f"reason: {result['reason']}")
    for c in result.get("clusters") or []:
        name = str(c.get("id", "")).rsplit("/", 1)[-1]
        move = f"{c.get('from')} → {c.get('to')}" if c.get("to") else str(c.get("from"))
        line = f"{_ICONS.get(c.get('result', ''), '•')} {name}: {move} {c.get('result')}"
        if c.get("reason"):
            line += f" ({c['reason']})"
        lines.append(line)
    if result.get("recordedVersion"):
        lines.append(f"recorded {result['recordedVersion']} as validated for {env}")
    escaped = [escape(line) for line in lines]
    text = "\n".join(escaped)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": _fit(escaped)}}]
    return text, blocks


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
